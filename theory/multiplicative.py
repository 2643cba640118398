"""The pairwise-product network of the appendix ("Multiplicative Nonlinearity").

Set-up (SPEC section 7, the paper's notation made explicit)
-----------------------------------------------------------
``n`` modalities ``X^1, ..., X^n``, each in ``R^D``; component ``j`` of modality
``i`` is the symbol ``x{i}_{j}`` (the paper's ``X_j^i``). A *product layer* of
width ``m`` maps ``v`` to ``h`` with

    u = W v (+ b),        h_k = u_{2k} u_{2k+1},   k = 0..m-1,

so each output is the product of two linear forms of the input (``W`` has ``2m``
rows). The designs:

- **late**: per modality a product layer of width ``width1`` (``G_i``), the outputs
  concatenated (``c``, ``n * width1`` entries; the fusion ``F``), then a product
  layer of width ``width2`` (the head ``P``);
- **early**: the inputs concatenated, a product layer of width ``n * width1`` (the
  same number of first-layer features as late fusion), then the head;
- **pro**: the late network unrolled ``steps`` times with a bias-free linear
  back-projection of ``c`` (``c_0 = 0``); ``context="add"`` feeds
  ``x_i + B_i (A c)`` to ``G_i``, ``context="concat"`` widens ``G_i``'s first
  layer by columns ``U_i`` acting on ``A c``; ``A`` (``p x n*width1``) is the
  shared back-projection of width ``p`` (``p=None``: no bottleneck, the context is
  ``c`` itself).

The output is the sum of the head's features, ``y = sum_k h_k`` (a linear read-out
would only rescale them). Without biases every product layer doubles the degree,
so late and early outputs are quartic forms; with biases (or pro fusion's extra
passes) lower and higher degrees appear, and all computations truncate at a
chosen total degree, which is exact for every part up to that degree.

Three exact views of the output polynomial are provided:

- *generic coefficients* at random integer weights (a monomial found there is
  realised by an explicit choice of weights);
- *symbolic coefficients* with every weight a sympy symbol (tiny networks only):
  a coefficient that expands to 0 vanishes for every choice of weights;
- *support propagation*: the set of monomials that can possibly appear, obtained by
  running the network with every weight and input replaced by "nonzero" (a sound
  over-approximation for every size). When it agrees with the generic support,
  the set of monomials is decided exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from math import comb
from typing import Literal

import numpy as np
import sympy as sp

from ._exact import Dual, dual_leaves, exact_rank, random_point, vstack

__all__ = [
    "MonomialCounts",
    "ProductNet",
    "jacobian_dimension",
    "jacobian_dimensions",
    "part_size",
    "monomial_counts",
    "monomials_by_multidegree",
    "multidegree",
    "output_polynomial",
    "support_by_multidegree",
    "symbolic_absent",
]

Design = Literal["early", "late", "pro"]
_DESIGNS = ("early", "late", "pro")
_CONTEXTS = ("add", "concat")
Part = str | int | Iterable[tuple[int, ...]]


@dataclass(frozen=True)
class ProductNet:
    """A pairwise-product fusion network (see the module docstring).

    Parameters
    ----------
    design: "early" | "late" | "pro".
    n: number of modalities (>= 1).
    D: inputs per modality (>= 1).
    width1: product features per modality in the first layer (early: ``n*width1``).
    width2: product features in the head.
    bias: whether every product layer has a bias ``b`` (back-projections never do).
    p: back-projection width (pro only); ``None`` for no bottleneck.
    steps: unroll steps ``R`` (pro only); ``R = 1`` is the late network.
    context: "add" (``x + B A c``) or "concat" (widened first layer), pro only.
    """

    design: Design
    n: int = 2
    D: int = 2
    width1: int = 3
    width2: int = 3
    bias: bool = False
    p: int | None = None
    steps: int = 2
    context: Literal["add", "concat"] = "add"

    def __post_init__(self) -> None:
        if self.design not in _DESIGNS:
            raise ValueError(f"design must be one of {_DESIGNS}, got {self.design!r}")
        if self.context not in _CONTEXTS:
            raise ValueError(f"context must be one of {_CONTEXTS}, got {self.context!r}")
        for name in ("n", "D", "width1", "width2", "steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.p is not None and (not isinstance(self.p, int) or self.p < 1):
            raise ValueError(f"p must be None or an integer >= 1, got {self.p!r}")

    @property
    def n_inputs(self) -> int:
        return self.n * self.D

    def parameter_shapes(self) -> dict[str, tuple[int, int]]:
        """Weight blocks by name -> (rows, cols)."""
        n, D, m1, m2 = self.n, self.D, self.width1, self.width2
        shapes: dict[str, tuple[int, int]] = {}
        if self.design == "early":
            shapes["W1"] = (2 * n * m1, n * D)
            if self.bias:
                shapes["b1"] = (2 * n * m1, 1)
        else:
            for i in range(n):
                shapes[f"W1_{i}"] = (2 * m1, D)
                if self.bias:
                    shapes[f"b1_{i}"] = (2 * m1, 1)
        if self.design == "pro":
            width_ctx = n * m1 if self.p is None else self.p
            if self.p is not None:
                shapes["A"] = (self.p, n * m1)
            for i in range(n):
                if self.context == "add":
                    shapes[f"B_{i}"] = (D, width_ctx)
                else:
                    shapes[f"U_{i}"] = (2 * m1, width_ctx)
        shapes["W2"] = (2 * m2, n * m1)
        if self.bias:
            shapes["b2"] = (2 * m2, 1)
        return shapes


# ------------------------------------------------------------------ polynomial basis
@dataclass(frozen=True)
class _Basis:
    """Monomials in ``N`` variables up to total degree ``T`` and their product table."""

    N: int
    T: int
    exps: tuple[tuple[int, ...], ...] = field(init=False)
    index: dict[tuple[int, ...], int] = field(init=False)
    left: np.ndarray = field(init=False)
    right: np.ndarray = field(init=False)
    starts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        exps = []
        for deg in range(self.T + 1):
            for combo in itertools.combinations_with_replacement(range(self.N), deg):
                e = [0] * self.N
                for v in combo:
                    e[v] += 1
                exps.append(tuple(e))
        exps.sort(key=lambda e: (sum(e), tuple(-x for x in e)))
        index = {e: k for k, e in enumerate(exps)}
        triples = []
        for i, ei in enumerate(exps):
            for j, ej in enumerate(exps):
                if sum(ei) + sum(ej) <= self.T:
                    triples.append((index[tuple(a + b for a, b in zip(ei, ej, strict=True))], i, j))
        triples.sort()
        ks = np.array([t[0] for t in triples])
        starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        object.__setattr__(self, "exps", tuple(exps))
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "left", np.array([t[1] for t in triples]))
        object.__setattr__(self, "right", np.array([t[2] for t in triples]))
        object.__setattr__(self, "starts", starts)

    @property
    def size(self) -> int:
        return len(self.exps)

    def mul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Truncated product of polynomial arrays ``(..., size)`` (broadcasting)."""
        prod = a[..., self.left] * b[..., self.right]
        out = np.add.reduceat(prod, self.starts, axis=-1)
        if out.dtype != object:  # support mode: 0/1 integers
            out = (out != 0).astype(np.int64)
        return out

    def variables(self, dtype: type = object) -> np.ndarray:
        """The ``N`` input variables as polynomial rows, shape ``(N, size)``."""
        out = np.zeros((self.N, self.size), dtype=np.int64)
        for v in range(self.N):
            e = [0] * self.N
            e[v] = 1
            out[v, self.index[tuple(e)]] = 1
        return out.astype(dtype)

    def constant_row(self, dtype: type = object) -> np.ndarray:
        out = np.zeros((1, self.size), dtype=np.int64)
        out[0, 0] = 1
        return out.astype(dtype)


def _pmul(basis: _Basis, a: Dual | np.ndarray, b: Dual | np.ndarray) -> Dual | np.ndarray:
    if not isinstance(a, Dual) and not isinstance(b, Dual):
        return basis.mul(a, b)
    a = a if isinstance(a, Dual) else Dual(a)
    b = b if isinstance(b, Dual) else Dual(b)
    value = basis.mul(a.value, b.value)
    tangent = None
    if a.tangent is not None:
        tangent = basis.mul(a.tangent, b.value[None])
    if b.tangent is not None:
        t = basis.mul(a.value[None], b.tangent)
        tangent = t if tangent is None else tangent + t
    return Dual(value, tangent)


def _normalise(x: Dual | np.ndarray) -> Dual | np.ndarray:
    if isinstance(x, np.ndarray) and x.dtype != object:
        return (x != 0).astype(np.int64)
    return x


def _forward(net: ProductNet, w: dict, basis: _Basis, dtype: type) -> Dual | np.ndarray:
    """Output polynomial ``y`` as a ``(1, size)`` array (or Dual) of coefficients."""
    xs = basis.variables(dtype)
    x_mod = [xs[i * net.D : (i + 1) * net.D] for i in range(net.n)]
    const = basis.constant_row(dtype)

    def product_layer(u: Dual | np.ndarray) -> Dual | np.ndarray:
        return _pmul(basis, u[0::2], u[1::2])

    def affine(weight: object, v: object, bias_name: str) -> Dual | np.ndarray:
        u = _normalise(weight @ v)
        if net.bias:
            u = _normalise(u + w[bias_name] @ const)
        return u

    if net.design == "early":
        c = product_layer(affine(w["W1"], xs, "b1"))
    else:
        c = np.zeros((net.n * net.width1, basis.size), dtype=np.int64).astype(dtype)
        passes = net.steps if net.design == "pro" else 1
        for _ in range(passes):
            ctx = _normalise(w["A"] @ c) if net.design == "pro" and net.p is not None else c
            feats = []
            for i in range(net.n):
                if net.design == "pro" and net.context == "add":
                    u = affine(w[f"W1_{i}"], _normalise(x_mod[i] + w[f"B_{i}"] @ ctx), f"b1_{i}")
                else:
                    u = affine(w[f"W1_{i}"], x_mod[i], f"b1_{i}")
                    if net.design == "pro":
                        u = _normalise(u + w[f"U_{i}"] @ ctx)
                feats.append(product_layer(u))
            c = vstack(feats)
    h = product_layer(affine(w["W2"], c, "b2"))
    ones = np.ones((1, net.width2), dtype=np.int64).astype(dtype)
    return _normalise(ones @ h)


# ------------------------------------------------------------------ public functions
def multidegree(exps: tuple[int, ...], n: int, D: int) -> tuple[int, ...]:
    """Degrees per modality of a monomial given by its exponent tuple (length nD)."""
    return tuple(sum(exps[i * D : (i + 1) * D]) for i in range(n))


def _symbols(n: int, D: int) -> list[sp.Symbol]:
    return [sp.Symbol(f"x{i + 1}_{j + 1}") for i in range(n) for j in range(D)]


def _monomial(exps: tuple[int, ...], n: int, D: int) -> sp.Expr:
    return sp.Mul(*[s**e for s, e in zip(_symbols(n, D), exps, strict=True)])


def _random_weights(net: ProductNet, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: random_point(rng, s) for k, s in net.parameter_shapes().items()}


def _symbolic_weights(net: ProductNet) -> dict[str, np.ndarray]:
    out = {}
    for k, (r, c) in net.parameter_shapes().items():
        arr = np.empty((r, c), dtype=object)
        for i in range(r):
            for j in range(c):
                arr[i, j] = sp.Symbol(f"{k}_{i}_{j}")
        out[k] = arr
    return out


def output_polynomial(
    net: ProductNet, *, max_degree: int = 4, seed: int = 0, symbolic: bool = False
) -> dict[tuple[int, ...], object]:
    """Coefficients of the output up to ``max_degree``: exponent tuple -> coefficient.

    With ``symbolic=False`` the weights are random integers drawn with ``seed``
    (coefficients are Python ints); with ``symbolic=True`` every weight is a sympy
    symbol and each coefficient is an expanded polynomial in the weights (tiny
    networks only). Zero coefficients are omitted.
    """
    basis = _Basis(net.n_inputs, max_degree)
    weights = _symbolic_weights(net) if symbolic else _random_weights(net, seed)
    y = _forward(net, weights, basis, object)[0]
    out = {}
    for e, coef in zip(basis.exps, y, strict=True):
        coef = sp.expand(coef) if symbolic else coef
        if coef != 0:
            out[e] = coef
    return out


def _group(exps: Iterable[tuple[int, ...]], n: int, D: int) -> dict[tuple[int, ...], list[sp.Expr]]:
    groups: dict[tuple[int, ...], list[sp.Expr]] = {}
    for e in sorted(exps, key=lambda e: (sum(e), tuple(-x for x in e))):
        groups.setdefault(multidegree(e, n, D), []).append(_monomial(e, n, D))
    return dict(sorted(groups.items(), key=lambda kv: (sum(kv[0]), tuple(-x for x in kv[0]))))


def monomials_by_multidegree(
    net: ProductNet, *, max_degree: int = 4, seed: int = 0
) -> dict[tuple[int, ...], list[sp.Expr]]:
    """Monomials of the output at random integer weights, grouped by multidegree.

    Every monomial listed is realised by an explicit weight choice (the one drawn
    with ``seed``). Compare with :func:`support_by_multidegree` for absence.
    """
    coeffs = output_polynomial(net, max_degree=max_degree, seed=seed)
    return _group(coeffs, net.n, net.D)


def support_by_multidegree(
    net: ProductNet, *, max_degree: int = 4
) -> dict[tuple[int, ...], list[sp.Expr]]:
    """Monomials that can appear for *some* weights, grouped by multidegree.

    Support propagation: every weight and input is replaced by "nonzero" and sums
    and products by "or" and "and". A monomial missing here has coefficient zero
    for every choice of weights (no cancellation is needed to remove it).
    """
    basis = _Basis(net.n_inputs, max_degree)
    weights = {k: np.ones(s, dtype=np.int64) for k, s in net.parameter_shapes().items()}
    y = _forward(net, weights, basis, np.int64)[0]
    exps = [e for e, flag in zip(basis.exps, y, strict=True) if flag]
    return _group(exps, net.n, net.D)


def symbolic_absent(
    net: ProductNet, multidegrees: Iterable[tuple[int, ...]], *, max_degree: int = 4
) -> bool:
    """True if every coefficient of the given multidegrees expands to 0 with symbolic
    weights (a proof, for this size, that no weight choice produces them)."""
    wanted = set(multidegrees)
    coeffs = output_polynomial(net, max_degree=max_degree, symbolic=True)
    return not any(multidegree(e, net.n, net.D) in wanted for e in coeffs)


def _part_mask(part: Part, basis: _Basis, n: int, D: int) -> list[int]:
    def md(e: tuple[int, ...]) -> tuple[int, ...]:
        return multidegree(e, n, D)

    if isinstance(part, str):
        if part == "all":
            keep = lambda e: True  # noqa: E731
        elif part == "degree4":
            keep = lambda e: sum(e) == 4  # noqa: E731
        elif part == "asymmetric":
            keep = lambda e: sum(e) == 4 and any(k % 2 for k in md(e))  # noqa: E731
        elif part == "symmetric":
            keep = lambda e: sum(e) == 4 and not any(k % 2 for k in md(e))  # noqa: E731
        else:
            raise ValueError(
                "part must be 'all', 'degree4', 'asymmetric', 'symmetric', a total "
                f"degree or a list of multidegrees, got {part!r}"
            )
    elif isinstance(part, int):
        keep = lambda e: sum(e) == part  # noqa: E731
    else:
        wanted = {tuple(m) for m in part}
        keep = lambda e: md(e) in wanted  # noqa: E731
    return [k for k, e in enumerate(basis.exps) if keep(e)]


def part_size(net: ProductNet, part: Part, *, max_degree: int = 4) -> int:
    """Number of monomials in a part (the ambient dimension of its coefficients)."""
    basis = _Basis(net.n_inputs, max_degree)
    return len(_part_mask(part, basis, net.n, net.D))


def jacobian_dimension(
    net: ProductNet, part: Part = "degree4", *, max_degree: int = 4, seed: int = 0
) -> int:
    """Dimension of the set of reachable output parts (generic Jacobian rank).

    The map ``weights -> coefficients of the chosen part of y`` is differentiated
    exactly (forward mode over the rationals) at random integer weights; its rank
    is the dimension of the set of polynomials the design realises in that part
    (a certified lower bound if the point were non-generic).

    ``part``: "all" (every monomial up to ``max_degree``), "degree4" (all quartic
    monomials), "asymmetric" (quartic monomials with an odd degree in some
    modality, for ``n = 2`` the bidegrees (3,1) and (1,3)), "symmetric" (the
    other quartic ones), an ``int`` total degree, or a list of multidegrees.
    """
    return jacobian_dimensions(net, {"part": part}, max_degree=max_degree, seed=seed)["part"]


def jacobian_dimensions(
    net: ProductNet, parts: dict[str, Part], *, max_degree: int = 4, seed: int = 0
) -> dict[str, int]:
    """:func:`jacobian_dimension` of several parts, sharing one forward pass."""
    basis = _Basis(net.n_inputs, max_degree)
    leaves, n_params = dual_leaves(net.parameter_shapes(), np.random.default_rng(seed))
    y = _forward(net, leaves, basis, object)
    jac = y.jacobian(n_params)
    return {
        name: exact_rank(jac[_part_mask(part, basis, net.n, net.D)]) for name, part in parts.items()
    }


# ------------------------------------------------------------------------ counts
@dataclass(frozen=True)
class MonomialCounts:
    """Exact feature and monomial counts for ``n`` modalities of dimension ``D``.

    ``*_features``: distinct pairwise products available to the first product layer
    (squares included, as in the paper's example of 10 products of 4 inputs);
    ``*_features_distinct``: products of two *different* inputs only;
    ``*_pairs``: pairwise products of the features available to the second layer
    (the paper's "parameters"), squares included; ``*_pairs_distinct``: products of
    two different distinct-input features; ``*_quartic``: distinct quartic
    monomials the second layer can produce; ``all_quartic``: all quartic monomials
    in ``nD`` variables. ``pro_quartic_bias`` / ``pro_quartic_nobias``: quartic
    monomials in the output of pro fusion (R = 2) with and without biases. (The
    paper's printed counts are in :mod:`.counting_claims`.)
    """

    n: int
    D: int
    early_features: int
    late_features: int
    early_pairs: int
    late_pairs: int
    early_features_distinct: int
    late_features_distinct: int
    early_pairs_distinct: int
    late_pairs_distinct: int
    early_quartic: int
    late_quartic: int
    pro_quartic_nobias: int
    pro_quartic_bias: int
    all_quartic: int


def _pairs(items: list[tuple[int, ...]]) -> set[tuple[int, ...]]:
    return {
        tuple(a + b for a, b in zip(u, v, strict=True))
        for u, v in itertools.combinations_with_replacement(items, 2)
    }


def monomial_counts(n: int, D: int) -> MonomialCounts:
    """Enumerate the first-layer features and quartic monomials of each design.

    Enumeration is over exponent tuples: the first layer of early fusion can form
    any product of two of the ``nD`` inputs, late fusion only products within a
    modality; the second layer forms products of two first-layer features. The
    pro-fusion counts come from :func:`support_by_multidegree` on a network wide
    enough to realise every product (``width1 = width2 =`` number of features).
    """
    if n < 1 or D < 1:
        raise ValueError(f"n and D must be >= 1, got n={n}, D={D}")
    N = n * D
    unit = [tuple(int(k == v) for k in range(N)) for v in range(N)]
    early_feats = sorted(_pairs(unit))
    late_feats = sorted(set().union(*(_pairs(unit[i * D : (i + 1) * D]) for i in range(n))))
    early_distinct = [f for f in early_feats if max(f) == 1]
    late_distinct = [f for f in late_feats if max(f) == 1]
    early_quartic = _pairs(early_feats)
    late_quartic = _pairs(late_feats)

    def pro_count(bias: bool) -> int:
        net = ProductNet(
            "pro", n=n, D=D, width1=len(late_feats) // n + 1, width2=len(late_feats) + 1, bias=bias
        )
        support = support_by_multidegree(net, max_degree=4)
        return sum(len(v) for k, v in support.items() if sum(k) == 4)

    return MonomialCounts(
        n=n,
        D=D,
        early_features=len(early_feats),
        late_features=len(late_feats),
        early_pairs=comb(len(early_feats) + 1, 2),
        late_pairs=comb(len(late_feats) + 1, 2),
        early_features_distinct=len(early_distinct),
        late_features_distinct=len(late_distinct),
        early_pairs_distinct=len(list(itertools.combinations(early_distinct, 2))),
        late_pairs_distinct=len(list(itertools.combinations(late_distinct, 2))),
        early_quartic=len(early_quartic),
        late_quartic=len(late_quartic),
        pro_quartic_nobias=pro_count(False),
        pro_quartic_bias=pro_count(True),
        all_quartic=comb(N + 3, 4),
    )
