"""Tests of progfusion.theory.multiplicative on cases small enough to check by hand."""

from __future__ import annotations

from math import comb

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from progfusion.theory import counting_claims
from progfusion.theory import multiplicative as mult
from progfusion.theory.multiplicative import ProductNet

a, b = sp.symbols("x1_1 x2_1")  # n = 2 modalities of dimension D = 1


def _degree(groups: dict, total: int) -> dict:
    return {k: v for k, v in groups.items() if sum(k) == total}


# ------------------------------------------------------------------ hand examples
def test_late_scalar_modalities_by_hand() -> None:
    # x1 = a, x2 = b: per-modality products give a^2 and b^2; the head multiplies
    # linear combinations of them: a^4, a^2 b^2, b^4 only.
    groups = mult.monomials_by_multidegree(ProductNet("late", n=2, D=1))
    assert groups == {(4, 0): [a**4], (2, 2): [a**2 * b**2], (0, 4): [b**4]}


def test_early_scalar_modalities_by_hand() -> None:
    groups = mult.monomials_by_multidegree(ProductNet("early", n=2, D=1))
    assert groups == {(4 - k, k): [a ** (4 - k) * b**k] for k in range(5)}


def test_late_output_by_hand_with_symbolic_weights() -> None:
    # One feature per modality and one head feature: every weight visible.
    net = ProductNet("late", n=2, D=1, width1=1, width2=1)
    coeffs = mult.output_polynomial(net, symbolic=True)
    w = {name: sp.Symbol(name) for name in "W1_0_0_0 W1_0_1_0 W1_1_0_0 W1_1_1_0".split()}
    v = {f"W2_{i}_{j}": sp.Symbol(f"W2_{i}_{j}") for i in range(2) for j in range(2)}
    qa = w["W1_0_0_0"] * w["W1_0_1_0"]  # h1 = qa a^2
    qb = w["W1_1_0_0"] * w["W1_1_1_0"]  # h2 = qb b^2
    y = sp.expand(
        (v["W2_0_0"] * qa * a**2 + v["W2_0_1"] * qb * b**2)
        * (v["W2_1_0"] * qa * a**2 + v["W2_1_1"] * qb * b**2)
    )
    poly = sp.Poly(y, a, b)
    assert coeffs == {m: c for m, c in zip(poly.monoms(), poly.coeffs(), strict=True)}


def test_biases_add_lower_degrees() -> None:
    groups = mult.monomials_by_multidegree(ProductNet("late", n=2, D=1, bias=True))
    assert (0, 0) in groups and (1, 1) in groups and (2, 1) in groups
    assert (3, 1) not in groups and (1, 3) not in groups


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("design", ["early", "late", "pro"])
def test_generic_support_equals_propagated_support(design: str, bias: bool) -> None:
    net = ProductNet(design, n=2, D=2, bias=bias, p=1)
    assert mult.monomials_by_multidegree(net) == mult.support_by_multidegree(net)


def test_pro_degree4_part_needs_biases() -> None:
    plain = _degree(mult.support_by_multidegree(ProductNet("pro", n=2, D=1)), 4)
    assert set(plain) == {(4, 0), (2, 2), (0, 4)}
    biased = _degree(mult.support_by_multidegree(ProductNet("pro", n=2, D=1, bias=True)), 4)
    assert set(biased) == {(4, 0), (3, 1), (2, 2), (1, 3), (0, 4)}
    deg5 = mult.support_by_multidegree(ProductNet("pro", n=2, D=1), max_degree=5)
    assert (4, 1) in deg5  # asymmetric terms first appear at degree 5


@pytest.mark.parametrize("bias", [False, True])
def test_symbolic_absence_in_late_fusion(bias: bool) -> None:
    net = ProductNet("late", n=2, D=2, width1=2, width2=1, bias=bias)
    assert mult.symbolic_absent(net, [(3, 1), (1, 3)])
    assert not mult.symbolic_absent(net, [(2, 2)])


# ------------------------------------------------------------------ Jacobian dimensions
def test_jacobian_dimensions_by_hand() -> None:
    # n = 2, D = 1: late reaches span{a^4, a^2 b^2, b^4} (3 dims), early all 5 quartics.
    assert mult.jacobian_dimension(ProductNet("late", n=2, D=1)) == 3
    assert mult.jacobian_dimension(ProductNet("early", n=2, D=1)) == 5
    assert mult.jacobian_dimension(ProductNet("late", n=2, D=1), "asymmetric") == 0
    assert mult.jacobian_dimension(ProductNet("early", n=2, D=1), "asymmetric") == 2


def test_jacobian_dimension_two_modalities_of_two() -> None:
    net = ProductNet("early", n=2, D=2)
    dims = mult.jacobian_dimensions(net, {"all4": "degree4", "asym": "asymmetric", "31": [(3, 1)]})
    assert dims == {"all4": 35, "asym": 16, "31": 8}
    assert mult.part_size(net, "degree4") == 35
    late = mult.jacobian_dimensions(ProductNet("late", n=2, D=2), {"s": "symmetric", "d": 4})
    assert late == {"s": 19, "d": 19}


def test_jacobian_dimension_is_seed_independent() -> None:
    net = ProductNet("pro", n=2, D=2, p=1)
    dims = {mult.jacobian_dimension(net, [(4, 1)], max_degree=5, seed=s) for s in range(2)}
    assert dims == {8}


def test_part_validation() -> None:
    with pytest.raises(ValueError, match="part must be"):
        mult.jacobian_dimension(ProductNet("late", n=2, D=1), "odd")


# ------------------------------------------------------------------ counts
def test_ten_pairwise_products_of_four_inputs() -> None:
    assert mult.monomial_counts(1, 4).early_features == 10


def test_printed_counts_literal() -> None:
    assert counting_claims.printed_counts(2, 2) == {
        "early_features": 1,
        "late_features": 6,
        "early_pairs": 0,
        "late_pairs": 15,
    }


@pytest.mark.parametrize(("n", "D"), [(n, D) for n in (1, 2, 3) for D in (1, 2, 3)])
def test_counts_match_closed_forms(n: int, D: int) -> None:
    c = mult.monomial_counts(n, D)
    assert c.early_features == comb(n * D + 1, 2)
    assert c.late_features == n * comb(D + 1, 2)
    assert c.early_features_distinct == comb(n * D, 2)
    assert c.late_features_distinct == n * comb(D, 2)
    assert c.early_pairs == comb(c.early_features + 1, 2)
    assert c.early_quartic == c.all_quartic == comb(n * D + 3, 4)
    assert c.late_quartic == n * comb(D + 3, 4) + comb(n, 2) * comb(D + 1, 2) ** 2
    assert c.pro_quartic_nobias == c.late_quartic
    assert c.pro_quartic_bias == c.all_quartic


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 3), D=st.integers(1, 3))
def test_count_invariants(n: int, D: int) -> None:
    c = mult.monomial_counts(n, D)
    assert c.late_features <= c.early_features
    assert c.late_quartic <= c.early_quartic <= c.all_quartic
    assert c.late_pairs <= c.early_pairs


@settings(max_examples=10, deadline=None)
@given(
    design=st.sampled_from(["early", "late", "pro"]),
    n=st.integers(1, 3),
    D=st.integers(1, 2),
    bias=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_generic_support_within_propagated_support(
    design: str, n: int, D: int, bias: bool, seed: int
) -> None:
    net = ProductNet(design, n=n, D=D, width1=2, width2=2, bias=bias, p=1)
    generic = mult.monomials_by_multidegree(net, seed=seed)
    support = mult.support_by_multidegree(net)
    for k, monomials in generic.items():
        assert set(monomials) <= set(support[k])


def test_net_validation() -> None:
    with pytest.raises(ValueError, match="design"):
        ProductNet("middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="width1"):
        ProductNet("late", width1=0)
    with pytest.raises(ValueError, match="p must be"):
        ProductNet("pro", p=0)
    with pytest.raises(ValueError, match="n and D"):
        mult.monomial_counts(0, 2)
