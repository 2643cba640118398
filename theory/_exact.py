"""Exact forward-mode differentiation and exact ranks (private helpers).

Everything here works on numpy ``object`` arrays whose entries are Python integers,
``fractions.Fraction`` or sympy expressions, so no floating point is ever involved.

- :class:`Dual` carries a value array of shape ``(r, c)`` and, optionally, its
  tangent with respect to every parameter at once, shape ``(P, r, c)``. Products
  follow the product rule exactly, so the tangent of the output *is* the Jacobian
  of the parametrisation at the chosen point.
- :func:`exact_rank` computes the rank over the rationals with sympy's
  ``DomainMatrix`` (fraction-free, exact).
- :func:`random_point` draws the evaluation point: integers (rationals with
  denominator 1) from a seeded numpy generator. By the Schwartz-Zippel lemma the
  Jacobian rank at such a point equals the generic rank unless the point lies on
  a proper algebraic subset, which happens with small probability; a rank at a
  point is always a certified *lower* bound of the generic rank.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

import numpy as np
from sympy import QQ, ZZ, Rational
from sympy.polys.matrices import DomainMatrix

__all__ = [
    "POINT_RANGE",
    "Dual",
    "dual_leaves",
    "exact_rank",
    "hstack",
    "random_point",
    "vstack",
]

#: Half-width of the integer range the random evaluation points are drawn from.
POINT_RANGE = 1000


def random_point(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Integer-valued (hence rational) random array of Python ints, dtype object.

    Zero is excluded so that no parameter is accidentally switched off.
    """
    size = int(np.prod(shape, dtype=np.int64))
    mags = rng.integers(1, POINT_RANGE + 1, size=size)
    signs = rng.choice(np.array([-1, 1]), size=size)
    out = np.empty(size, dtype=object)
    out[:] = [int(m) * int(s) for m, s in zip(mags, signs, strict=True)]
    return out.reshape(shape)


class Dual:
    """A matrix together with its tangents with respect to all parameters.

    Parameters
    ----------
    value:
        object array of shape ``(r, c)``.
    tangent:
        object array of shape ``(P, r, c)`` (derivative of every entry with respect
        to each of the ``P`` parameters), or ``None`` for a constant.
    """

    __slots__ = ("value", "tangent")
    # Make numpy defer ``ndarray @ Dual`` and ``ndarray + Dual`` to our methods.
    __array_ufunc__ = None

    def __init__(self, value: np.ndarray, tangent: np.ndarray | None = None) -> None:
        self.value = value
        self.tangent = tangent

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    # -- arithmetic ------------------------------------------------------------
    def __matmul__(self, other: Dual | np.ndarray) -> Dual:
        other = _as_dual(other)
        value = self.value @ other.value
        tangent = _add_t(
            None if self.tangent is None else self.tangent @ other.value,
            None if other.tangent is None else self.value @ other.tangent,
        )
        return Dual(value, tangent)

    def __rmatmul__(self, other: np.ndarray) -> Dual:
        return _as_dual(other) @ self

    def __add__(self, other: Dual | np.ndarray) -> Dual:
        other = _as_dual(other)
        return Dual(self.value + other.value, _add_t(self.tangent, other.tangent))

    __radd__ = __add__

    def __neg__(self) -> Dual:
        return Dual(-self.value, None if self.tangent is None else -self.tangent)

    def __sub__(self, other: Dual | np.ndarray) -> Dual:
        return self + (-_as_dual(other))

    def __rsub__(self, other: np.ndarray) -> Dual:
        return _as_dual(other) + (-self)

    def __getitem__(self, rows: slice | Sequence[int] | np.ndarray) -> Dual:
        """Select rows (first axis) of the value, and the same rows of the tangent."""
        value = self.value[rows]
        tangent = None if self.tangent is None else self.tangent[:, rows]
        return Dual(value, tangent)

    def jacobian(self, n_params: int) -> np.ndarray:
        """Jacobian as an object array of shape ``(r * c, P)`` (row-major entries)."""
        r, c = self.value.shape
        if self.tangent is None:
            out = np.empty((r * c, n_params), dtype=object)
            out[:] = 0
            return out
        return self.tangent.reshape(n_params, r * c).T


def _as_dual(x: Dual | np.ndarray) -> Dual:
    if isinstance(x, Dual):
        return x
    return Dual(np.asarray(x, dtype=object), None)


def _add_t(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _zeros_like_tangent(n_params: int, shape: tuple[int, int]) -> np.ndarray:
    out = np.empty((n_params, *shape), dtype=object)
    out[:] = 0
    return out


def vstack(blocks: Iterable[Dual | np.ndarray]) -> Dual | np.ndarray:
    """Stack blocks vertically; returns a plain array when no block is a Dual."""
    return _stack(blocks, np.vstack, tangent_axis=1)


def hstack(blocks: Iterable[Dual | np.ndarray]) -> Dual | np.ndarray:
    """Stack blocks horizontally; returns a plain array when no block is a Dual."""
    return _stack(blocks, np.hstack, tangent_axis=2)


def _stack(blocks, stack, *, tangent_axis: int) -> Dual | np.ndarray:
    """``stack`` the values; the tangents ``(n_params, rows, cols)`` along the same axis."""
    blocks = list(blocks)
    if not any(isinstance(b, Dual) for b in blocks):
        return stack([np.asarray(b, dtype=object) for b in blocks])
    duals = [_as_dual(b) for b in blocks]
    n_params = next(b.tangent.shape[0] for b in duals if b.tangent is not None)
    value = stack([b.value for b in duals])
    tangent = np.concatenate(
        [
            b.tangent if b.tangent is not None else _zeros_like_tangent(n_params, b.value.shape)
            for b in duals
        ],
        axis=tangent_axis,
    )
    return Dual(value, tangent)


def dual_leaves(
    shapes: dict[str, tuple[int, int]], rng: np.random.Generator
) -> tuple[dict[str, Dual], int]:
    """Independent parameter blocks at a random integer point, with one-hot tangents.

    Returns the blocks by name and the total number of scalar parameters ``P``.
    """
    n_params = sum(r * c for r, c in shapes.values())
    leaves: dict[str, Dual] = {}
    offset = 0
    for name, (r, c) in shapes.items():
        value = random_point(rng, (r, c))
        tangent = _zeros_like_tangent(n_params, (r, c))
        for i in range(r):
            for j in range(c):
                tangent[offset + i * c + j, i, j] = 1
        leaves[name] = Dual(value, tangent)
        offset += r * c
    return leaves, n_params


def _to_domain_element(v: object) -> tuple[object, bool]:
    if isinstance(v, int | np.integer):
        return int(v), False
    if isinstance(v, Fraction):
        return v, True
    r = Rational(v)
    return (int(r), False) if r.q == 1 else (Fraction(int(r.p), int(r.q)), True)


#: A prime below 2**31, so that products of two residues fit in int64.
_PRIME = 2_147_483_647


def _rank_mod_prime(converted: list[list[tuple[object, bool]]]) -> int | None:
    """Rank over GF(_PRIME), or None if a denominator is divisible by the prime."""
    rows = []
    for row in converted:
        out = []
        for v, is_fraction in row:
            if is_fraction:
                if v.denominator % _PRIME == 0:
                    return None
                out.append(v.numerator * pow(v.denominator, -1, _PRIME) % _PRIME)
            else:
                out.append(v % _PRIME)
        rows.append(out)
    a = np.array(rows, dtype=np.int64)
    rank = 0
    n_rows, n_cols = a.shape
    for col in range(n_cols):
        if rank == n_rows:
            break
        pivots = np.flatnonzero(a[rank:, col]) + rank
        if pivots.size == 0:
            continue
        piv = pivots[0]
        a[[rank, piv]] = a[[piv, rank]]
        a[rank] = a[rank] * pow(int(a[rank, col]), -1, _PRIME) % _PRIME
        factors = a[:, col].copy()
        factors[rank] = 0
        a = (a - (factors[:, None] * a[rank][None, :]) % _PRIME) % _PRIME
        rank += 1
    return rank


def exact_rank(matrix: np.ndarray | Sequence[Sequence[object]]) -> int:
    """Rank over the rationals of a matrix of ints, Fractions or sympy Rationals.

    Fast path: zero rows and columns are dropped and the rank modulo a large prime
    is computed; it never exceeds the rational rank, so when it equals the number
    of remaining rows or columns it *is* the rational rank. Otherwise sympy's
    exact fraction-free elimination (``DomainMatrix.rank``) decides.
    """
    arr = np.asarray(matrix, dtype=object)
    if arr.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {arr.shape}")
    nonzero = arr != 0
    arr = arr[nonzero.any(axis=1)][:, nonzero.any(axis=0)]
    if arr.size == 0:
        return 0
    converted = [[_to_domain_element(v) for v in row] for row in arr]
    if _rank_mod_prime(converted) == min(arr.shape):
        return min(arr.shape)
    rational = any(flag for row in converted for _, flag in row)
    if rational:
        rows = [
            [QQ(v.numerator, v.denominator) if flag else QQ(v) for v, flag in row]
            for row in converted
        ]
        dm = DomainMatrix(rows, arr.shape, QQ)
    else:
        dm = DomainMatrix([[ZZ(v) for v, _ in row] for row in converted], arr.shape, ZZ)
    return int(dm.rank())
