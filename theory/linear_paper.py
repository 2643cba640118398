"""What the appendix "Linear Model" prints, transcribed, and compared with the model.

The printed block equations (:func:`paper_block_expansion`) and worked example
(:func:`paper_example_matrix`) are written down here as sympy expressions, with
the only reading of the undefined pro-fusion ``G`` whose shapes are consistent
(:func:`g_reading`). :func:`compare_block_expansion`, :func:`differing_entries`,
:func:`block_shapes` and :func:`naive_reading` set them against the model that
:mod:`.linear` computes; the decisions of :mod:`.linear_decisions` quote them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.matrices.exceptions import ShapeError

from . import linear

__all__ = [
    "EXAMPLE",
    "PRINTED_EXAMPLE_SHAPE",
    "BlockEntry",
    "block_shapes",
    "block_symbols",
    "compare_block_expansion",
    "differing_entries",
    "g_reading",
    "naive_reading",
    "paper_block_expansion",
    "paper_example_matrix",
    "printed_pro_inner",
    "substitute_g",
]

#: The sizes of the paper's worked example.
EXAMPLE = {"D": 2, "d": 1, "K": 2}
#: The shape the worked example's text gives its matrix ("a 4x2 matrix").
PRINTED_EXAMPLE_SHAPE = (4, 2)


def block_symbols(names: str) -> tuple[sp.Symbol, ...]:
    """Non-commutative symbols for the blocks of the printed equations."""
    return sp.symbols(names, commutative=False)


def printed_pro_inner() -> sp.Matrix:
    """``[[W11 + G11 W11, G12 W22], [G21 W11, W22 + G22 W22]]``, as printed."""
    g11, g12, g21, g22 = block_symbols("G11 G12 G21 G22")
    w11, w22 = block_symbols("W11 W22")
    return sp.Matrix([[w11 + g11 * w11, g12 * w22], [g21 * w11, w22 + g22 * w22]])


def g_reading(context: linear.Context) -> sp.Matrix:
    """The only reading of the printed ``G`` with consistent shapes: ``Wd V`` ("add",
    ``G_ij = W_ii V_ij``) or ``U A`` ("concat", ``G_ij = U_i A_j``), blocks d x d."""
    w11, w22 = block_symbols("W11 W22")
    if context == "add":
        v11, v12, v21, v22 = block_symbols("V11 V12 V21 V22")
        return sp.Matrix([[w11, 0], [0, w22]]) * sp.Matrix([[v11, v12], [v21, v22]])
    u1, u2, a1, a2 = block_symbols("U1 U2 A1 A2")
    return sp.Matrix([[u1], [u2]]) * sp.Matrix([[a1, a2]])


def substitute_g(m: sp.Matrix, g: sp.Matrix) -> sp.Matrix:
    """``m`` with the blocks ``G11 .. G22`` replaced by those of ``g``, expanded."""
    names = block_symbols("G11 G12 G21 G22")
    return m.subs(dict(zip(names, g, strict=True)), simultaneous=True).applyfunc(sp.expand)


def paper_block_expansion(design: linear.Design, context: linear.Context = "add") -> sp.Matrix:
    """The block matrices printed in the appendix "Linear Model", transcribed.

    Early and late are the printed right-hand sides. For pro fusion the paper prints
    ``F [[W11 + G11 W11, G12 W22], [G21 W11, W22 + G22 W22]]`` without defining
    ``G``; the transcription substitutes the only reading with consistent shapes,
    ``G = Wd V`` ("add") or ``U A`` ("concat").
    """
    f11, f12, f21, f22 = block_symbols("F11 F12 F21 F22")
    w11, w12, w21, w22 = block_symbols("W11 W12 W21 W22")
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
    inner = substitute_g(printed_pro_inner(), g_reading(context))
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


def differing_entries(a: sp.Matrix, b: sp.Matrix) -> list[str]:
    """1-based ``"(i,j)"`` positions where two same-shaped matrices differ."""
    return [
        f"({i + 1},{j + 1})"
        for i in range(a.rows)
        for j in range(a.cols)
        if sp.expand(a[i, j] - b[i, j]) != 0
    ]


def block_shapes(expr: sp.Expr, shapes: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """Shape of a block polynomial evaluated with MatrixSymbols of the given shapes."""
    symbols = {name: sp.MatrixSymbol(name, *shape) for name, shape in shapes.items()}
    return tuple(linear.evaluate_blocks(expr, symbols).shape)


def naive_reading(*, D: int, d: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """``W11 + G11 W11`` with ``G11`` read as a back-projection block (D x d): the two
    shapes that cannot be added, or None when they happen to agree (d = D)."""
    w11, g11 = sp.MatrixSymbol("W11", d, D), sp.MatrixSymbol("G11", D, d)
    try:
        w11 + g11 * w11
    except ShapeError:
        return tuple(w11.shape), tuple((g11 * w11).shape)
    return None
