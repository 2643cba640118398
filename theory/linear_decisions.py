"""The decisions of claims L1-L11: verdict, evidence line and corrections of each.

Each ``decide_*`` function compares what the appendix "Linear Model" prints
(:mod:`.linear_paper`) with what :mod:`.linear` computes, on the paper's example
or on the grid of :mod:`.linear_grid`, and returns a :class:`._records.Decision`:
its verdict, an evidence line built from the computed values, and the
corrections it found (the errata of this section). :mod:`.linear_claims` pairs
each with its quote.
"""

from __future__ import annotations

import sympy as sp

from . import linear
from ._records import CORRECTED, FALSE, HOLDS, Correction, Decision, fmt, fmt_matrix
from .linear_grid import (
    GRID,
    PRO_VARIANTS,
    example_row,
    full_elsewhere,
    grid_label,
    grid_note,
    grid_rows,
    narrow,
    size_of,
)
from .linear_paper import (
    EXAMPLE,
    PRINTED_EXAMPLE_SHAPE,
    block_shapes,
    block_symbols,
    compare_block_expansion,
    differing_entries,
    g_reading,
    naive_reading,
    paper_example_matrix,
    printed_pro_inner,
    substitute_g,
)

__all__ = [
    "EXPLICIT",
    "decide_block",
    "decide_breaks_structure",
    "decide_diagonal_f",
    "decide_example_constraints",
    "decide_example_matrix",
    "decide_linear_freedom",
    "decide_more_constrained",
    "decide_pro_block",
    "decide_pro_vs_early",
    "decide_rank",
]

#: Block sizes of the explicit check of the early expansion (F is (K1+K2) x 2d).
EXPLICIT = {"D": 3, "d": 2, "K1": 2, "K2": 1}
_EX = f"d={EXAMPLE['d']}, D={EXAMPLE['D']}, K={EXAMPLE['K']}"


def _canonical(polys: list[sp.Expr]) -> set[sp.Expr]:
    """Polynomials up to sign, for comparing generating sets."""
    return {sp.expand(-g) if g.could_extract_minus_sign() else g for g in map(sp.expand, polys)}


def decide_block(design: linear.Design) -> Decision:
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


def decide_rank() -> Decision:
    grid, ex = grid_rows(), example_row()
    relations = [_relation(r["early_rank"], r["late_rank"]) for r in grid]
    common = all(
        r["early_rank"] == r["late_rank"] == min(2 * r["d"], r["K"], 2 * r["D"]) for r in grid
    )
    formula = "min(2d, K, 2D)"  # the closed form both ranks are checked against above
    both, equal_to = (f"; both are {formula}", f" = {formula}") if common else ("", "")
    base = (
        f"maximum (= generic) ranks over {len(grid)} cases {grid_label()}: early > late in "
        f"{relations.count('>')}, equal in {relations.count('=')}{both} ({_EX}: early "
        f"{ex['early_rank']}, late {ex['late_rank']}); {grid_note()}"
    )
    if relations.count(">") == len(grid):
        return Decision(HOLDS, base)
    rel = " and ".join(f"rank(early) {r} rank(late)" for r in sorted(set(relations)))
    correction = Correction(
        "the rank of the effective matrix in early fusion is necessarily higher than that in "
        "late fusion",
        f"{rel}{equal_to} in all {len(grid)} cases {grid_label(' ')} (maximum = generic rank); "
        "late fusion is more constrained through the dimension of its image, not its rank "
        f"({_EX}: {ex['late']} vs {ex['early']})",
        {">"},
        set(relations),
    )
    if "<" not in relations and ">" not in relations:
        return Decision(FALSE, "never higher: " + base, (correction,))
    return Decision(CORRECTED, "higher only sometimes: " + base, (correction,))


def decide_more_constrained() -> Decision:
    grid, ex = grid_rows(), example_row()
    strict = [r for r in grid if r["late"] < r["early"]]
    same_rank = all(r["late_rank"] == r["early_rank"] for r in strict)
    base = (
        f"image dimension late < early in {len(strict)} of {len(grid)} cases"
        f"{' (all with equal ranks)' if same_rank else ''}; {_EX}: {ex['late']} < {ex['early']}"
    )
    if len(strict) == len(grid):
        return Decision(HOLDS, base + f"; {grid_note()}")
    if {size_of(r) for r in strict} == {size_of(r) for r in grid if narrow(r)}:
        otherwise = (
            ": otherwise late fusion already reaches every K x 2D matrix, dim 2DK"
            if full_elsewhere("late")
            else ""
        )
        return Decision(CORRECTED, base + f"; only when d < min(K, D){otherwise}; {grid_note()}")
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


def decide_diagonal_f() -> Decision:
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


def decide_example_matrix() -> Decision:
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
    diffs = ", ".join(differing_entries(ours, printed))
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


def decide_example_constraints() -> Decision:
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


def decide_pro_block() -> Decision:
    readings = {c: g_reading(c) for c in ("add", "concat")}
    match = {c: all(e.matches for e in compare_block_expansion("pro", c)) for c in readings}
    if not all(match.values()):
        return Decision(FALSE, f"entries differ for {[c for c, ok in match.items() if not ok]}")
    d, D = EXAMPLE["d"], EXAMPLE["D"]  # unequal, so a transposed block cannot pass unnoticed
    shapes = {"W11": (d, D), "W22": (d, D), "V11": (D, d), "V12": (D, d), "V21": (D, d)}
    shapes |= {"V22": (D, d), "U1": (d, 1), "U2": (d, 1), "A1": (1, d), "A2": (1, d)}
    g_shapes = {block_shapes(x, shapes) for g in readings.values() for x in g}
    inner = {c: substitute_g(printed_pro_inner(), g) for c, g in readings.items()}
    inner_shapes = {block_shapes(x, shapes) for x in inner["add"]}
    naive = naive_reading(D=D, d=d)
    blocks = "blocks d x d" if g_shapes == {(d, d)} else f"WARNING: G blocks {g_shapes}"
    g_text = {c: fmt_matrix(g) for c, g in readings.items()}
    if naive is None:
        return Decision(HOLDS, f"all entries match in both forms, G = {g_text['add']} ('add')")
    clash = (
        f"d={d}, D={D}: W11 + G11 W11 adds a {naive[0][0]}x{naive[0][1]} matrix to a "
        f"{naive[1][0]}x{naive[1][1]} one"
    )
    correction = Correction(
        f"F {fmt_matrix(printed_pro_inner())}, G_ij not defined; read as the back-"
        f"projection's blocks (D x d), {clash}",
        f"G = {g_text['add']} ({blocks}): F {fmt_matrix(inner['add'])}"
        + (", every block d x D" if inner_shapes == {(d, D)} else "")
        + f"; 'concat' form (G = {g_text['concat']}): F {fmt_matrix(inner['concat'])}",
        printed_pro_inner(),
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
    f = sp.Matrix(2, 2, block_symbols("F11 F12 F21 F22"))
    wd = sp.diag(*block_symbols("W11 W22"))
    absorbed = (f * (sp.eye(2) + g_reading(context))).applyfunc(sp.expand) * wd
    return absorbed.applyfunc(sp.expand) == linear.block_expansion("pro", context)


def decide_breaks_structure() -> Decision:
    vanish = all(
        sp.expand(c) == 0
        for context in ("add", "concat")
        for steps in (2, 3)
        for c in linear.late_constraints(
            **EXAMPLE,
            matrix=linear.effective_matrix("pro", **EXAMPLE, steps=steps, context=context)[0],
        )
    )
    equal = all(all(v == r["late"] for v in r["pro"]) for r in grid_rows())
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


def decide_pro_vs_early() -> Decision:
    grid = grid_rows()
    below = [r for r in grid if max(r["pro"]) < r["early"]]
    if len(below) == len(grid):
        return Decision(HOLDS, f"pro < early in all {len(grid)} cases")
    if {size_of(r) for r in below} != {size_of(r) for r in grid if narrow(r)}:
        return Decision(FALSE, f"pro < early in only {len(below)} of {len(grid)} cases")
    equal_late = all(all(v == r["late"] for v in r["pro"]) for r in grid)
    everything = full_elsewhere("early", "late", "pro")
    return Decision(
        CORRECTED,
        f"pro image dim < early in {len(below)} of {len(grid)} cases, exactly those with "
        f"d < min(K, D){' and then pro = late exactly' if equal_late else ''}"
        + ("; otherwise all three designs reach every K x 2D matrix" if everything else ""),
    )


def decide_linear_freedom() -> Decision:
    if not all(all(v == r["late"] for v in r["pro"]) for r in grid_rows()):
        return Decision(FALSE, "pro-fusion reaches matrices late fusion cannot")
    return Decision(
        HOLDS,
        "stronger: there is no extra freedom; pro-fusion's image equals late fusion's in "
        f"all {len(GRID)} grid cases x {len(PRO_VARIANTS)} variants (context, p, R)",
    )
