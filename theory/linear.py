"""The linear model of the appendix ("Linear Model"), decided exactly with sympy.

Set-up (the paper's notation made explicit)
-------------------------------------------
Two modalities ``X1, X2`` in ``R^D``, stacked as ``x = [X1; X2]`` in ``R^{2D}``.
Every layer is linear and bias-free.

- **early** fusion: ``y = F W x`` with ``W`` a full ``2d x 2D`` matrix and head
  ``F`` of shape ``K x 2d``.
- **late** fusion: ``y = F blockdiag(W11, W22) x``; ``W11, W22`` are ``d x D``
  per-modality encoders, the fusion layer concatenates their outputs
  ``c = [W11 X1; W22 X2]`` (``2d`` entries) and ``F`` (``K x 2d``) is the head.
  (The paper calls the head ``F``; in SPEC terms it is ``P``.)
- **pro** fusion: the late model unrolled ``steps = R`` times with a linear,
  bias-free back-projection of the fused vector, ``c_0 = 0``:

  * ``context="add"`` (eq. 7): ``c_t = Wd (x + V c_{t-1})`` with
    ``V = [V1; V2]`` (``2D x 2d``) mapping ``c`` into each modality's input space;
  * ``context="concat"`` (appendix): each encoder's first layer is widened,
    ``c_t = Wd x + U (A c_{t-1})``, ``U = [U1; U2]`` holds the new columns.

  With a back-projection width ``p`` the context goes through a shared bias-free
  bottleneck ``A`` (``p x 2d``): ``V = B A`` (``B`` is ``2D x p``) for "add",
  ``U A`` with ``U`` of shape ``2d x p`` for "concat"; ``p=None`` means no
  bottleneck (``V`` free, or ``U`` of shape ``2d x 2d`` acting on ``c`` itself).
  ``R = 1`` is the base (late) model; ``R = 2`` uses the back-projection once,
  the case the paper expands. The output is ``y = F c_R``.

The *effective matrix* of a design is the ``K x 2D`` matrix ``M`` with ``y = M x``.
Its *image* is the set of all effective matrices the design can realise as its
weights vary; :func:`image_dimension` is the dimension of that set, computed as
the exact rank of the Jacobian of the parametrisation at a random integer point
and cross-checked against :func:`image_dimension_closed_form`.

Closed forms (derived in the docstrings below and re-checked by the tests):

- early: rank ``<= r = min(2d, K, 2D)``, and every such matrix is reachable, so
  ``dim = r (K + 2D - r)`` (dimension of the ``K x 2D`` matrices of rank ``<= r``);
- late: each ``K x D`` block ``F_i W_ii`` is an arbitrary matrix of rank
  ``<= s = min(d, K, D)`` and the two blocks are independent, so
  ``dim = 2 s (K + D - s)``;
- pro (any ``R``, ``p``, context): ``c_R = poly(G) Wd x`` for a ``2d x 2d``
  matrix ``G``, hence ``M = (F poly(G)) Wd`` is again a late-fusion matrix; with
  the back-projection switched off it is every late-fusion matrix. So the image
  equals late fusion's and ``dim`` is the late one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

import numpy as np
import sympy as sp

from ._exact import Dual, dual_leaves, exact_rank, hstack, random_point, vstack

__all__ = [
    "Context",
    "Design",
    "block_expansion",
    "check_block_expansion_explicit",
    "early_constraints",
    "effective_matrix",
    "evaluate_blocks",
    "evaluate_effective_matrix",
    "generic_output_matrix",
    "generic_rank",
    "generic_rank_closed_form",
    "image_dimension",
    "image_dimension_closed_form",
    "implicitize",
    "is_early_reachable",
    "is_late_reachable",
    "late_constraints",
    "parameter_shapes",
]

Design = Literal["early", "late", "pro"]
Context = Literal["add", "concat"]
_DESIGNS = ("early", "late", "pro")
_CONTEXTS = ("add", "concat")


# --------------------------------------------------------------------------- set-up
def _check_sizes(
    design: str, D: int, d: int, K: int, p: int | None, steps: int, context: str
) -> None:
    if design not in _DESIGNS:
        raise ValueError(f"design must be one of {_DESIGNS}, got {design!r}")
    if context not in _CONTEXTS:
        raise ValueError(f"context must be one of {_CONTEXTS}, got {context!r}")
    for name, value in (("D", D), ("d", d), ("K", K), ("steps", steps)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if p is not None and (not isinstance(p, int | np.integer) or p < 1):
        raise ValueError(f"p must be None or an integer >= 1, got {p!r}")


def parameter_shapes(
    design: Design,
    *,
    D: int,
    d: int,
    K: int,
    p: int | None = None,
    steps: int = 2,
    context: Context = "add",
) -> dict[str, tuple[int, int]]:
    """Shapes of the weight blocks of a design (see the module docstring).

    Returns
    -------
    dict
        block name -> (rows, cols). Early: ``F`` (K, 2d), ``W`` (2d, 2D). Late:
        ``F``, ``W11`` (d, D), ``W22`` (d, D). Pro adds the back-projection:
        "add": ``V`` (2D, 2d), or ``B`` (2D, p) and ``A`` (p, 2d); "concat":
        ``U`` (2d, 2d), or ``U`` (2d, p) and ``A`` (p, 2d).
    """
    _check_sizes(design, D, d, K, p, steps, context)
    if design == "early":
        return {"F": (K, 2 * d), "W": (2 * d, 2 * D)}
    shapes = {"F": (K, 2 * d), "W11": (d, D), "W22": (d, D)}
    if design == "pro":
        if context == "add":
            shapes.update(
                {"V": (2 * D, 2 * d)} if p is None else {"B": (2 * D, p), "A": (p, 2 * d)}
            )
        else:
            shapes.update(
                {"U": (2 * d, 2 * d)} if p is None else {"U": (2 * d, p), "A": (p, 2 * d)}
            )
    return shapes


def _zeros(r: int, c: int) -> np.ndarray:
    out = np.empty((r, c), dtype=object)
    out[:] = 0
    return out


def _forward(
    design: str, blocks: dict, *, D: int, d: int, steps: int, context: str, p: int | None
) -> Dual | np.ndarray:
    """Effective matrix (K, 2D) from weight blocks (object arrays or Duals)."""
    if design == "early":
        return blocks["F"] @ blocks["W"]
    wd = vstack(
        [
            hstack([blocks["W11"], _zeros(d, D)]),
            hstack([_zeros(d, D), blocks["W22"]]),
        ]
    )  # (2d, 2D): blockdiag(W11, W22)
    t = wd  # c_1 = Wd x
    if design == "pro":
        if context == "add":
            back = blocks["V"] if p is None else blocks["B"] @ blocks["A"]  # (2D, 2d)
            step = wd @ back  # (2d, 2d): c -> Wd V c
        else:
            step = blocks["U"] if p is None else blocks["U"] @ blocks["A"]  # (2d, 2d)
        for _ in range(steps - 1):
            t = wd + step @ t  # c_t = Wd x + G c_{t-1}
    return blocks["F"] @ t


def _symbolic_blocks(shapes: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """Object arrays of symbols, one per block (naming in :func:`effective_matrix`)."""
    blocks = {}
    for name, (r, c) in shapes.items():
        arr = np.empty((r, c), dtype=object)
        sep = "" if max(r, c) < 10 else "_"
        for i in range(r):
            for j in range(c):
                if name in ("W11", "W22"):  # per-modality encoders: w1.., w2..
                    prefix = f"w{name[1]}"
                    label = f"{j + 1}" if r == 1 else f"_{i + 1}{sep}{j + 1}"
                else:
                    prefix, label = name.lower(), f"{i + 1}{sep}{j + 1}"
                arr[i, j] = sp.Symbol(prefix + label)
        blocks[name] = arr
    return blocks


def effective_matrix(
    design: Design,
    *,
    D: int,
    d: int,
    K: int,
    p: int | None = None,
    steps: int = 2,
    context: Context = "add",
) -> tuple[sp.Matrix, dict[str, sp.Matrix]]:
    """Symbolic effective matrix ``M`` (K x 2D) of a design, with its weight blocks.

    Entry ``(i, j)`` of the head ``F`` is the symbol ``f{i+1}{j+1}``, of the early
    encoder ``W`` ``w{i+1}{j+1}``, of the late encoders ``W11``/``W22``
    ``w1_{i+1}{j+1}``/``w2_{i+1}{j+1}``, shortened to ``w1{j+1}``/``w2{j+1}`` when
    ``d = 1`` (the paper's names in its ``d = 1`` example); other blocks use their
    lower-cased name. An underscore separates indices when a size reaches 10.

    Returns
    -------
    (M, blocks)
        ``M`` with expanded polynomial entries, and each block as a sympy Matrix.
    """
    shapes = parameter_shapes(design, D=D, d=d, K=K, p=p, steps=steps, context=context)
    blocks = _symbolic_blocks(shapes)
    m = _forward(design, blocks, D=D, d=d, steps=steps, context=context, p=p)
    matrix = sp.Matrix(m).applyfunc(sp.expand)
    return matrix, {k: sp.Matrix(v) for k, v in blocks.items()}


def evaluate_effective_matrix(
    design: Design,
    *,
    D: int,
    d: int,
    K: int,
    p: int | None = None,
    steps: int = 2,
    context: Context = "add",
    seed: int = 0,
) -> sp.Matrix:
    """Effective matrix at random integer weights (an exact sympy Matrix of Integers)."""
    shapes = parameter_shapes(design, D=D, d=d, K=K, p=p, steps=steps, context=context)
    rng = np.random.default_rng(seed)
    blocks = {name: random_point(rng, shape) for name, shape in shapes.items()}
    m = _forward(design, blocks, D=D, d=d, steps=steps, context=context, p=p)
    return sp.Matrix(m)


# ------------------------------------------------------------------ image dimension
def image_dimension(
    design: Design,
    *,
    D: int,
    d: int,
    K: int,
    p: int | None = None,
    steps: int = 2,
    context: Context = "add",
    seed: int = 0,
) -> int:
    """Dimension of the set of effective matrices a design can realise.

    Computed as the exact rank (over the rationals) of the Jacobian of
    ``weights -> M`` at a random integer point drawn with ``seed``. This is the
    generic rank, i.e. the image dimension, unless the point is non-generic (then
    it is a lower bound); compare with :func:`image_dimension_closed_form`.
    """
    shapes = parameter_shapes(design, D=D, d=d, K=K, p=p, steps=steps, context=context)
    leaves, n_params = dual_leaves(shapes, np.random.default_rng(seed))
    m = _forward(design, leaves, D=D, d=d, steps=steps, context=context, p=p)
    return exact_rank(m.jacobian(n_params))


def _determinantal_dim(rows: int, cols: int, r: int) -> int:
    """Dimension of the rows x cols matrices of rank <= r."""
    r = min(r, rows, cols)
    return r * (rows + cols - r)


def image_dimension_closed_form(
    design: Design,
    *,
    D: int,
    d: int,
    K: int,
    p: int | None = None,
    steps: int = 2,
    context: Context = "add",
) -> int:
    """Closed-form image dimension (see the module docstring for the derivation).

    early ``r (K + 2D - r)`` with ``r = min(2d, K, 2D)``; late and pro
    ``2 s (K + D - s)`` with ``s = min(d, K, D)``.
    """
    _check_sizes(design, D, d, K, p, steps, context)
    if design == "early":
        return _determinantal_dim(K, 2 * D, 2 * d)
    return 2 * _determinantal_dim(K, D, d)


def generic_rank(
    design: Design,
    *,
    D: int,
    d: int,
    K: int,
    p: int | None = None,
    steps: int = 2,
    context: Context = "add",
    seed: int = 0,
) -> int:
    """Exact rank of the effective matrix at random integer weights.

    Over the reals the maximum rank of a polynomial family of matrices is attained
    on a dense open set, so the generic rank *is* the maximum rank; a random point
    certifies it from below.
    """
    m = evaluate_effective_matrix(
        design, D=D, d=d, K=K, p=p, steps=steps, context=context, seed=seed
    )
    return exact_rank(np.array(m.tolist(), dtype=object))


def generic_rank_closed_form(design: Design, *, D: int, d: int, K: int) -> int:
    """Maximum (= generic) rank: early ``min(2d, K, 2D)``; late and pro
    ``min(K, 2 min(d, K, D))``, which simplifies to the same ``min(2d, K, 2D)``."""
    _check_sizes(design, D, d, K, None, 1, "add")
    if design == "early":
        return min(2 * d, K, 2 * D)
    return min(K, 2 * min(d, K, D))


# ----------------------------------------------------------------- membership tests
def _as_matrix(M: sp.Matrix | np.ndarray | Sequence[Sequence[object]]) -> sp.Matrix:
    return sp.Matrix(M) if not isinstance(M, sp.MatrixBase) else M


def is_late_reachable(
    M: sp.Matrix | np.ndarray | Sequence[Sequence[object]], D: int, d: int
) -> bool:
    """Whether the ``K x 2D`` matrix ``M`` is the effective matrix of some late model.

    Late fusion realises exactly the matrices ``[B1, B2]`` whose two ``K x D``
    blocks each have rank ``<= d`` (``B_i = F_i W_ii`` has rank ``<= d``, and any
    such block factors that way). Exact over the rationals.
    """
    m = _as_matrix(M)
    if m.cols != 2 * D:
        raise ValueError(f"M must have 2D = {2 * D} columns, got {m.cols}")
    return all(m[:, cols].rank() <= d for cols in (slice(0, D), slice(D, 2 * D)))


def is_early_reachable(
    M: sp.Matrix | np.ndarray | Sequence[Sequence[object]], D: int, d: int
) -> bool:
    """Whether ``M`` (``K x 2D``) is an early-fusion effective matrix: rank ``<= 2d``."""
    m = _as_matrix(M)
    if m.cols != 2 * D:
        raise ValueError(f"M must have 2D = {2 * D} columns, got {m.cols}")
    return m.rank() <= 2 * d


# ------------------------------------------------------------ polynomial constraints
def generic_output_matrix(K: int, D: int) -> sp.Matrix:
    """The ``K x 2D`` matrix of coordinate symbols ``m{i}_{j}`` (1-based)."""
    return sp.Matrix(K, 2 * D, lambda i, j: sp.Symbol(f"m{i + 1}_{j + 1}"))


def _minors(m: sp.Matrix, size: int) -> list[sp.Expr]:
    if size > min(m.shape):
        return []
    out = []
    for rows in itertools.combinations(range(m.rows), size):
        for cols in itertools.combinations(range(m.cols), size):
            out.append(sp.expand(m.extract(list(rows), list(cols)).det()))
    return out


def late_constraints(*, D: int, d: int, K: int, matrix: sp.Matrix | None = None) -> list[sp.Expr]:
    """Polynomials that vanish on every late-fusion matrix.

    All ``(d+1) x (d+1)`` minors of the two ``K x D`` blocks of ``matrix`` (default:
    :func:`generic_output_matrix`). Empty when ``d >= min(K, D)``: then late fusion
    reaches every ``K x 2D`` matrix.
    """
    m = generic_output_matrix(K, D) if matrix is None else matrix
    return _minors(m[:, :D], d + 1) + _minors(m[:, D:], d + 1)


def early_constraints(*, D: int, d: int, K: int, matrix: sp.Matrix | None = None) -> list[sp.Expr]:
    """Polynomials that vanish on every early-fusion matrix: the ``(2d+1)``-minors."""
    m = generic_output_matrix(K, D) if matrix is None else matrix
    return _minors(m, 2 * d + 1)


def implicitize(
    design: Design,
    *,
    D: int,
    d: int,
    K: int,
    p: int | None = None,
    steps: int = 2,
    context: Context = "add",
) -> list[sp.Expr]:
    """Groebner-basis implicitisation of a design's image (small sizes only).

    Eliminates the weights from the ideal ``<m_ij - M_ij(weights)>`` with a lex
    order (weights first) and returns the basis elements free of weights: they
    generate the ideal of polynomials vanishing on the image (its Zariski closure,
    over the complex numbers). An empty list means no constraint: the image is
    dense. Cost grows fast; intended for ``K, D <= 2`` and ``d = 1``.
    """
    matrix, blocks = effective_matrix(design, D=D, d=d, K=K, p=p, steps=steps, context=context)
    coords = generic_output_matrix(K, D)
    weights = [s for b in blocks.values() for s in b]
    eqs = [coords[i] - matrix[i] for i in range(len(coords))]
    basis = sp.groebner(eqs, *weights, *list(coords), order="lex")
    wset = set(weights)
    return [g for g in basis.exprs if not (g.free_symbols & wset)]


# ------------------------------------------------------------ block expansions
def _nc(names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, commutative=False)


def block_expansion(design: Design, context: Context = "add") -> sp.Matrix:
    """The 2 x 2 block expansion of the effective matrix, as non-commutative symbols.

    The head is split into output blocks ``F = [[F11, F12], [F21, F22]]`` (``F_ij``
    maps modality ``j``'s ``d`` features to output block ``i``). Early fusion
    expands ``F W`` with ``W = [[W11, W12], [W21, W22]]``; late fusion uses
    ``W = blockdiag(W11, W22)``; pro fusion (``R = 2``) expands
    ``F (Wd + G Wd)`` with ``G = Wd V`` ("add": ``G_ij = W_ii V_ij``, ``d x d``)
    or ``G = U A`` ("concat": ``G_ij = U_i A_j``).
    """
    f11, f12, f21, f22 = _nc("F11 F12 F21 F22")
    w11, w12, w21, w22 = _nc("W11 W12 W21 W22")
    f = sp.Matrix([[f11, f12], [f21, f22]])
    if design == "early":
        w = sp.Matrix([[w11, w12], [w21, w22]])
    elif design == "late":
        w = sp.Matrix([[w11, 0], [0, w22]])
    elif design == "pro":
        wd = sp.Matrix([[w11, 0], [0, w22]])
        if context == "add":
            v11, v12, v21, v22 = _nc("V11 V12 V21 V22")
            g = wd * sp.Matrix([[v11, v12], [v21, v22]])
        else:
            u1, u2, a1, a2 = _nc("U1 U2 A1 A2")
            g = sp.Matrix([[u1], [u2]]) * sp.Matrix([[a1, a2]])
        w = wd + g * wd
    else:
        raise ValueError(f"design must be one of {_DESIGNS}, got {design!r}")
    return (f * w).applyfunc(sp.expand)


def check_block_expansion_explicit(
    *, D: int = 2, d: int = 1, K1: int = 1, K2: int = 1, seed: int = 0
) -> bool:
    """Check the non-commutative early expansion against explicit matrices.

    Builds random integer ``F`` ((K1+K2) x 2d) and ``W`` (2d x 2D), splits them
    into blocks, substitutes the blocks into :func:`block_expansion` and compares
    with the explicit product ``F W``.
    """
    rng = np.random.default_rng(seed)
    f = sp.Matrix(random_point(rng, (K1 + K2, 2 * d)))
    w = sp.Matrix(random_point(rng, (2 * d, 2 * D)))
    fb = {(0, 0): f[:K1, :d], (0, 1): f[:K1, d:], (1, 0): f[K1:, :d], (1, 1): f[K1:, d:]}
    wb = {(0, 0): w[:d, :D], (0, 1): w[:d, D:], (1, 0): w[d:, :D], (1, 1): w[d:, D:]}
    expansion = block_expansion("early")
    names = {f"F{i + 1}{j + 1}": fb[i, j] for i in range(2) for j in range(2)}
    names |= {f"W{i + 1}{j + 1}": wb[i, j] for i in range(2) for j in range(2)}
    rows = [[evaluate_blocks(expansion[i, j], names) for j in range(2)] for i in range(2)]
    return sp.BlockMatrix(rows).as_explicit() == f * w


def evaluate_blocks(expr: sp.Expr, blocks: dict[str, object]) -> object:
    """A non-commutative block polynomial (e.g. an entry of :func:`block_expansion`)
    with each symbol replaced by ``blocks[name]``, a matrix or a ``MatrixSymbol``.

    sympy checks the shape of every product and sum, so with ``MatrixSymbol`` s a
    shape mismatch raises ``sympy.matrices.exceptions.ShapeError``.
    """
    total = None
    for term in sp.Add.make_args(expr):
        prod = None
        for factor in term.args if term.is_Mul else (term,):
            prod = blocks[str(factor)] if prod is None else prod * blocks[str(factor)]
        total = prod if total is None else total + prod
    return total
