"""The c = 0 identity of Pro-Fusion ("Technical Analysis", eqs. 7-9), proved with sympy.

Set-up
------
A base late-fusion model ``F(x) = P(F(G_1(x_1), ..., G_n(x_n)))`` with ``n``
modalities ``x_i`` in ``R^D``. Each encoder is a first affine layer followed by an
arbitrary function, ``G_i(z) = g_i(A_i z + a_i)`` (``A_i``: ``m x D``), where
``g_i``, the fusion ``F`` (``q`` outputs) and the head ``P`` are *undefined*
sympy functions, so a proof holds for every choice of them.

Pro-fusion unrolls ``c_t = F(G^_1(x_1, c_{t-1}), ...)`` from ``c_0 = 0`` for ``R``
steps and outputs ``P(c_R)``, with

- ``context="add"`` (eq. 7): ``G^_i(x, c) = G_i(x + W_i c)``, ``W_i``: ``D x q``;
- ``context="concat"`` (appendix): ``G^_i(x, c) = g_i(A'_i x + C_i (W_i c) + a_i)``,
  the first layer widened by columns ``C_i`` (``m x p``), ``W_i``: ``p x q``.

The stated conditions are: the back-projection has no bias (``W_i(0) = 0``), and
for "concat" the widened layer keeps the original weights on the ``x`` part
(``A'_i = A_i``). Under them, ``c = 0`` gives the base model: with ``R = 1`` for
any ``W_i``, and for every ``R`` when all ``W_i = 0``.
:func:`prove_identity` simplifies ``pro - base`` to zero;
:func:`find_counterexample` drops one condition and exhibits exact numbers for
which the two models differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import sympy as sp

from ._exact import random_point

__all__ = [
    "COUNTEREXAMPLE_SETTING",
    "Counterexample",
    "IdentityProof",
    "find_counterexample",
    "prove_identity",
]

Context = Literal["add", "concat"]
Dropped = Literal["bias", "reinit"]
#: The model :func:`find_counterexample` evaluates (``_Model(..., concrete=True)``).
COUNTEREXAMPLE_SETTING = "R = 1, identity encoders, sum head, random integer weights"


@dataclass(frozen=True)
class _Sizes:
    n: int = 2
    D: int = 2
    m: int = 2  # first-layer width of each encoder
    h: int = 2  # outputs of each encoder
    q: int = 4  # fused vector c (= n * h, so that concatenation fits)
    p: int = 2  # back-projection width (concat form)


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}"))


def _vector(name: str, rows: int) -> sp.Matrix:
    return sp.Matrix(rows, 1, lambda i, _: sp.Symbol(f"{name}_{i + 1}"))


class _Model:
    """Symbolic base model and its pro-fusion extension (see module docstring).

    ``concrete=True`` replaces the undefined functions by identities (``g_i``,
    ``F`` concatenation) and a sum head, which keeps counterexamples explicit.
    """

    def __init__(self, sizes: _Sizes, context: Context, *, concrete: bool = False) -> None:
        s = self.s = sizes
        self.context = context
        self.concrete = concrete
        self.x = [_vector(f"x{i + 1}", s.D) for i in range(s.n)]
        self.A = [_matrix(f"A{i + 1}", s.m, s.D) for i in range(s.n)]
        self.a = [_vector(f"a{i + 1}", s.m) for i in range(s.n)]
        self.A_new = [_matrix(f"Anew{i + 1}", s.m, s.D) for i in range(s.n)]  # re-initialised
        if context == "add":
            self.W = [_matrix(f"W{i + 1}", s.D, s.q) for i in range(s.n)]
            self.beta = [_vector(f"beta{i + 1}", s.D) for i in range(s.n)]
        else:
            self.W = [_matrix(f"W{i + 1}", s.p, s.q) for i in range(s.n)]
            self.beta = [_vector(f"beta{i + 1}", s.p) for i in range(s.n)]
            self.C = [_matrix(f"C{i + 1}", s.m, s.p) for i in range(s.n)]
        self.g = [[sp.Function(f"g{i + 1}_{k + 1}") for k in range(s.h)] for i in range(s.n)]
        self.fuse = [sp.Function(f"F_{k + 1}") for k in range(s.q)]
        self.head = sp.Function("P")

    # -- pieces ------------------------------------------------------------------
    def _g(self, i: int, pre: sp.Matrix) -> list[sp.Expr]:
        if self.concrete:
            return list(pre)[: self.s.h]
        return [gk(*pre) for gk in self.g[i]]

    def _fusion(self, feats: list[list[sp.Expr]]) -> sp.Matrix:
        flat = [f for fs in feats for f in fs]
        if self.concrete:
            return sp.Matrix(flat[: self.s.q])
        return sp.Matrix([fk(*flat) for fk in self.fuse])

    def _head(self, c: sp.Matrix) -> sp.Expr:
        return sp.Add(*c) if self.concrete else self.head(*c)

    def base(self) -> sp.Expr:
        feats = [self._g(i, self.A[i] * self.x[i] + self.a[i]) for i in range(self.s.n)]
        return self._head(self._fusion(feats))

    def pro(self, steps: int, *, biased: bool = False, reinit: bool = False) -> sp.Expr:
        c = sp.zeros(self.s.q, 1)
        for _ in range(steps):
            feats = []
            for i in range(self.s.n):
                back = self.W[i] * c + (self.beta[i] if biased else sp.zeros(*self.beta[i].shape))
                if self.context == "add":
                    pre = self.A[i] * (self.x[i] + back) + self.a[i]
                else:
                    a_x = self.A_new[i] if reinit else self.A[i]
                    pre = a_x * self.x[i] + self.C[i] * back + self.a[i]
                feats.append(self._g(i, pre))
            c = self._fusion(feats)
        return self._head(c)

    def weight_symbols(self) -> list[sp.Symbol]:
        return [s for w in self.W for s in w]


@dataclass(frozen=True)
class IdentityProof:
    """Result of :func:`prove_identity`: ``residual`` is ``pro - base``, simplified.

    sympy brings both sides to a canonical form; a residual of exactly 0 is the
    proof. (Full ``sympy.simplify`` is not needed, and is slow on nested undefined
    functions when the residual is not zero.)
    """

    context: Context
    condition: str
    steps: int
    residual: sp.Expr

    @property
    def holds(self) -> bool:
        return self.residual == 0


def prove_identity(
    context: Context, *, steps: int = 1, zero_backprojection: bool = False, n: int = 2, D: int = 2
) -> IdentityProof:
    """Simplify ``pro - base`` to zero under the stated conditions.

    Parameters
    ----------
    context: "add" or "concat".
    steps: unroll steps ``R``. With ``zero_backprojection=False`` the back-projection
        ``W_i`` stays symbolic, which only gives the base model for ``R = 1`` (the
        identity ``F^(x, c = 0) = F(x)``); with ``zero_backprojection=True`` every
        ``W_i`` is set to 0 and any ``R`` works.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    model = _Model(_Sizes(n=n, D=D), context)
    pro = model.pro(steps)
    if zero_backprojection:
        pro = pro.subs({w: 0 for w in model.weight_symbols()})
    residual = pro - model.base()  # sympy's automatic canonicalisation
    if residual != 0:
        residual = sp.expand(residual)
    condition = "bias-free back-projection"
    if context == "concat":
        condition += ", widened first layer keeps the x weights"
    condition += ", all W_i = 0" if zero_backprojection else ""
    return IdentityProof(context, condition, steps, residual)


@dataclass(frozen=True)
class Counterexample:
    """Result of :func:`find_counterexample`.

    ``symbolic_residual``: ``pro - base`` for identity encoders, concatenation and
    a sum head (a polynomial in the weights, nonzero); ``values``: exact weights
    and inputs; ``difference``: ``pro - base`` at those values (nonzero).
    """

    context: Context
    dropped: str
    symbolic_residual: sp.Expr
    values: dict[sp.Symbol, sp.Integer]
    difference: sp.Rational

    @property
    def found(self) -> bool:
        return self.difference != 0


def find_counterexample(
    context: Context, dropped: Dropped = "bias", *, seed: int = 0
) -> Counterexample:
    """Drop one condition and find exact numbers where ``c = 0`` is not the base model.

    ``dropped="bias"``: the back-projection is affine, ``W_i c + beta_i`` (as
    ``nn.Linear`` with its default ``bias=True``); ``dropped="reinit"``
    ("concat" only): the widened first layer's ``x`` weights are re-initialised.
    The model uses identity encoders after the first layer, concatenation as
    fusion and a sum head, with ``R = 1``; the values are random integers.
    """
    if dropped == "reinit" and context != "concat":
        raise ValueError("dropped='reinit' applies to context='concat' only")
    if dropped not in ("bias", "reinit"):
        raise ValueError(f"dropped must be 'bias' or 'reinit', got {dropped!r}")
    model = _Model(_Sizes(), context, concrete=True)
    pro = model.pro(1, biased=dropped == "bias", reinit=dropped == "reinit")
    residual = sp.expand(pro - model.base())
    symbols = sorted(residual.free_symbols, key=str)
    values = random_point(np.random.default_rng(seed), (len(symbols),))
    point = {s: sp.Integer(v) for s, v in zip(symbols, values, strict=True)}
    difference = sp.Rational(residual.subs(point))
    label = (
        "biased back-projection W_i c + beta_i"
        if dropped == "bias"
        else "widened layer's x weights re-initialised"
    )
    return Counterexample(context, label, residual, point, difference)
