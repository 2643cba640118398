"""Appendix "Multiplicative Nonlinearity", the counting formulas: claims C1-C4, the
printed counts, the correct ones and their errata.

:func:`.multiplicative.monomial_counts` enumerates the first-layer features and
second-layer pairs of each design for ``n`` modalities of dimension ``D``. The
correct formulas are not typed in: they are the polynomials in ``n, D`` through
the enumerated values on :data:`FIT_GRID` (pairs: a quadratic in the feature
count), checked on :data:`CHECK_GRID`, and named by the first binomial
expression in :data:`_CANDIDATES` that equals them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Literal

import sympy as sp

from . import multiplicative
from ._records import FALSE, HOLDS, Claim, Correction, Decision, fmt
from .multiplicative import MonomialCounts

__all__ = ["CHECK_GRID", "CLAIMS", "COUNT_GRID", "FIT_GRID", "count_table", "printed_counts"]

#: (n, D) sizes where the printed counts are compared with the enumeration (C3, C4)
#: and the rows of the counts table.
COUNT_GRID = [(n, D) for n in (2, 3, 4) for D in (1, 2, 3)]
#: Sizes whose enumerated counts fix the count polynomials (a tensor grid, so the 9
#: coefficients of n^a D^b, a, b <= 2, are determined) ...
FIT_GRID = [(n, D) for n in (1, 2, 3) for D in (1, 2, 3)]
#: ... and the sizes on which the fitted polynomials are then checked.
CHECK_GRID = [(4, 1), (4, 2), (4, 3), (1, 4), (2, 4)]
#: C1: "for a vector input [x1, x2, x3, x4] [...] the 10 pairwise outputs".
PRINTED_PAIRWISE = {"inputs": 4, "outputs": 10}
#: C2: the sizes over which the growth in n is measured.
GROWTH = {"D": 2, "n": range(1, 7)}
_MN = "Appendix, Multiplicative Nonlinearity"
n_sym, D_sym = sp.symbols("n D", positive=True, integer=True)
Kind = Literal["features", "pairs"]


# ------------------------------------------------------------------ printed counts
def printed_formulas() -> dict[str, sp.Expr]:
    """The paper's counts read literally: early ``nC2`` features and ``nC2 C2``
    parameters, late ``n^D C2`` and ``n^D C2 C2`` (``aCb`` = binomial)."""
    n, D, C = n_sym, D_sym, sp.binomial
    return {
        "early_features": C(n, 2),
        "late_features": C(n**D, 2),
        "early_pairs": C(C(n, 2), 2),
        "late_pairs": C(C(n**D, 2), 2),
    }


def printed_counts(n: int, D: int) -> dict[str, int]:
    """:func:`printed_formulas` at ``n, D``."""
    at = {n_sym: n, D_sym: D}
    return {k: int(sp.expand_func(f.subs(at))) for k, f in printed_formulas().items()}


# ------------------------------------------------------------------ enumeration
_counts = functools.cache(multiplicative.monomial_counts)  # shared by C1-C4


def _enumerated() -> dict[tuple[int, int], MonomialCounts]:
    sizes = dict.fromkeys(COUNT_GRID + FIT_GRID + CHECK_GRID)
    return {nd: _counts(*nd) for nd in sizes}


def count_table() -> list[tuple[MonomialCounts, dict[str, int]]]:
    """The enumerated and printed counts on :data:`COUNT_GRID` (the counts table)."""
    counts = _enumerated()
    return [(counts[nd], printed_counts(*nd)) for nd in COUNT_GRID]


# ------------------------------------------------------------------ exact fits
def _fit_nD(values: dict[tuple[int, int], int]) -> sp.Expr:
    """The polynomial sum c_ab n^a D^b (a, b <= 2) through the FIT_GRID values,
    checked on CHECK_GRID; raises if the enumeration is not such a polynomial."""
    basis = [n_sym**a * D_sym**b for a in range(3) for b in range(3)]
    rows = [[m.subs({n_sym: n, D_sym: D}) for m in basis] for n, D in FIT_GRID]
    coeffs = sp.Matrix(rows).LUsolve(sp.Matrix([values[nd] for nd in FIT_GRID]))
    poly = sp.factor(sum(c * m for c, m in zip(coeffs, basis, strict=True)))
    for n, D in CHECK_GRID:
        if poly.subs({n_sym: n, D_sym: D}) != values[n, D]:
            raise ArithmeticError(f"count polynomial {poly} fails at n={n}, D={D}")
    return poly


def _fit_quadratic(pairs: dict[int, int]) -> Callable[[sp.Expr], sp.Expr]:
    """The quadratic q with q(f) = pairs[f] (fitted on 3 values, checked on the rest)."""
    f = sp.Symbol("f")
    xs = sorted(pairs)
    q = sp.interpolate([(x, pairs[x]) for x in xs[:3]], f)
    if any(q.subs(f, x) != pairs[x] for x in xs):
        raise ArithmeticError(f"pair counts are not a quadratic in the feature count: {q}")
    return lambda expr: sp.factor(q.subs(f, expr))


@functools.cache
def _count_polynomials() -> dict[str, sp.Expr]:
    """``{design}_{features|pairs}[_distinct]`` -> polynomial in n, D."""
    counts = _enumerated()
    out = {}
    for design in ("early", "late"):
        for suffix in ("", "_distinct"):
            feats = {nd: getattr(c, f"{design}_features{suffix}") for nd, c in counts.items()}
            pairs = {
                getattr(c, f"{design}_features{suffix}"): getattr(c, f"{design}_pairs{suffix}")
                for c in counts.values()
            }
            out[f"{design}_features{suffix}"] = f_poly = _fit_nD(feats)
            out[f"{design}_pairs{suffix}"] = _fit_quadratic(pairs)(f_poly)
    return out


def _binomials() -> list[sp.Expr]:
    """Candidate names for the fitted counts: binomials of the obvious term counts."""
    n, D, C = n_sym, D_sym, sp.binomial
    features = [C(n * D + 1, 2), C(n * D, 2), n * C(D + 1, 2), n * C(D, 2)]
    # pairs with squares: C(f + 1, 2) of the features with squares; else C(f, 2)
    return features + [C(f + 1, 2) for f in features[::2]] + [C(f, 2) for f in features[1::2]]


def _binomial_name(form: sp.Expr) -> str:
    """``binomial(D*n + 1, 2)`` -> ``C(nD+1, 2)``."""
    text = str(form).replace("binomial(", "C(").replace("D*n", "nD").replace(" + ", "+")
    return text.replace("*", " ")


def _poly_text(poly: sp.Expr) -> str:
    """A polynomial in n, D as text with n before D: ``nD (nD + 1)/2``."""
    text = re.sub(r"D(\^\d+)? n(\^\d+)?", r"n\2 D\1", fmt(poly))
    return text.replace("n D", "nD")


def _named(poly: sp.Expr, *, with_poly: bool = True) -> str:
    """``C(nD+1, 2) = nD (nD + 1)/2``: the binomial equal to ``poly``, if any."""
    for form in _binomials():
        if sp.expand(sp.expand_func(form) - poly) == 0:
            return (
                f"{_binomial_name(form)} = {_poly_text(poly)}"
                if with_poly
                else _binomial_name(form)
            )
    return _poly_text(poly)


# ------------------------------------------------------------------ decisions
def _decide_pairwise_outputs() -> Decision:
    inputs, printed = PRINTED_PAIRWISE["inputs"], PRINTED_PAIRWISE["outputs"]
    found = _counts(1, inputs).early_features  # one vector of `inputs`
    text = f"enumerated pairwise products of {inputs} inputs, squares included: {found}"
    return Decision(HOLDS if found == printed else FALSE, text)


def _differences(xs: list[int]) -> list[int]:
    return [b - a for a, b in zip(xs, xs[1:], strict=False)]


def _decide_quadratic_in_n() -> Decision:
    D, ns = GROWTH["D"], GROWTH["n"]
    early = [_counts(n, D).early_features for n in ns]
    late = [_counts(n, D).late_features for n in ns]
    second = _differences(_differences(early))
    if len(set(second)) != 1 or second[0] <= 0:
        return Decision(FALSE, f"early features {early} are not quadratic in n")
    d2 = " = D^2" if second[0] == D**2 else ""
    linear = " (linear in n)" if len(set(_differences(late))) == 1 else ""
    return Decision(
        HOLDS,
        f"D={D}, n={ns[0]}..{ns[-1]}: early first-layer features {early} (second differences "
        f"all {second[0]}{d2}: quadratic in n); late {late}{linear}",
    )


_WHAT = {"features": "first-layer features", "pairs": "second-layer pairwise products"}
_PRINTED_TEXT = {
    "features": "early nC2 feature outputs, late n^D C2",
    "pairs": "early nC2 C2 parameters, late n^D C2 C2",
}


def _count_correction(kind: Kind) -> Correction:
    polys, printed = _count_polynomials(), printed_formulas()
    ex, ex_printed = _enumerated()[2, 2], printed_counts(2, 2)

    def cell(design: str) -> str:
        key = f"{design}_{kind}"
        return f"{design} {_named(polys[key])} ({_named(polys[key + '_distinct'])} without squares)"

    at = ", ".join(
        f"{d} {getattr(ex, f'{d}_{kind}')} (printed {ex_printed[f'{d}_{kind}']})"
        for d in ("early", "late")
    )
    return Correction(
        _PRINTED_TEXT[kind],
        f"{_WHAT[kind]}: {cell('early')}; {cell('late')}. n=2, D=2: {at}",
        {f"{d}_{kind}": printed[f"{d}_{kind}"] for d in ("early", "late")},
        {k: v for k, v in polys.items() if k.split("_")[1] == kind},
    )


def _decide_counts(kind: Kind) -> Decision:
    rows = count_table()
    keys = (f"early_{kind}", f"late_{kind}")
    wrong = [c for c, p in rows if any(p[k] != getattr(c, k) for k in keys)]
    flipped = [
        c
        for c, p in rows
        if (p[keys[0]] > p[keys[1]]) != (getattr(c, keys[0]) > getattr(c, keys[1]))
    ]
    ex, ex_printed = next((c, p) for c, p in rows if (c.n, c.D) == (2, 2))
    quartic = (
        f" (distinct quartic monomials: early {ex.early_quartic}, late {ex.late_quartic})"
        if kind == "pairs"
        else ""
    )
    base = (
        f"{_WHAT[kind]}, n=2, D=2: "
        + ", ".join(f"{k.split('_')[0]} {getattr(ex, k)} (printed {ex_printed[k]})" for k in keys)
        + f"{quartic}; printed != enumerated in {len(wrong)} of {len(rows)} (n, D) cases and "
        f"disagrees on which design has more in {len(flipped)}"
    )
    if not wrong:
        return Decision(HOLDS, base)
    polys = _count_polynomials()
    formulas = ", ".join(
        f"{k.split('_')[0]} {_named(polys[k + '_distinct'], with_poly=False)}" for k in keys
    )
    return Decision(
        FALSE,
        f"{base}; corrected: {formulas} (products of distinct terms; squares add more), "
        f"polynomials in n, D fitted to the enumeration on {len(FIT_GRID)} sizes and matching "
        f"it on {len(CHECK_GRID)} more",
        (_count_correction(kind),),
    )


# ------------------------------------------------------------------ the claims
_AFTER_FIG11 = f"{_MN}, paragraph after Figure 11"
_COUNTS = "multiplicative.monomial_counts vs counting_claims.printed_counts, n = 2..4, D = 1..3"

CLAIMS: list[Claim] = [
    Claim(
        "C1",
        "for a vector input [x1, x2, x3, x4] [...] the 10 pairwise outputs",
        f"{_MN}, definition of H",
        "multiplicative.monomial_counts(1, 4)",
        _decide_pairwise_outputs,
    ),
    Claim(
        "C2",
        "the first non-linearity in the early fusion case scales quadratically in the number "
        "of modalities",
        _AFTER_FIG11,
        "multiplicative.monomial_counts(n, 2), n = 1..6",
        _decide_quadratic_in_n,
    ),
    Claim(
        "C3",
        "in early fusion the first non-linearity produces nC2 feature outputs, whereas late "
        "fusion produces n^D C2",
        _AFTER_FIG11,
        _COUNTS + "; the counts fitted by polynomials in n, D",
        lambda: _decide_counts("features"),
    ),
    Claim(
        "C4",
        "In the next non-linearity [...] early fusion needs nC2 C2 parameters whereas late "
        "fusion needs n^D C2 C2",
        _AFTER_FIG11,
        _COUNTS + "; the counts fitted by polynomials in n, D",
        lambda: _decide_counts("pairs"),
    ),
]
