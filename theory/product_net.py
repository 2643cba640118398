"""The pairwise-product network: its parameters and its exact forward pass.

The network of the appendix "Multiplicative Nonlinearity", run on truncated
polynomials so that every output coefficient is exact.

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

The forward pass (:func:`forward`) runs the network on polynomial coefficient
arrays over a :class:`Basis` of monomials: with integer or symbolic weights it
computes the output polynomial (with :class:`._exact.Dual` weights also its
Jacobian), with 0/1 weights the support of monomials that can appear.
The analyses built on it (monomials by multidegree, Jacobian dimensions of
parts, counts) are in :mod:`.multiplicative`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import sympy as sp

from ._exact import Dual, random_point, vstack

__all__ = ["Basis", "Design", "ProductNet", "forward", "random_weights", "symbolic_weights"]

Design = Literal["early", "late", "pro"]
_DESIGNS = ("early", "late", "pro")
_CONTEXTS = ("add", "concat")


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
class Basis:
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


def _pmul(basis: Basis, a: Dual | np.ndarray, b: Dual | np.ndarray) -> Dual | np.ndarray:
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


def forward(net: ProductNet, w: dict, basis: Basis, dtype: type) -> Dual | np.ndarray:
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


# ------------------------------------------------------------------------ weights
def random_weights(net: ProductNet, seed: int) -> dict[str, np.ndarray]:
    """Every weight block as random integers drawn with ``seed`` (a generic point)."""
    rng = np.random.default_rng(seed)
    return {k: random_point(rng, s) for k, s in net.parameter_shapes().items()}


def symbolic_weights(net: ProductNet) -> dict[str, np.ndarray]:
    """Every weight a sympy symbol ``{block}_{row}_{col}`` (tiny networks only)."""
    out = {}
    for k, (r, c) in net.parameter_shapes().items():
        arr = np.empty((r, c), dtype=object)
        for i in range(r):
            for j in range(c):
                arr[i, j] = sp.Symbol(f"{k}_{i}_{j}")
        out[k] = arr
    return out
