"""What the pairwise-product network can express: its monomials and their counts.

The network itself (its parameters, designs and exact forward pass) is
:class:`.product_net.ProductNet`, re-exported here; see :mod:`.product_net` for
the set-up. Three exact views of the output polynomial are provided:

- *generic coefficients* at random integer weights (a monomial found there is
  realised by an explicit choice of weights);
- *symbolic coefficients* with every weight a sympy symbol (tiny networks only):
  a coefficient that expands to 0 vanishes for every choice of weights;
- *support propagation*: the set of monomials that can possibly appear, obtained by
  running the network with every weight and input replaced by "nonzero" (a sound
  over-approximation for every size). When it agrees with the generic support,
  the set of monomials is decided exactly.

On top of them: the dimension of each part of the output (generic Jacobian rank,
:func:`jacobian_dimension`) and the feature and monomial counts of each design
(:func:`monomial_counts`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from math import comb

import numpy as np
import sympy as sp

from ._exact import dual_leaves, exact_rank
from .product_net import Basis, ProductNet, forward, random_weights, symbolic_weights
from .product_net import Design as Design

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

Part = str | int | Iterable[tuple[int, ...]]


# ------------------------------------------------------------------ public functions
def multidegree(exps: tuple[int, ...], n: int, D: int) -> tuple[int, ...]:
    """Degrees per modality of a monomial given by its exponent tuple (length nD)."""
    return tuple(sum(exps[i * D : (i + 1) * D]) for i in range(n))


def _symbols(n: int, D: int) -> list[sp.Symbol]:
    return [sp.Symbol(f"x{i + 1}_{j + 1}") for i in range(n) for j in range(D)]


def _monomial(exps: tuple[int, ...], n: int, D: int) -> sp.Expr:
    return sp.Mul(*[s**e for s, e in zip(_symbols(n, D), exps, strict=True)])


def output_polynomial(
    net: ProductNet, *, max_degree: int = 4, seed: int = 0, symbolic: bool = False
) -> dict[tuple[int, ...], object]:
    """Coefficients of the output up to ``max_degree``: exponent tuple -> coefficient.

    With ``symbolic=False`` the weights are random integers drawn with ``seed``
    (coefficients are Python ints); with ``symbolic=True`` every weight is a sympy
    symbol and each coefficient is an expanded polynomial in the weights (tiny
    networks only). Zero coefficients are omitted.
    """
    basis = Basis(net.n_inputs, max_degree)
    weights = symbolic_weights(net) if symbolic else random_weights(net, seed)
    y = forward(net, weights, basis, object)[0]
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
    basis = Basis(net.n_inputs, max_degree)
    weights = {k: np.ones(s, dtype=np.int64) for k, s in net.parameter_shapes().items()}
    y = forward(net, weights, basis, np.int64)[0]
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


def _part_mask(part: Part, basis: Basis, n: int, D: int) -> list[int]:
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
    basis = Basis(net.n_inputs, max_degree)
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
    basis = Basis(net.n_inputs, max_degree)
    leaves, n_params = dual_leaves(net.parameter_shapes(), np.random.default_rng(seed))
    y = forward(net, leaves, basis, object)
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
