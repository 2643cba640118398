"""Errata of the appendix ("Technical Analysis", "Linear Model", "Multiplicative
Nonlinearity"), each with its corrected expression.

Two kinds:

- **mathematical**: an expression that computes to something else. The corrected
  expression is *computed* here (a block expansion, an effective matrix, a
  Jacobian rank, a support, an enumeration fitted by an exact polynomial), never
  typed in; each record keeps the printed and the corrected objects
  (``printed_value``, ``corrected_value``) so the tests can recompute them;
- **typographical**: a slip found by reading (a wrong index, a transposed shape
  label, a missing codomain). Their corrections are typed in and labelled
  "found by reading".

``render_errata(markdown=True)`` is the table ``progfusion report`` writes into
REPORT.md. The verdicts on the *claims* (which sentences hold) are in
:mod:`.claims`; an erratum is about an expression as printed.
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import sympy as sp
from sympy.matrices.exceptions import ShapeError

from . import linear, multiplicative
from .multiplicative import ProductNet

__all__ = ["Erratum", "Kind", "errata", "render_errata"]

Kind = Literal["typographical", "mathematical"]
BY_READING = "found by reading"

#: The (D, d, K) sizes of the rank comparison: D, d <= 3 and K <= 4 (as in .claims).
RANK_GRID = [(D, d, K) for D in range(1, 4) for d in range(1, 4) for K in range(1, 5)]
#: The product network of the multiplicative errata: 2 modalities of dimension 2.
NET = {"n": 2, "D": 2, "width1": 3, "width2": 3}
#: (n, D) sizes whose enumerated counts fix the count polynomials (a tensor grid,
#: so the 9 coefficients of n^a D^b, a, b <= 2, are determined) ...
FIT_GRID = [(n, D) for n in (1, 2, 3) for D in (1, 2, 3)]
#: ... and the sizes on which the fitted polynomials are then checked.
CHECK_GRID = [(4, 1), (4, 2), (4, 3), (1, 4), (2, 4)]

n_sym, D_sym = sp.symbols("n D", positive=True, integer=True)


@dataclass(frozen=True)
class Erratum:
    """One erratum: where, what is printed, the correction, its kind, how found.

    ``printed_value`` and ``corrected_value`` are the objects compared (sympy
    expressions, matrices, shapes, sets); ``None`` for typographical errata.
    """

    key: str
    location: str
    printed: str
    corrected: str
    kind: Kind
    found_by: str
    printed_value: object = None
    corrected_value: object = None


# ------------------------------------------------------------------ helpers
def _fmt(e: object) -> str:
    """sympy expression as compact text: ``F21*W11`` -> ``F21 W11``; in a sum, terms
    with fewer factors first (``W11 + G11 W11``, as the paper writes them)."""
    if isinstance(e, sp.Add) and not e.is_commutative:
        terms = sorted(sp.Add.make_args(e), key=lambda t: len(t.args) if t.is_Mul else 1)
        return " + ".join(_fmt(t) for t in terms)
    return str(e).replace("**", "^").replace("*", " ")


def _fmt_count(poly: sp.Expr) -> str:
    """A polynomial in n, D as text with n before D: ``nD (nD + 1)/2``."""
    text = re.sub(r"D(\^\d+)? n(\^\d+)?", r"n\2 D\1", _fmt(poly))
    return text.replace("n D", "nD")


def _fmt_matrix(m: sp.Matrix) -> str:
    rows = ["[" + ", ".join(_fmt(x) for x in m.row(i)) + "]" for i in range(m.rows)]
    return "[" + "; ".join(rows) + "]"


def _nc(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, commutative=False)


def _as_matrix_expr(expr: sp.Expr, shapes: dict[str, tuple[int, int]]) -> sp.MatrixExpr:
    """Evaluate a non-commutative block polynomial with MatrixSymbols of given shapes.

    sympy checks every product and sum, so a shape mismatch raises ``ShapeError``.
    """
    total = None
    for term in sp.Add.make_args(expr):
        factors = term.args if term.is_Mul else (term,)
        prod = None
        for f in factors:
            m = sp.MatrixSymbol(str(f), *shapes[str(f)])
            prod = m if prod is None else prod * m
        total = prod if total is None else total + prod
    return total


def _relation(a: int, b: int) -> str:
    return ">" if a > b else "<" if a < b else "="


# ------------------------------------------------------------ Linear Model
def _early_block() -> Erratum:
    entries = linear.compare_block_expansion("early")
    wrong = [e for e in entries if not e.matches]
    (e,) = wrong  # exactly one entry differs (the tests pin it)
    explicit = linear.check_block_expansion_explicit(D=3, d=2, K1=2, K2=1)
    check = ", checked against explicit products (check_block_expansion_explicit)"
    i, j = e.position
    return Erratum(
        key="",
        location=f"Appendix, Linear Model, early-fusion block equation, entry ({i + 1},{j + 1})",
        printed=_fmt(e.printed),
        corrected=_fmt(e.computed),
        kind="mathematical",
        found_by="linear.compare_block_expansion('early')" + (check if explicit else ""),
        printed_value=e.printed,
        corrected_value=e.computed,
    )


def _rank_claim() -> Erratum:
    ranks = {
        (D, d, K): (
            linear.generic_rank("early", D=D, d=d, K=K),
            linear.generic_rank("late", D=D, d=d, K=K),
        )
        for D, d, K in RANK_GRID
    }
    relations = {_relation(e, l) for e, l in ranks.values()}
    closed = all(
        (e, l)
        == (
            linear.generic_rank_closed_form("early", D=D, d=d, K=K),
            linear.generic_rank_closed_form("late", D=D, d=d, K=K),
        )
        for (D, d, K), (e, l) in ranks.items()
    )
    dims = {design: linear.image_dimension(design, D=2, d=1, K=2) for design in ("early", "late")}
    rel = " and ".join(f"rank(early) {r} rank(late)" for r in sorted(relations))
    formula = " = min(2d, K, 2D)" if closed and relations == {"="} else ""
    return Erratum(
        key="",
        location="Appendix, Linear Model, after the block equations",
        printed="the rank of the effective matrix in early fusion is necessarily higher than "
        "that in late fusion",
        corrected=(
            f"{rel}{formula} in all {len(ranks)} cases D, d <= 3, K <= 4 (maximum = generic "
            f"rank); late fusion is more constrained through the dimension of its image, not "
            f"its rank (d=1, D=2, K=2: {dims['late']} vs {dims['early']})"
        ),
        kind="mathematical",
        found_by="linear.generic_rank over the grid, = generic_rank_closed_form; "
        "linear.image_dimension",
        printed_value={">"},
        corrected_value=relations,
    )


def _example_shape() -> Erratum:
    matrix, _ = linear.effective_matrix("late", D=2, d=1, K=2)
    shape = tuple(matrix.shape)
    return Erratum(
        key="",
        location="Appendix, Linear Model, worked example d = 1, D = 2, K = 2 (twice)",
        printed='"a 4x2 matrix", "not all rank 2 4x2 matrices"',
        corrected=f"{shape[0]}x{shape[1]} (K x 2D)",
        kind="mathematical",
        found_by="linear.effective_matrix('late', D=2, d=1, K=2).shape",
        printed_value=(4, 2),
        corrected_value=shape,
    )


def _example_entries() -> Erratum:
    ours, _ = linear.effective_matrix("late", D=2, d=1, K=2)
    printed = linear.paper_example_matrix()
    transposed = linear.paper_example_with_f_swapped()
    diffs = linear.differing_entries(ours, printed)
    note = (
        "; the printed entries read F as the text's 2d x K matrix (f_ij = F_ji)"
        if transposed == ours
        else ""
    )
    return Erratum(
        key="",
        location="Appendix, Linear Model, worked example d = 1, D = 2, K = 2",
        printed=_fmt_matrix(printed),
        corrected=(
            f"F W = {_fmt_matrix(ours)} (F multiplies from the left, as in the block "
            f"equations: entries {', '.join(diffs)} swap f12 and f21{note})"
        ),
        kind="mathematical",
        found_by="linear.effective_matrix('late', D=2, d=1, K=2) vs linear.paper_example_matrix()",
        printed_value=printed,
        corrected_value=ours,
    )


def _pro_inner(context: str) -> sp.Matrix:
    """The middle factor of the pro-fusion expansion: ``block_expansion`` at F = I."""
    f11, f12, f21, f22 = _nc("F11 F12 F21 F22")
    return linear.block_expansion("pro", context).subs(
        {f11: 1, f12: 0, f21: 0, f22: 1}, simultaneous=True
    )


def _pro_block() -> Erratum:
    g11, g12, g21, g22 = _nc("G11 G12 G21 G22")
    w11, w22 = _nc("W11 W22")
    printed = sp.Matrix([[w11 + g11 * w11, g12 * w22], [g21 * w11, w22 + g22 * w22]])
    inner = _pro_inner("add")
    d, D = 1, 2  # unequal, so a transposed block cannot pass unnoticed
    shapes = {"W11": (d, D), "W22": (d, D)}
    shapes |= {f"V{i}{j}": (D, d) for i in (1, 2) for j in (1, 2)}
    try:
        block_shapes = {tuple(_as_matrix_expr(x, shapes).shape) for x in inner}
    except ShapeError:  # pragma: no cover - the tests pin the consistent shapes
        block_shapes = set()
    consistent = block_shapes == {(d, D)}
    naive = linear.naive_pro_shape_error(D=D, d=d)
    concat = _pro_inner("concat")
    return Erratum(
        key="",
        location="Appendix, Linear Model, pro-fusion composition (unrolled once)",
        printed=(
            f"F {_fmt_matrix(printed)}, G_ij not defined; read as the back-projection's "
            f"blocks (D x d), d=1, D=2: {naive.split(' (sympy')[0] if naive else 'no error'}"
        ),
        corrected=(
            f"G_ij = W_ii V_ij (d x d), i.e. G = blockdiag(W11, W22) V: F {_fmt_matrix(inner)}"
            + (", every block d x D" if consistent else "")
            + f"; 'concat' form (G_ij = U_i A_j): F {_fmt_matrix(concat)}"
        ),
        kind="mathematical",
        found_by="linear.block_expansion('pro', c) at F = I; shapes checked with "
        "MatrixSymbols; linear.naive_pro_shape_error",
        printed_value=printed,
        corrected_value=inner,
    )


# --------------------------------------------------- Multiplicative Nonlinearity
def _monomial_pattern(bidegree: tuple[int, ...]) -> str:
    letters = iter("ijkmpq")
    return " ".join(
        f"X_{next(letters)}^{mod + 1}" for mod, deg in enumerate(bidegree) for _ in range(deg)
    )


def _late_terms() -> Erratum:
    quartic = {
        bias: sorted(
            (
                k
                for k in multiplicative.support_by_multidegree(ProductNet("late", bias=bias, **NET))
                if sum(k) == 4
            ),
            reverse=True,
        )
        for bias in (False, True)
    }
    bidegrees = quartic[False]
    same = quartic[True] == bidegrees
    printed = {(2, 2)}  # both printed families have degree 2 in each modality
    return Erratum(
        key="",
        location="Appendix, Multiplicative Nonlinearity, Analysis (late fusion's terms)",
        printed="{X_i^1 X_j^1 X_k^2 X_m^2, X_i^2 X_j^2 X_k^1 X_m^1} (both of bidegree (2,2))",
        corrected=(
            "{"
            + ", ".join(_monomial_pattern(k) for k in bidegrees)
            + "}: bidegrees "
            + ", ".join(str(k).replace(" ", "") for k in bidegrees)
            + (" (the same with biases)" if same else "")
        ),
        kind="mathematical",
        found_by=f"multiplicative.support_by_multidegree(ProductNet('late', {_net_note()}))",
        printed_value=printed,
        corrected_value=set(bidegrees),
    )


def _net_note() -> str:
    return ", ".join(f"{k}={v}" for k, v in NET.items())


def _concat_first() -> Erratum:
    dims = {
        design: multiplicative.jacobian_dimension(ProductNet(design, **NET), "degree4")
        for design in ("early", "late")
    }
    total = multiplicative.part_size(ProductNet("early", **NET), "degree4")
    full = [design for design, dim in dims.items() if dim == total]
    label = full[0] if len(full) == 1 else "/".join(full) or "neither design"
    return Erratum(
        key="",
        location="Appendix, Multiplicative Nonlinearity, Analysis",
        printed='"However in the late fusion design the unimodal features are concatenated '
        'first, and then passed through the non-linearity"',
        corrected=(
            f'"in the {label} fusion design": the concatenate-first design reaches all '
            f"{total} quartic monomials (degree-4 Jacobian dim {dims['early']} of {total}); "
            f"the per-modality (late) design {dims['late']}"
        ),
        kind="mathematical",
        found_by=f"multiplicative.jacobian_dimension(ProductNet(design, {_net_note()}), "
        "'degree4') vs part_size",
        printed_value="late",
        corrected_value=label,
    )


@functools.cache
def _enumerated() -> dict[tuple[int, int], multiplicative.MonomialCounts]:
    return {nd: multiplicative.monomial_counts(*nd) for nd in FIT_GRID + CHECK_GRID}


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


def _readable(poly: sp.Expr, forms: dict[str, sp.Expr]) -> str:
    """``poly`` as text, preceded by a binomial form when one equals it."""
    text = _fmt_count(poly)
    for name, form in forms.items():
        if sp.expand(sp.expand_func(form) - poly) == 0:
            return f"{name} = {text}"
    return text


def _count_polynomials() -> dict[str, sp.Expr]:
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


def _printed_formulas() -> dict[str, sp.Expr]:
    n, D, C = n_sym, D_sym, sp.binomial
    return {
        "early_features": C(n, 2),
        "late_features": C(n**D, 2),
        "early_pairs": C(C(n, 2), 2),
        "late_pairs": C(C(n**D, 2), 2),
    }


_FORMS = {
    "C(nD+1, 2)": sp.binomial(n_sym * D_sym + 1, 2),
    "C(nD, 2)": sp.binomial(n_sym * D_sym, 2),
    "n C(D+1, 2)": n_sym * sp.binomial(D_sym + 1, 2),
    "n C(D, 2)": n_sym * sp.binomial(D_sym, 2),
    "C(C(nD+1, 2)+1, 2)": sp.binomial(sp.binomial(n_sym * D_sym + 1, 2) + 1, 2),
    "C(C(nD, 2), 2)": sp.binomial(sp.binomial(n_sym * D_sym, 2), 2),
    "C(n C(D+1, 2)+1, 2)": sp.binomial(n_sym * sp.binomial(D_sym + 1, 2) + 1, 2),
    "C(n C(D, 2), 2)": sp.binomial(n_sym * sp.binomial(D_sym, 2), 2),
}


def _counts(kind: Literal["features", "pairs"]) -> Erratum:
    polys = _count_polynomials()
    printed = _printed_formulas()
    keys = [f"early_{kind}", f"late_{kind}"]
    ex = _enumerated()[2, 2]

    def cell(design: str) -> str:
        with_sq = _readable(polys[f"{design}_{kind}"], _FORMS)
        distinct = _readable(polys[f"{design}_{kind}_distinct"], _FORMS)
        return f"{design} {with_sq} ({distinct} without squares)"

    what = "first-layer features" if kind == "features" else "second-layer pairwise products"
    printed_text = (
        "early nC2 feature outputs, late n^D C2"
        if kind == "features"
        else "early nC2 C2 parameters, late n^D C2 C2"
    )
    at = {k: int(sp.expand_func(printed[k].subs({n_sym: 2, D_sym: 2}))) for k in keys}
    return Erratum(
        key="",
        location="Appendix, Multiplicative Nonlinearity, paragraph after Figure 11",
        printed=printed_text,
        corrected=(
            f"{what}: {cell('early')}; {cell('late')}. n=2, D=2: early "
            f"{getattr(ex, keys[0])} (printed {at[keys[0]]}), late {getattr(ex, keys[1])} "
            f"(printed {at[keys[1]]})"
        ),
        kind="mathematical",
        found_by=(
            "multiplicative.monomial_counts enumerated on n, D <= 3 and fitted exactly by a "
            "polynomial in n, D"
            + (" (pairs: a quadratic in the feature count)" if kind == "pairs" else "")
            + f", checked on {len(CHECK_GRID)} more sizes; printed_counts for the printed values"
        ),
        printed_value={k: printed[k] for k in keys},
        corrected_value={k: polys[k] for k in polys if k.split("_")[1] == kind},
    )


# ------------------------------------------------------------ typographical
def _typographical() -> dict[str, Erratum]:
    def typo(location: str, printed: str, corrected: str, how: str = BY_READING) -> Erratum:
        return Erratum("", location, printed, corrected, "typographical", how)

    return {
        "codomain": typo(
            "Appendix, Technical Analysis, definition of G^_i",
            "G^_i : X_i x R^{d_i}",
            "G^_i : X_i x R^{d_i} -> Z_i, with Z_i the codomain of G_i",
        ),
        "index": typo(
            "Appendix, Technical Analysis, definition of G^_i and eq. (7)",
            "G^_i(x_i, c) = G_j([x_i, W_i(c)]); G^_i(x_i, c_{t-1}) = G_j(x_i + W_i(c_{t-1}))",
            "G_i([x_i, W_i(c)]); G_i(x_i + W_i(c_{t-1})) (modality i's own encoder)",
        ),
        "head": typo(
            "Appendix, Linear Model, Analysis",
            '"in either case the second transformation is a 2d x K matrix"',
            "a K x 2d matrix (it multiplies the 2d fused features from the left, as in the "
            "block equations)",
            BY_READING + "; linear.parameter_shapes gives F as (K, 2d)",
        ),
        "late_sum": typo(
            "Appendix, Multiplicative Nonlinearity, Analysis (second late-fusion sum)",
            "sum w_ik^{1,1} w_il^{1,1} w_im^{2,1} w_in^{2,1} X_k^1 X_l^1 X_m^1 X_n^1",
            "sum w_ik^{1,1} w_il^{1,1} w_im^{2,1} w_in^{2,1} X_k^1 X_l^1 X_m^2 X_n^2 "
            "(w^{2,1} acts on modality 2)",
        ),
        "last_sentence": typo(
            "Appendix, Multiplicative Nonlinearity, last sentence",
            '"Hence pro-fusion is more expressive pro-fusion but not as rich as early fusion"',
            '"Hence pro-fusion is more expressive than late fusion but not as rich as early '
            'fusion" (whether that holds is claim M6 of the theory table)',
        ),
    }


# ------------------------------------------------------------------ the list
@functools.cache
def _errata() -> tuple[Erratum, ...]:
    typo = _typographical()
    ordered = [  # in the order they appear in the appendix
        typo["codomain"],
        typo["index"],
        typo["head"],
        _early_block(),
        _rank_claim(),
        _example_shape(),
        _example_entries(),
        _pro_block(),
        _late_terms(),
        typo["late_sum"],
        _concat_first(),
        _counts("features"),
        _counts("pairs"),
        typo["last_sentence"],
    ]
    return tuple(replace(e, key=f"E{i + 1}") for i, e in enumerate(ordered))


def errata() -> list[Erratum]:
    """Every erratum, in the order it appears in the appendix (computed once, cached)."""
    return list(_errata())


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_errata(markdown: bool = False) -> str:
    """The errata as a table: Markdown (one row per erratum) or wrapped plain text."""
    items = errata()
    n_math = sum(e.kind == "mathematical" for e in items)
    summary = (
        f"{len(items)} errata: {n_math} mathematical (corrected expression computed), "
        f"{len(items) - n_math} typographical (found by reading)."
    )
    if markdown:
        lines = [
            "| # | Where | Printed | Corrected | Kind | Found by |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {e.key} | {_md(e.location)} | {_md(e.printed)} | {_md(e.corrected)} | "
            f"{e.kind} | {_md(e.found_by)} |"
            for e in items
        ]
        return "\n".join(lines) + "\n\n" + summary + "\n"
    blocks = []
    for e in items:
        head = f"{e.key} [{e.kind}] {e.location.replace('Appendix, ', '')}"
        body = [
            ("printed", e.printed),
            ("corrected", e.corrected),
            ("found by", e.found_by),
        ]
        lines = [head]
        for label, text in body:
            wrapped = textwrap.wrap(text, 88 - 14) or [""]
            lines.append(f"  {label:<11} {wrapped[0]}")
            lines += [" " * 14 + w for w in wrapped[1:]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n\n" + summary + "\n"
