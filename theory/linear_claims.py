"""Appendix "Linear Model": what the paper prints, claims L1-L11 and their errata.

The printed expressions are transcribed here (:func:`paper_block_expansion`,
:func:`paper_example_matrix`); the model itself (effective matrices, image
dimensions, ranks, constraints) is computed by :mod:`.linear`. Each decision
compares the two and returns its verdict, an evidence line built from the
computed values, and the corrections it found (the errata of this section).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.exceptions import ShapeError

from . import linear
from ._records import (
    CORRECTED,
    FALSE,
    HOLDS,
    Claim,
    Correction,
    Decision,
    Typo,
    fmt,
    fmt_matrix,
)

__all__ = [
    "CLAIMS",
    "GRID",
    "PRO_VARIANTS",
    "BlockEntry",
    "compare_block_expansion",
    "paper_block_expansion",
    "paper_example_matrix",
]

#: The (D, d, K) grid of the linear claims: every size with D, d <= 3 and K <= 4.
GRID = [(D, d, K) for D in range(1, 4) for d in range(1, 4) for K in range(1, 5)]
#: Pro-fusion variants checked on the grid: (context, p, steps).
PRO_VARIANTS = [("add", None, 2), ("concat", None, 2), ("add", 1, 2), ("concat", 2, 3)]
#: The sizes of the paper's worked example.
EXAMPLE = {"D": 2, "d": 1, "K": 2}
#: The shape the worked example's text gives its matrix ("a 4x2 matrix").
PRINTED_EXAMPLE_SHAPE = (4, 2)
#: Block sizes of the explicit check of the early expansion (F is (K1+K2) x 2d).
EXPLICIT = {"D": 3, "d": 2, "K1": 2, "K2": 1}
_LM = "Appendix, Linear Model"
_EX = f"d={EXAMPLE['d']}, D={EXAMPLE['D']}, K={EXAMPLE['K']}"


# ------------------------------------------------------------ what the paper prints
def _nc(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, commutative=False)


def _printed_pro_inner() -> sp.Matrix:
    """``[[W11 + G11 W11, G12 W22], [G21 W11, W22 + G22 W22]]``, as printed."""
    g11, g12, g21, g22 = _nc("G11 G12 G21 G22")
    w11, w22 = _nc("W11 W22")
    return sp.Matrix([[w11 + g11 * w11, g12 * w22], [g21 * w11, w22 + g22 * w22]])


def _g_reading(context: linear.Context) -> sp.Matrix:
    """The only reading of the printed ``G`` with consistent shapes: ``Wd V`` ("add",
    ``G_ij = W_ii V_ij``) or ``U A`` ("concat", ``G_ij = U_i A_j``), blocks d x d."""
    w11, w22 = _nc("W11 W22")
    if context == "add":
        v11, v12, v21, v22 = _nc("V11 V12 V21 V22")
        return sp.Matrix([[w11, 0], [0, w22]]) * sp.Matrix([[v11, v12], [v21, v22]])
    u1, u2, a1, a2 = _nc("U1 U2 A1 A2")
    return sp.Matrix([[u1], [u2]]) * sp.Matrix([[a1, a2]])


def _substitute_g(m: sp.Matrix, g: sp.Matrix) -> sp.Matrix:
    names = _nc("G11 G12 G21 G22")
    return m.subs(dict(zip(names, g, strict=True)), simultaneous=True).applyfunc(sp.expand)


def paper_block_expansion(design: linear.Design, context: linear.Context = "add") -> sp.Matrix:
    """The block matrices printed in the appendix "Linear Model", transcribed.

    Early and late are the printed right-hand sides. For pro fusion the paper prints
    ``F [[W11 + G11 W11, G12 W22], [G21 W11, W22 + G22 W22]]`` without defining
    ``G``; the transcription substitutes the only reading with consistent shapes,
    ``G = Wd V`` ("add") or ``U A`` ("concat").
    """
    f11, f12, f21, f22 = _nc("F11 F12 F21 F22")
    w11, w12, w21, w22 = _nc("W11 W12 W21 W22")
    if design == "early":
        return sp.Matrix(
            [
                [f11 * w11 + f12 * w21, f11 * w12 + f12 * w22],
                [f21 * w11 + f21 * w22, f21 * w12 + f22 * w22],  # as printed
            ]
        )
    if design == "late":
        return sp.Matrix([[f11 * w11, f12 * w22], [f21 * w11, f22 * w22]])
    if design != "pro":
        raise ValueError(f"design must be 'early', 'late' or 'pro', got {design!r}")
    inner = _substitute_g(_printed_pro_inner(), _g_reading(context))
    return (sp.Matrix([[f11, f12], [f21, f22]]) * inner).applyfunc(sp.expand)


@dataclass(frozen=True)
class BlockEntry:
    """One entry of a 2 x 2 block expansion, computed and as printed."""

    position: tuple[int, int]
    computed: sp.Expr
    printed: sp.Expr

    @property
    def matches(self) -> bool:
        return sp.expand(self.computed - self.printed) == 0


def compare_block_expansion(
    design: linear.Design, context: linear.Context = "add"
) -> list[BlockEntry]:
    """Entry-by-entry comparison of :func:`.linear.block_expansion` with the printed one."""
    computed = linear.block_expansion(design, context)
    printed = paper_block_expansion(design, context)
    return [BlockEntry((i, j), computed[i, j], printed[i, j]) for i in range(2) for j in range(2)]


def paper_example_matrix() -> sp.Matrix:
    """The late-fusion matrix printed for ``d = 1, D = 2, K = 2`` (called "4x2" there).

    Read with ``f_ij`` = entry ``(i, j)`` of the head ``F``, ``w1j`` = entry ``j`` of
    ``W11`` and ``w2j`` = entry ``j`` of ``W22``: the symbol names
    :func:`.linear.effective_matrix` uses for ``d = 1``.
    """
    f11, f12, f21, f22, w11, w12, w21, w22 = sp.symbols("f11 f12 f21 f22 w11 w12 w21 w22")
    return sp.Matrix(
        [
            [f11 * w11, f11 * w12, f21 * w21, f21 * w22],
            [f12 * w11, f12 * w12, f22 * w21, f22 * w22],
        ]
    )


def _differing_entries(a: sp.Matrix, b: sp.Matrix) -> list[str]:
    """1-based ``"(i,j)"`` positions where two same-shaped matrices differ."""
    return [
        f"({i + 1},{j + 1})"
        for i in range(a.rows)
        for j in range(a.cols)
        if sp.expand(a[i, j] - b[i, j]) != 0
    ]


def _block_shapes(expr: sp.Expr, shapes: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """Shape of a block polynomial evaluated with MatrixSymbols of the given shapes."""
    symbols = {name: sp.MatrixSymbol(name, *shape) for name, shape in shapes.items()}
    return tuple(linear.evaluate_blocks(expr, symbols).shape)


def _naive_reading(*, D: int, d: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """``W11 + G11 W11`` with ``G11`` read as a back-projection block (D x d): the two
    shapes that cannot be added, or None when they happen to agree (d = D)."""
    w11, g11 = sp.MatrixSymbol("W11", d, D), sp.MatrixSymbol("G11", D, d)
    try:
        w11 + g11 * w11
    except ShapeError:
        return tuple(w11.shape), tuple((g11 * w11).shape)
    return None


# ------------------------------------------------------------------ shared grid
@functools.cache
def _grid() -> tuple[dict, ...]:
    """Ranks and image dimensions (Jacobian and closed form) on :data:`GRID`."""
    rows = []
    for D, d, K in GRID:
        row = {"D": D, "d": d, "K": K}
        for design in ("early", "late"):
            row[design] = linear.image_dimension(design, D=D, d=d, K=K)
            row[f"{design}_closed"] = linear.image_dimension_closed_form(design, D=D, d=d, K=K)
            row[f"{design}_rank"] = linear.generic_rank(design, D=D, d=d, K=K)
            row[f"{design}_rank_closed"] = linear.generic_rank_closed_form(design, D=D, d=d, K=K)
        row["pro"] = [
            linear.image_dimension("pro", D=D, d=d, K=K, p=p, steps=r, context=c)
            for c, p, r in PRO_VARIANTS
        ]
        row["pro_closed"] = linear.image_dimension_closed_form("pro", D=D, d=d, K=K)
        rows.append(row)
    return tuple(rows)


def _grid_note() -> str:
    agree = all(
        r["early"] == r["early_closed"]
        and r["late"] == r["late_closed"]
        and all(v == r["pro_closed"] for v in r["pro"])
        and r["early_rank"] == r["early_rank_closed"]
        and r["late_rank"] == r["late_rank_closed"]
        for r in _grid()
    )
    if agree:
        return f"Jacobian ranks = closed forms in all {len(GRID)} cases"
    return "WARNING: a Jacobian rank differs from its closed form"


def _grid_label(sep: str = "") -> str:
    """The grid's extent, e.g. ``D,d<=3, K<=4``."""
    top = {name: max(size[i] for size in GRID) for i, name in enumerate("DdK")}
    if top["D"] == top["d"]:
        return f"D,{sep}d{sep}<={sep}{top['D']}, K{sep}<={sep}{top['K']}"
    return f"D{sep}<={sep}{top['D']}, d{sep}<={sep}{top['d']}, K{sep}<={sep}{top['K']}"


def _example_row() -> dict:
    return next(r for r in _grid() if (r["D"], r["d"], r["K"]) == tuple(EXAMPLE[k] for k in "DdK"))


def _size(r: dict) -> tuple[int, int, int]:
    return r["D"], r["d"], r["K"]


def _narrow(r: dict) -> bool:
    """d < min(K, D): the sizes where a per-modality block cannot have full rank."""
    return r["d"] < min(r["K"], r["D"])


def _full_elsewhere(*designs: str) -> bool:
    """Outside :func:`_narrow`, each design reaches every K x 2D matrix (dim 2DK)."""
    for r in _grid():
        if not _narrow(r):
            dims = [v for x in designs for v in (r[x] if x == "pro" else [r[x]])]
            if any(v != 2 * r["D"] * r["K"] for v in dims):
                return False
    return True


def _canonical(polys: list[sp.Expr]) -> set[sp.Expr]:
    """Polynomials up to sign, for comparing generating sets."""
    return {sp.expand(-g) if g.could_extract_minus_sign() else g for g in map(sp.expand, polys)}


# ------------------------------------------------------------------ decisions
def _decide_block(design: linear.Design) -> Decision:
    entries = compare_block_expansion(design)
    explicit = linear.check_block_expansion_explicit(**EXPLICIT)
    rows, cols = EXPLICIT["K1"] + EXPLICIT["K2"], 2 * EXPLICIT["D"]
    check = f"expansion checked against explicit {rows}x{cols} products"
    check = check if explicit else "WARNING: " + check + " FAILED"
    wrong = [e for e in entries if not e.matches]
    if not wrong:
        return Decision(
            HOLDS, f"all {len(entries)} block entries equal the computed expansion ({check})"
        )
    where = {e: f"entry ({e.position[0] + 1},{e.position[1] + 1})" for e in wrong}
    diffs = "; ".join(
        f"{where[e]} printed {fmt(e.printed)}, computed {fmt(e.computed)}" for e in wrong
    )
    corrections = tuple(
        Correction(fmt(e.printed), fmt(e.computed), e.printed, e.computed, where[e]) for e in wrong
    )
    return Decision(
        FALSE,
        f"{diffs}; the other {len(entries) - len(wrong)} entries match ({check})",
        corrections,
    )


def _relation(a: int, b: int) -> str:
    return ">" if a > b else "<" if a < b else "="


def _decide_rank() -> Decision:
    grid, ex = _grid(), _example_row()
    relations = [_relation(r["early_rank"], r["late_rank"]) for r in grid]
    common = all(
        r["early_rank"] == r["late_rank"] == min(2 * r["d"], r["K"], 2 * r["D"]) for r in grid
    )
    formula = "min(2d, K, 2D)"  # the closed form both ranks are checked against above
    both, equal_to = (f"; both are {formula}", f" = {formula}") if common else ("", "")
    base = (
        f"maximum (= generic) ranks over {len(grid)} cases {_grid_label()}: early > late in "
        f"{relations.count('>')}, equal in {relations.count('=')}{both} ({_EX}: early "
        f"{ex['early_rank']}, late {ex['late_rank']}); {_grid_note()}"
    )
    if relations.count(">") == len(grid):
        return Decision(HOLDS, base)
    rel = " and ".join(f"rank(early) {r} rank(late)" for r in sorted(set(relations)))
    correction = Correction(
        "the rank of the effective matrix in early fusion is necessarily higher than that in "
        "late fusion",
        f"{rel}{equal_to} in all {len(grid)} cases {_grid_label(' ')} (maximum = generic rank); "
        "late fusion is more constrained through the dimension of its image, not its rank "
        f"({_EX}: {ex['late']} vs {ex['early']})",
        {">"},
        set(relations),
    )
    if "<" not in relations and ">" not in relations:
        return Decision(FALSE, "never higher: " + base, (correction,))
    return Decision(CORRECTED, "higher only sometimes: " + base, (correction,))


def _decide_more_constrained() -> Decision:
    grid, ex = _grid(), _example_row()
    strict = [r for r in grid if r["late"] < r["early"]]
    same_rank = all(r["late_rank"] == r["early_rank"] for r in strict)
    base = (
        f"image dimension late < early in {len(strict)} of {len(grid)} cases"
        f"{' (all with equal ranks)' if same_rank else ''}; {_EX}: {ex['late']} < {ex['early']}"
    )
    if len(strict) == len(grid):
        return Decision(HOLDS, base + f"; {_grid_note()}")
    if {_size(r) for r in strict} == {_size(r) for r in grid if _narrow(r)}:
        otherwise = (
            ": otherwise late fusion already reaches every K x 2D matrix, dim 2DK"
            if _full_elsewhere("late")
            else ""
        )
        return Decision(CORRECTED, base + f"; only when d < min(K, D){otherwise}; {_grid_note()}")
    return Decision(FALSE, base)


def _paired_row_minors(m: sp.Matrix, d: int, D: int) -> list[sp.Expr]:
    """2x2 minors pairing row k of the top quadrants with row k of the bottom ones."""
    out = []
    for cols in (slice(0, D), slice(D, 2 * D)):
        for k in range(d):
            pair = sp.Matrix.vstack(m[k, cols], m[d + k, cols])
            out += [
                sp.expand(pair.extract([0, 1], [a, b]).det())
                for a in range(D)
                for b in range(a + 1, D)
            ]
    return out


def _decide_diagonal_f() -> Decision:
    d, D = 2, 3
    diag = {
        name: sp.diag(*[sp.Symbol(f"{name.lower()}_{k + 1}") for k in range(d)])
        for name in ("F11", "F12", "F21", "F22")
    }
    f = sp.Matrix(sp.BlockMatrix([[diag["F11"], diag["F12"]], [diag["F21"], diag["F22"]]]))
    _, late = linear.effective_matrix("late", D=D, d=d, K=2 * d)
    _, early = linear.effective_matrix("early", D=D, d=d, K=2 * d)
    late_minors = _paired_row_minors(f * sp.diag(late["W11"], late["W22"]), d, D)
    early_nonzero = sum(m != 0 for m in _paired_row_minors(f * early["W"], d, D))
    if any(m != 0 for m in late_minors):
        return Decision(FALSE, "some paired rows of the late-fusion quadrants are not proportional")
    return Decision(
        HOLDS,
        f"d={d}, D={D}, diagonal F_ij: all {len(late_minors)} 2x2 minors pairing row k of "
        f"F11 W11 with row k of F21 W11 (and of F12 W22 with F22 W22) expand to 0; for early "
        f"fusion {early_nonzero} of them do not",
    )


def _decide_example_matrix() -> Decision:
    ours, blocks = linear.effective_matrix("late", **EXAMPLE)
    printed = paper_example_matrix()
    f = blocks["F"]
    transpose = {f[i, j]: f[j, i] for i in range(f.rows) for j in range(f.cols) if i != j}
    swapped = sorted({tuple(sorted((str(a), str(b)))) for a, b in transpose.items()})
    pairs = " and ".join(f"{a}/{b}" for a, b in swapped)
    shape = (ours.rows, ours.cols)
    shape_note = f"F W is {shape[0]}x{shape[1]} (K x 2D), the text says " + "x".join(
        map(str, PRINTED_EXAMPLE_SHAPE)
    )
    shape_fix = Correction(
        '"a {0}x{1} matrix", "not all rank 2 {0}x{1} matrices"'.format(*PRINTED_EXAMPLE_SHAPE),
        f"{shape[0]}x{shape[1]} (K x 2D)",
        PRINTED_EXAMPLE_SHAPE,
        shape,
        "the matrix's shape (twice)",
    )
    shape_fixes = () if shape == PRINTED_EXAMPLE_SHAPE else (shape_fix,)
    diffs = ", ".join(_differing_entries(ours, printed))
    if not diffs and not shape_fixes:
        return Decision(HOLDS, "the printed matrix equals F W, shape included")
    if not diffs:
        return Decision(CORRECTED, shape_note, shape_fixes)
    if printed.subs(transpose, simultaneous=True) != ours:
        return Decision(FALSE, f"entries {diffs} differ from F W", shape_fixes)
    reversed_pairs = " and ".join(f"{b}/{a}" for a, b in swapped)
    entries_fix = Correction(
        fmt_matrix(printed),
        f"F W = {fmt_matrix(ours)} (F multiplies from the left, as in the block equations: "
        f"entries {diffs} swap {pairs.replace('/', ' and ')}; the printed entries read F as "
        "the text's 2d x K matrix (f_ij = F_ji))",
        printed,
        ours,
    )
    return Decision(
        CORRECTED,
        f"{shape_note + '; ' if shape_fixes else ''}entries {diffs} have {reversed_pairs} where "
        f"F W has {pairs}; after f_ij -> f_ji the printed matrix equals F W (same set of "
        "matrices)",
        (*shape_fixes, entries_fix),
    )


def _decide_example_constraints() -> Decision:
    ours, _ = linear.effective_matrix("late", **EXAMPLE)
    vanish = all(sp.expand(m) == 0 for m in linear.late_constraints(**EXAMPLE, matrix=ours))
    generic = linear.late_constraints(**EXAMPLE)
    same_ideal = _canonical(linear.implicitize("late", **EXAMPLE)) == _canonical(generic)
    m0 = sp.Matrix([[1, 0, 0, 0], [0, 1, 0, 0]])  # F = I (2 x 2d), W = m0 (2d x 2D)
    counter = (
        sp.eye(2) * m0 == m0
        and linear.is_early_reachable(m0, D=EXAMPLE["D"], d=EXAMPLE["d"])
        and not linear.is_late_reachable(m0, D=EXAMPLE["D"], d=EXAMPLE["d"])
    )
    if not (vanish and same_ideal and counter):
        return Decision(
            FALSE, f"minors vanish: {vanish}, ideal: {same_ideal}, counterexample: {counter}"
        )
    minors = " and ".join(fmt(g) for g in generic)
    return Decision(
        HOLDS,
        f"the column-ratio minors {minors} expand to 0 on F W; Groebner elimination gives "
        f"exactly these {len(generic)} generators; {str(m0.tolist()).replace(' ', '')} has "
        f"rank {m0.rank()}, is early (F = I, W = itself) and not late",
    )


def _decide_pro_block() -> Decision:
    readings = {c: _g_reading(c) for c in ("add", "concat")}
    match = {c: all(e.matches for e in compare_block_expansion("pro", c)) for c in readings}
    if not all(match.values()):
        return Decision(FALSE, f"entries differ for {[c for c, ok in match.items() if not ok]}")
    d, D = EXAMPLE["d"], EXAMPLE["D"]  # unequal, so a transposed block cannot pass unnoticed
    shapes = {"W11": (d, D), "W22": (d, D), "V11": (D, d), "V12": (D, d), "V21": (D, d)}
    shapes |= {"V22": (D, d), "U1": (d, 1), "U2": (d, 1), "A1": (1, d), "A2": (1, d)}
    g_shapes = {_block_shapes(x, shapes) for g in readings.values() for x in g}
    inner = {c: _substitute_g(_printed_pro_inner(), g) for c, g in readings.items()}
    inner_shapes = {_block_shapes(x, shapes) for x in inner["add"]}
    naive = _naive_reading(D=D, d=d)
    blocks = "blocks d x d" if g_shapes == {(d, d)} else f"WARNING: G blocks {g_shapes}"
    g_text = {c: fmt_matrix(g) for c, g in readings.items()}
    if naive is None:
        return Decision(HOLDS, f"all entries match in both forms, G = {g_text['add']} ('add')")
    clash = (
        f"d={d}, D={D}: W11 + G11 W11 adds a {naive[0][0]}x{naive[0][1]} matrix to a "
        f"{naive[1][0]}x{naive[1][1]} one"
    )
    correction = Correction(
        f"F {fmt_matrix(_printed_pro_inner())}, G_ij not defined; read as the back-"
        f"projection's blocks (D x d), {clash}",
        f"G = {g_text['add']} ({blocks}): F {fmt_matrix(inner['add'])}"
        + (", every block d x D" if inner_shapes == {(d, D)} else "")
        + f"; 'concat' form (G = {g_text['concat']}): F {fmt_matrix(inner['concat'])}",
        _printed_pro_inner(),
        inner["add"],
    )
    return Decision(
        CORRECTED,
        f"matches entry by entry in both forms once G := {g_text['add']} ('add') or "
        f"{g_text['concat']} ('concat'), {blocks}; read as the back-projection's own blocks "
        f"V_ij (D x d), {clash}",
        (correction,),
    )


def _factors_through_late(context: linear.Context) -> bool:
    """``F (Wd + G Wd) = (F (I + G)) Wd`` for the pro expansion: its head absorbs G."""
    f = sp.Matrix(2, 2, _nc("F11 F12 F21 F22"))
    wd = sp.diag(*_nc("W11 W22"))
    absorbed = (f * (sp.eye(2) + _g_reading(context))).applyfunc(sp.expand) * wd
    return absorbed.applyfunc(sp.expand) == linear.block_expansion("pro", context)


def _decide_breaks_structure() -> Decision:
    vanish = all(
        sp.expand(c) == 0
        for context in ("add", "concat")
        for steps in (2, 3)
        for c in linear.late_constraints(
            **EXAMPLE,
            matrix=linear.effective_matrix("pro", **EXAMPLE, steps=steps, context=context)[0],
        )
    )
    equal = all(all(v == r["late"] for v in r["pro"]) for r in _grid())
    factored = all(_factors_through_late(c) for c in ("add", "concat"))
    generic = linear.late_constraints(**EXAMPLE)
    same_ideal = _canonical(linear.implicitize("pro", **EXAMPLE, context="concat")) == _canonical(
        generic
    )
    if not (vanish and equal):
        return Decision(HOLDS, f"late constraints vanish: {vanish}; dims equal to late: {equal}")
    because = "F (Wd + G Wd) = (F (I + G)) Wd is again" if factored else "the pro matrix is"
    groebner = f"; Groebner elimination ('concat') returns late's {len(generic)} minors"
    return Decision(
        FALSE,
        f"{because} a late-fusion matrix: every late constraint expands to 0 on it ({_EX}; "
        f"R = 2, 3; both forms), its image dimension equals late's in all {len(GRID)} grid "
        f"cases x {len(PRO_VARIANTS)} variants" + (groebner if same_ideal else ""),
    )


def _decide_pro_vs_early() -> Decision:
    grid = _grid()
    below = [r for r in grid if max(r["pro"]) < r["early"]]
    if len(below) == len(grid):
        return Decision(HOLDS, f"pro < early in all {len(grid)} cases")
    if {_size(r) for r in below} != {_size(r) for r in grid if _narrow(r)}:
        return Decision(FALSE, f"pro < early in only {len(below)} of {len(grid)} cases")
    equal_late = all(all(v == r["late"] for v in r["pro"]) for r in grid)
    everything = _full_elsewhere("early", "late", "pro")
    return Decision(
        CORRECTED,
        f"pro image dim < early in {len(below)} of {len(grid)} cases, exactly those with "
        f"d < min(K, D){' and then pro = late exactly' if equal_late else ''}"
        + ("; otherwise all three designs reach every K x 2D matrix" if everything else ""),
    )


def _decide_linear_freedom() -> Decision:
    if not all(all(v == r["late"] for v in r["pro"]) for r in _grid()):
        return Decision(FALSE, "pro-fusion reaches matrices late fusion cannot")
    return Decision(
        HOLDS,
        "stronger: there is no extra freedom; pro-fusion's image equals late fusion's in "
        f"all {len(GRID)} grid cases x {len(PRO_VARIANTS)} variants (context, p, R)",
    )


# ------------------------------------------------------------------ the claims
_HEAD_SHAPE = Typo(
    f"{_LM}, Analysis",
    '"in either case the second transformation is a 2d x K matrix"',
    "a K x 2d matrix (it multiplies the 2d fused features from the left, as in the block "
    "equations)",
    "linear.parameter_shapes gives F as (K, 2d)",
)

CLAIMS: list[Claim] = [
    Claim(
        "L1",
        "[F11 F12; F21 F22][W11 W12; W21 W22] = [F11W11 + F12W21, F11W12 + F12W22; "
        "F21W11 + F21W22, F21W12 + F22W22]",
        f"{_LM}, early-fusion block equation",
        "linear_claims.compare_block_expansion('early')",
        lambda: _decide_block("early"),
        typos=(_HEAD_SHAPE,),
    ),
    Claim(
        "L2",
        "Late fusion [...] by zeroing the off diagonal terms of W: "
        "[F11W11, F12W22; F21W11, F22W22]",
        f"{_LM}, late-fusion block equation",
        "linear_claims.compare_block_expansion('late')",
        lambda: _decide_block("late"),
    ),
    Claim(
        "L3",
        "the rank of the effective matrix in early fusion is necessarily higher than that "
        "in late fusion",
        f"{_LM}, after the block equations",
        "linear.generic_rank / generic_rank_closed_form over a (D, d, K) grid",
        _decide_rank,
    ),
    Claim(
        "L4",
        "even in cases when the rank of the effective matrix remains the same the matrix in "
        "late fusion is more constrained",
        f"{_LM}, after the block equations",
        "linear.image_dimension (Jacobian rank) vs image_dimension_closed_form, grid",
        _decide_more_constrained,
    ),
    Claim(
        "L5",
        "when all F_ij are diagonal [...] the ratio between the rows in the top-left quadrant "
        "is the same as the one in the bottom-left quadrant",
        f"{_LM}, diagonal-F argument",
        "symbolic 2x2 minors of paired rows, late vs early",
        _decide_diagonal_f,
    ),
    Claim(
        "L6",
        "d = 1, D = 2, K = 2. The net transformation in this case is a 4x2 matrix of the form "
        "[f11w11 f11w12 f21w21 f21w22; f12w11 f12w12 f22w21 f22w22]",
        f"{_LM}, worked example",
        "linear.effective_matrix('late', D=2, d=1, K=2) vs linear_claims.paper_example_matrix()",
        _decide_example_matrix,
    ),
    Claim(
        "L7",
        "the ratio of the elements of the first column and second column is the same [...] "
        "not all rank 2 [...] matrices are of this form",
        f"{_LM}, worked example",
        "linear.late_constraints, linear.implicitize (Groebner), is_late_reachable",
        _decide_example_constraints,
    ),
    Claim(
        "L8",
        "F [W11 + G11W11, G12W22; G21W11, W22 + G22W22] (back-projection, unrolled once)",
        f"{_LM}, pro-fusion composition",
        "linear_claims.compare_block_expansion('pro', c); shapes checked with MatrixSymbols",
        _decide_pro_block,
    ),
    Claim(
        "L9",
        "The presence of off-diagonal entries which similar to early fusion breaks the "
        "structure imposed by late fusion",
        f"{_LM}, last paragraph",
        "late_constraints on the pro matrix; image_dimension('pro'); implicitize('pro')",
        _decide_breaks_structure,
    ),
    Claim(
        "L10",
        "this model is not as expressive as early fusion as there can be some dependencies "
        "between the matrix entries",
        f"{_LM}, last paragraph",
        "linear.image_dimension('pro') vs ('early') over the grid",
        _decide_pro_vs_early,
    ),
    Claim(
        "L11",
        "in the linear case, the extra freedom allowed by progressive fusion need not be "
        "very useful",
        "Appendix, Multiplicative Nonlinearity, first sentence",
        "linear.image_dimension('pro') vs ('late') over the grid",
        _decide_linear_freedom,
    ),
]
