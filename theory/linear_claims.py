"""Appendix "Linear Model": claims L1-L11, as quoted, and where each is decided.

Each :class:`._records.Claim` here holds a quote, its location in the appendix,
the computation that decides it and the decision function of
:mod:`.linear_decisions` (verdict, evidence, corrections: the errata of this
section). The printed expressions are transcribed in :mod:`.linear_paper`, the
grid of sizes is :mod:`.linear_grid` and the model itself (effective matrices,
image dimensions, ranks, constraints) is :mod:`.linear`; the public names of
the first two are re-exported here.
"""

from __future__ import annotations

from ._records import Claim, Typo
from .linear_decisions import EXPLICIT as EXPLICIT
from .linear_decisions import (
    decide_block,
    decide_breaks_structure,
    decide_diagonal_f,
    decide_example_constraints,
    decide_example_matrix,
    decide_linear_freedom,
    decide_more_constrained,
    decide_pro_block,
    decide_pro_vs_early,
    decide_rank,
)
from .linear_grid import GRID, PRO_VARIANTS
from .linear_paper import EXAMPLE as EXAMPLE
from .linear_paper import PRINTED_EXAMPLE_SHAPE as PRINTED_EXAMPLE_SHAPE
from .linear_paper import (
    BlockEntry,
    compare_block_expansion,
    paper_block_expansion,
    paper_example_matrix,
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

_LM = "Appendix, Linear Model"


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
        lambda: decide_block("early"),
        typos=(_HEAD_SHAPE,),
    ),
    Claim(
        "L2",
        "Late fusion [...] by zeroing the off diagonal terms of W: "
        "[F11W11, F12W22; F21W11, F22W22]",
        f"{_LM}, late-fusion block equation",
        "linear_claims.compare_block_expansion('late')",
        lambda: decide_block("late"),
    ),
    Claim(
        "L3",
        "the rank of the effective matrix in early fusion is necessarily higher than that "
        "in late fusion",
        f"{_LM}, after the block equations",
        "linear.generic_rank / generic_rank_closed_form over a (D, d, K) grid",
        decide_rank,
    ),
    Claim(
        "L4",
        "even in cases when the rank of the effective matrix remains the same the matrix in "
        "late fusion is more constrained",
        f"{_LM}, after the block equations",
        "linear.image_dimension (Jacobian rank) vs image_dimension_closed_form, grid",
        decide_more_constrained,
    ),
    Claim(
        "L5",
        "when all F_ij are diagonal [...] the ratio between the rows in the top-left quadrant "
        "is the same as the one in the bottom-left quadrant",
        f"{_LM}, diagonal-F argument",
        "symbolic 2x2 minors of paired rows, late vs early",
        decide_diagonal_f,
    ),
    Claim(
        "L6",
        "d = 1, D = 2, K = 2. The net transformation in this case is a 4x2 matrix of the form "
        "[f11w11 f11w12 f21w21 f21w22; f12w11 f12w12 f22w21 f22w22]",
        f"{_LM}, worked example",
        "linear.effective_matrix('late', D=2, d=1, K=2) vs linear_claims.paper_example_matrix()",
        decide_example_matrix,
    ),
    Claim(
        "L7",
        "the ratio of the elements of the first column and second column is the same [...] "
        "not all rank 2 [...] matrices are of this form",
        f"{_LM}, worked example",
        "linear.late_constraints, linear.implicitize (Groebner), is_late_reachable",
        decide_example_constraints,
    ),
    Claim(
        "L8",
        "F [W11 + G11W11, G12W22; G21W11, W22 + G22W22] (back-projection, unrolled once)",
        f"{_LM}, pro-fusion composition",
        "linear_claims.compare_block_expansion('pro', c); shapes checked with MatrixSymbols",
        decide_pro_block,
    ),
    Claim(
        "L9",
        "The presence of off-diagonal entries which similar to early fusion breaks the "
        "structure imposed by late fusion",
        f"{_LM}, last paragraph",
        "late_constraints on the pro matrix; image_dimension('pro'); implicitize('pro')",
        decide_breaks_structure,
    ),
    Claim(
        "L10",
        "this model is not as expressive as early fusion as there can be some dependencies "
        "between the matrix entries",
        f"{_LM}, last paragraph",
        "linear.image_dimension('pro') vs ('early') over the grid",
        decide_pro_vs_early,
    ),
    Claim(
        "L11",
        "in the linear case, the extra freedom allowed by progressive fusion need not be "
        "very useful",
        "Appendix, Multiplicative Nonlinearity, first sentence",
        "linear.image_dimension('pro') vs ('late') over the grid",
        decide_linear_freedom,
    ),
]
