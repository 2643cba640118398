"""Appendix "Multiplicative Nonlinearity": claims M1-M6 and their errata.

The product networks are built by :mod:`.product_net` and analysed by
:mod:`.multiplicative` (monomials by multidegree, support propagation, Jacobian
dimensions of parts); here each decision compares them with the text. The
feature and parameter counts of the same section are in :mod:`.counting_claims`.
"""

from __future__ import annotations

import functools

from . import multiplicative
from ._records import CORRECTED, FALSE, HOLDS, Claim, Correction, Decision, Typo, fmt_tuples
from .multiplicative import ProductNet

__all__ = ["CLAIMS", "NET"]

#: The product network of the claims: 2 modalities of dimension 2, widths 3 and 3.
NET = {"n": 2, "D": 2, "width1": 3, "width2": 3}
#: The smallest late network for the symbolic proof of M2 (every weight a symbol).
TINY = {"n": 2, "D": 2, "width1": 2, "width2": 1}
#: Back-projection widths checked for the width limit (M5, M6).
WIDTHS = (1, 2, 3)
#: The terms the paper lists for late fusion (M1), as printed.
PRINTED_LATE_TERMS = ("X_i^1 X_j^1 X_k^2 X_m^2", "X_i^2 X_j^2 X_k^1 X_m^1")
#: The design the paper says concatenates first (M3), as printed.
PRINTED_CONCAT_FIRST = "late"
#: The highest degree searched for the first asymmetric terms without biases (M4).
_FIRST_ODD_UP_TO = 5
_MN = "Appendix, Multiplicative Nonlinearity"
_NET_NOTE = f"n={NET['n']}, D={NET['D']}, widths {NET['width1']}/{NET['width2']}"
_PRO_NOTE = _NET_NOTE + ", pro R=2 'add'"


# ------------------------------------------------------------------ computations
@functools.cache
def _dims(design: str, bias: bool, p: int | None = None, context: str = "add") -> dict[str, int]:
    """Jacobian dimensions of the degree-4 and asymmetric parts of one network."""
    net = ProductNet(design, bias=bias, p=p, context=context, **NET)
    return multiplicative.jacobian_dimensions(
        net, {"degree4": "degree4", "asymmetric": "asymmetric"}
    )


@functools.cache
def _support(design: str, bias: bool, **sizes: int) -> frozenset:
    """Multidegrees up to total degree 4 that support propagation allows."""
    net = ProductNet(design, bias=bias, **(NET | sizes))
    return frozenset(multiplicative.support_by_multidegree(net, max_degree=4))


def _odd(k: tuple[int, ...]) -> bool:
    """Asymmetric: an odd degree in some modality."""
    return any(x % 2 for x in k)


def _bidegrees(total: int) -> list[tuple[int, int]]:
    """Every bidegree of the given total degree, ``(total, 0)`` first."""
    return [(total - a, a) for a in range(total + 1)]


def _size(part: str) -> int:
    return multiplicative.part_size(ProductNet("early", **NET), part)


def _printed_bidegree(term: str) -> tuple[int, int]:
    """``X_i^1 X_j^1 X_k^2 X_m^2`` -> (2, 2): the factors of each modality."""
    factors = term.split()
    return tuple(sum(f.endswith(f"^{i}") for f in factors) for i in (1, 2))


def _pattern(bidegree: tuple[int, ...]) -> str:
    """(3, 1) -> ``X_i^1 X_j^1 X_k^1 X_m^2``, in the paper's notation."""
    letters = iter("ijkmpq")
    return " ".join(
        f"X_{next(letters)}^{mod + 1}" for mod, deg in enumerate(bidegree) for _ in range(deg)
    )


@functools.cache
def _late_quartic(bias: bool) -> tuple[dict, dict]:
    """Late fusion's quartic monomial counts by bidegree: at random integer weights
    (each realised) and by support propagation (each possible)."""
    net = ProductNet("late", bias=bias, **NET)
    generic = multiplicative.monomials_by_multidegree(net)
    support = multiplicative.support_by_multidegree(net)
    return (
        {k: len(v) for k, v in generic.items() if sum(k) == 4},
        {k: len(v) for k, v in support.items() if sum(k) == 4},
    )


# ------------------------------------------------------------------ decisions
def _late_terms_correction(printed: set, found: list, same: bool) -> Correction:
    both = f" (both of bidegree {fmt_tuples(printed)})" if len(printed) == 1 else ""
    return Correction(
        "{" + ", ".join(PRINTED_LATE_TERMS) + "}" + both,
        "{"
        + ", ".join(_pattern(k) for k in found)
        + "}: bidegrees "
        + fmt_tuples(found)
        + (" (the same with biases)" if same else ""),
        printed,
        set(found),
        "late fusion's terms",
    )


def _decide_late_symmetric() -> Decision:
    results = {bias: _late_quartic(bias) for bias in (False, True)}
    decided = all(g == s for g, s in results.values())
    generic = results[False][0]
    found = {k for g, _ in results.values() for k in g}
    printed = {_printed_bidegree(t) for t in PRINTED_LATE_TERMS}
    agree = "generic weights and support propagation agree" if decided else "UNDECIDED"
    counts = ",".join(f"{fmt_tuples([k])}:{v}" for k, v in generic.items())
    base = (
        f"late fusion's degree-4 monomials by bidegree, n={NET['n']}, D={NET['D']} ({agree}): "
        f"{counts}; Jacobian dim {_dims('late', False)['degree4']} of {_size('degree4')}"
    )
    if found == printed:
        return Decision(HOLDS, base)
    if not (printed <= found) or any(_odd(k) for k in found):
        return Decision(FALSE, base)
    same = set(results[True][0]) == set(generic)
    unimodal = [k for k in generic if 0 in k]
    absent = [k for k in _bidegrees(4) if k not in found]
    evidence = (
        f"{base}; besides the symmetric {fmt_tuples(sorted(printed, reverse=True))} terms the "
        f"unimodal {fmt_tuples(unimodal, ' and ')} terms appear"
        f"{' (with or without biases)' if same else ''}; no {fmt_tuples(absent, ' or ')}"
    )
    return Decision(CORRECTED, evidence, (_late_terms_correction(printed, list(generic), same),))


def _decide_late_no_asymmetric() -> Decision:
    asym = [k for k in _bidegrees(4) if _odd(k)]
    proof = all(
        multiplicative.symbolic_absent(ProductNet("late", bias=b, **TINY), asym)
        for b in (False, True)
    )
    odd = {
        (b, w): sorted(k for k in _support("late", b, width1=w, width2=w) if _odd(k))
        for b in (False, True)
        for w in WIDTHS
    }
    if not proof or any(sum(k) == 4 for ks in odd.values() for k in ks):
        return Decision(FALSE, f"asymmetric terms found: {odd}")
    if any(odd[False, w] for w in WIDTHS):
        return Decision(FALSE, f"odd bidegrees without biases: {odd}")
    cross = sorted({k for w in WIDTHS for k in odd[True, w] if all(x > 0 for x in k)})
    return Decision(
        HOLDS,
        f"coefficients of every {fmt_tuples(asym, '/')} monomial expand to 0 with symbolic "
        f"weights (widths {TINY['width1']}, {TINY['width2']}) and are absent from the "
        f"propagated support at widths {WIDTHS[0]} to {WIDTHS[-1]}; the bias-free net has no "
        "odd bidegree at all"
        + (
            f" (with biases, lower-degree cross terms {fmt_tuples(cross, ',')} appear)"
            if cross
            else ""
        ),
    )


def _decide_concat_first() -> Decision:
    early, late = _dims("early", False)["degree4"], _dims("late", False)["degree4"]
    total = _size("degree4")
    if early == total and late == total:
        return Decision(HOLDS, f"both designs reach every quartic ({total})")
    if early < total:
        return Decision(FALSE, f"the concatenate-first design reaches {early} of {total}")
    full = [name for name, dim in (("early", early), ("late", late)) if dim == total]
    correction = Correction(
        f'"However in the {PRINTED_CONCAT_FIRST} fusion design the unimodal features are '
        'concatenated first, and then passed through the non-linearity"',
        f'"in the {full[0]} fusion design": the concatenate-first design reaches all {total} '
        f"quartic monomials (degree-4 Jacobian dim {early} of {total}); the per-modality "
        f"(late) design {late}",
        PRINTED_CONCAT_FIRST,
        full[0],
    )
    return Decision(
        CORRECTED,
        "true of the concatenate-first design, which is early fusion (the sentence says "
        f"{PRINTED_CONCAT_FIRST}): {_NET_NOTE}, its degree-4 part has dim {early} of {total}; "
        f"the per-modality (late) design reaches {late}",
        (correction,),
    )


def _decide_pro_asymmetric() -> Decision:
    with_bias, without = _dims("pro", True)["asymmetric"], _dims("pro", False)["asymmetric"]
    asym = fmt_tuples([k for k in _bidegrees(4) if _odd(k)], "+")
    base = (
        f"{_PRO_NOTE}: asymmetric {asym} part of pro fusion: dim {with_bias} of "
        f"{_size('asymmetric')} with biases, {without} without"
    )
    if with_bias > 0 and without > 0:
        return Decision(HOLDS, base)
    if with_bias == 0:
        return Decision(FALSE, base)
    as_late = {k for k in _support("pro", False) if sum(k) == 4} == {
        k for k in _support("late", False) if sum(k) == 4
    } and (_dims("pro", False)["degree4"] == _dims("late", False)["degree4"])
    net = ProductNet("pro", **NET)
    support = multiplicative.support_by_multidegree(net, max_degree=_FIRST_ODD_UP_TO)
    first = min((sum(k) for k in support if _odd(k)), default=None)
    where = (
        f"first appear at degree {first}" if first else f"do not appear up to {_FIRST_ODD_UP_TO}"
    )
    return Decision(
        CORRECTED,
        base
        + "; needs biases"
        + (": in the bias-free product network pro's degree-4 part is late's," if as_late else ";")
        + f" and asymmetric terms {where}",
    )


def _decide_width_limit() -> Decision:
    bias_dims = [_dims("pro", True, p)["asymmetric"] for p in WIDTHS]
    nobias_dims = [_dims("pro", False, p)["asymmetric"] for p in WIDTHS]
    concat_same = [_dims("pro", True, p, "concat")["asymmetric"] for p in WIDTHS] == bias_dims
    early = _dims("early", True)["asymmetric"]
    grows = any(b > a for a, b in zip(bias_dims, bias_dims[1:], strict=False))
    limited = bias_dims[WIDTHS.index(2)] < early  # "if the backprojecting layer has size 2"
    base = (
        f"{_PRO_NOTE}: asymmetric degree-4 dim for p = {', '.join(map(str, WIDTHS))}: "
        f"{bias_dims} with biases (early: {early}{'; same for concat' if concat_same else ''}), "
        f"{nobias_dims} without"
    )
    if grows and limited:
        return Decision(HOLDS, base)
    if grows or limited:
        return Decision(CORRECTED, base)
    part = _bidegrees(5)[1]  # (4,1): the first asymmetric bidegree of degree 5
    deg5 = [
        multiplicative.jacobian_dimensions(
            ProductNet("pro", p=p, **NET), {"part": [part]}, max_degree=5
        )["part"]
        for p in WIDTHS[:2]
    ]
    at = ", ".join(f"{dim} at p={p}" for p, dim in zip(WIDTHS, deg5, strict=False))
    degree5 = (
        f"; one appears at degree 5 without biases: {fmt_tuples([part])} part dim {at}"
        if deg5[1] > deg5[0]
        else ""
    )
    return Decision(FALSE, base + "; no width limit at degree 4" + degree5)


def _decide_between() -> Decision:
    rows = {
        b: (_dims("late", b)["degree4"], _dims("pro", b)["degree4"], _dims("early", b)["degree4"])
        for b in (False, True)
    }
    between = {b: late < pro < early for b, (late, pro, early) in rows.items()}
    text = "; ".join(
        f"{'with' if b else 'without'} biases late/pro/early = {'/'.join(map(str, v))}"
        for b, v in rows.items()
    )
    if all(between.values()):
        return Decision(HOLDS, "degree-4 dims " + text)
    if any(between.values()):
        return Decision(CORRECTED, "degree-4 dims " + text)
    every_p = all(
        _dims("pro", False, p)["degree4"] == rows[False][0]
        and _dims("pro", True, p)["degree4"] == rows[True][2]
        for p in (None, *WIDTHS)
    )
    pattern = " (pro equals late without biases, early with them, at every p)" if every_p else ""
    return Decision(FALSE, f"{_PRO_NOTE}: degree-4 dims never strictly between: {text}{pattern}")


# ------------------------------------------------------------------ the claims
CLAIMS: list[Claim] = [
    Claim(
        "M1",
        "[late fusion:] we have a linear combination of degree 4 terms that are symmetric in "
        "modalities i.e. {X_i^1 X_j^1 X_k^2 X_m^2, X_i^2 X_j^2 X_k^1 X_m^1}",
        f"{_MN}, Analysis",
        "multiplicative.monomials_by_multidegree / support_by_multidegree ('late')",
        _decide_late_symmetric,
        typos=(
            Typo(
                f"{_MN}, Analysis (second late-fusion sum)",
                "sum w_ik^{1,1} w_il^{1,1} w_im^{2,1} w_in^{2,1} X_k^1 X_l^1 X_m^1 X_n^1",
                "sum w_ik^{1,1} w_il^{1,1} w_im^{2,1} w_in^{2,1} X_k^1 X_l^1 X_m^2 X_n^2 "
                "(w^{2,1} acts on modality 2)",
            ),
        ),
    ),
    Claim(
        "M2",
        "no choice of linear operators between the layers can produce non-symmetric cross "
        "modal terms in the late fusion",
        f"{_MN}, Analysis",
        "multiplicative.symbolic_absent; support_by_multidegree ('late')",
        _decide_late_no_asymmetric,
    ),
    Claim(
        "M3",
        "in the late fusion design the unimodal features are concatenated first, and then "
        "passed through the non-linearity [...] we get linear combination of all degree 4 terms",
        f"{_MN}, Analysis",
        "multiplicative.jacobian_dimension(net, 'degree4'), early vs late",
        _decide_concat_first,
    ),
    Claim(
        "M4",
        "The back-projections provides access to some cross-modal features [...] This allows "
        "pro-fusion access to any given single asymmetric degree 4 term",
        f"{_MN}, last paragraph",
        "multiplicative.jacobian_dimension(pro, 'asymmetric'), with and without biases",
        _decide_pro_asymmetric,
    ),
    Claim(
        "M5",
        "due to the limited dimensionality of the backprojected activations, not all "
        "combination of such degree 4 terms are accessible [...] size 2 [gives] only two "
        "pairs of independent asymmetric cross modal feature terms",
        f"{_MN}, last paragraph",
        "multiplicative.jacobian_dimension(pro(p), 'asymmetric'), p = 1, 2, 3",
        _decide_width_limit,
    ),
    Claim(
        "M6",
        "Hence pro-fusion is more expressive [than late fusion] but not as rich as early fusion",
        f"{_MN}, last sentence",
        "multiplicative.jacobian_dimension(net, 'degree4') for late, pro, early",
        _decide_between,
        typos=(
            Typo(
                f"{_MN}, last sentence",
                '"Hence pro-fusion is more expressive pro-fusion but not as rich as early fusion"',
                '"Hence pro-fusion is more expressive than late fusion but not as rich as early '
                'fusion" (whether that holds is claim M6 of the theory table)',
            ),
        ),
    ),
]
