"""Tests of progfusion.theory.linear on cases small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from progfusion.theory import evaluate_claims, linear, linear_claims
from sympy.matrices.exceptions import ShapeError

f11, f12, f21, f22, w11, w12, w21, w22 = sp.symbols("f11 f12 f21 f22 w11 w12 w21 w22")


# ------------------------------------------------------------------ effective matrices
def test_late_example_matrix_by_hand() -> None:
    # d = 1, D = 2, K = 2: F = [[f11, f12], [f21, f22]], W11 = [w11 w12], W22 = [w21 w22].
    m, blocks = linear.effective_matrix("late", D=2, d=1, K=2)
    expected = sp.Matrix(
        [
            [f11 * w11, f11 * w12, f12 * w21, f12 * w22],
            [f21 * w11, f21 * w12, f22 * w21, f22 * w22],
        ]
    )
    assert m == expected
    assert blocks["W11"] == sp.Matrix([[w11, w12]])


def test_paper_example_differs_by_transposing_f() -> None:
    ours, _ = linear.effective_matrix("late", D=2, d=1, K=2)
    printed = linear_claims.paper_example_matrix()
    assert printed != ours
    assert printed.subs({f12: f21, f21: f12}, simultaneous=True) == ours


def test_early_matrix_by_hand() -> None:
    m, _ = linear.effective_matrix("early", D=1, d=1, K=1)
    assert m == sp.Matrix([[f11 * w11 + f12 * w21, f11 * w12 + f12 * w22]])


def test_pro_matrix_by_hand_add() -> None:
    # D = d = K = 1: Wd = diag(w1, w2); c_2 = Wd x + Wd V Wd x.
    m, b = linear.effective_matrix("pro", D=1, d=1, K=1, steps=2, context="add")
    wd = sp.diag(b["W11"][0], b["W22"][0])
    expected = (b["F"] * (wd + wd * b["V"] * wd)).applyfunc(sp.expand)
    assert m == expected


def test_pro_matrix_by_hand_concat_with_bottleneck() -> None:
    m, b = linear.effective_matrix("pro", D=1, d=1, K=1, p=1, steps=3, context="concat")
    wd = sp.diag(b["W11"][0], b["W22"][0])
    g = b["U"] * b["A"]
    expected = (b["F"] * (wd + g * (wd + g * wd))).applyfunc(sp.expand)
    assert m == expected


@pytest.mark.parametrize("context", ["add", "concat"])
def test_pro_with_one_step_is_late(context: str) -> None:
    pro, _ = linear.effective_matrix("pro", D=2, d=1, K=2, steps=1, context=context)
    late, _ = linear.effective_matrix("late", D=2, d=1, K=2)
    assert pro == late


# ------------------------------------------------------------------ block expansions
def test_early_block_expansion_entry_21_is_misprinted() -> None:
    entries = linear_claims.compare_block_expansion("early")
    wrong = [e.position for e in entries if not e.matches]
    assert wrong == [(1, 0)]
    F21, F22, W11, W21 = sp.symbols("F21 F22 W11 W21", commutative=False)
    assert entries[2].computed == F21 * W11 + F22 * W21


@pytest.mark.parametrize(
    ("design", "context"), [("late", "add"), ("pro", "add"), ("pro", "concat")]
)
def test_block_expansions_match(design: str, context: str) -> None:
    assert all(e.matches for e in linear_claims.compare_block_expansion(design, context))


@pytest.mark.parametrize(("D", "d", "K1", "K2"), [(1, 1, 1, 1), (2, 1, 1, 1), (3, 2, 2, 1)])
def test_block_expansion_agrees_with_explicit_product(D: int, d: int, K1: int, K2: int) -> None:
    assert linear.check_block_expansion_explicit(D=D, d=d, K1=K1, K2=K2)


def test_naive_reading_of_g_has_inconsistent_shapes() -> None:
    (l8,) = evaluate_claims(["L8"])
    assert "d=1, D=2: W11 + G11 W11 adds a 1x2 matrix to a 2x2 one" in l8.evidence
    (correction,) = l8.corrections
    assert "1x2" in correction.printed and "every block d x D" in correction.corrected


def test_evaluate_blocks_checks_shapes() -> None:
    W11, G11 = sp.symbols("W11 G11", commutative=False)
    fits = {"W11": sp.MatrixSymbol("W11", 1, 2), "G11": sp.MatrixSymbol("G11", 1, 1)}
    assert linear.evaluate_blocks(W11 + G11 * W11, fits).shape == (1, 2)
    clash = {"W11": sp.MatrixSymbol("W11", 1, 2), "G11": sp.MatrixSymbol("G11", 2, 1)}
    with pytest.raises(ShapeError):
        linear.evaluate_blocks(W11 + G11 * W11, clash)


# ------------------------------------------------------------------ dimensions and ranks
def test_hand_example_dimensions() -> None:
    # Late: two rank-1 2x2 blocks, 3 + 3; early: every 2x4 matrix.
    assert linear.image_dimension("late", D=2, d=1, K=2) == 6
    assert linear.image_dimension("early", D=2, d=1, K=2) == 8
    assert linear.image_dimension("pro", D=2, d=1, K=2) == 6


SIZES = [(D, d, K) for D in (1, 2, 3) for d in (1, 2) for K in (1, 2, 3)]


@pytest.mark.parametrize(("D", "d", "K"), SIZES)
def test_closed_forms_match_jacobian_ranks(D: int, d: int, K: int) -> None:
    for design in ("early", "late"):
        closed = linear.image_dimension_closed_form(design, D=D, d=d, K=K)
        assert linear.image_dimension(design, D=D, d=d, K=K) == closed
        rank_closed = linear.generic_rank_closed_form(design, D=D, d=d, K=K)
        assert linear.generic_rank(design, D=D, d=d, K=K) == rank_closed
    closed = linear.image_dimension_closed_form("pro", D=D, d=d, K=K)
    for context, p, steps in [("add", None, 2), ("concat", 1, 3), ("add", 2, 3)]:
        dim = linear.image_dimension("pro", D=D, d=d, K=K, p=p, steps=steps, context=context)
        assert dim == closed


def test_generic_ranks_are_equal_for_early_and_late() -> None:
    for D, d, K in SIZES:
        early = linear.generic_rank_closed_form("early", D=D, d=d, K=K)
        assert linear.generic_rank_closed_form("late", D=D, d=d, K=K) == early


def test_jacobian_rank_does_not_depend_on_seed() -> None:
    dims = {linear.image_dimension("pro", D=2, d=1, K=3, seed=s) for s in range(3)}
    assert dims == {linear.image_dimension_closed_form("pro", D=2, d=1, K=3)}


# ------------------------------------------------------------------ constraints
def test_late_constraints_hand_example() -> None:
    m = linear.generic_output_matrix(2, 2)
    minors = linear.late_constraints(D=2, d=1, K=2)
    assert minors == [
        m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0],
        m[0, 2] * m[1, 3] - m[0, 3] * m[1, 2],
    ]
    assert linear.late_constraints(D=2, d=2, K=2) == []


def test_early_constraints_are_rank_minors() -> None:
    assert len(linear.early_constraints(D=2, d=1, K=3)) == 4  # 3x3 minors of a 3x4 matrix
    assert linear.early_constraints(D=2, d=1, K=2) == []


def test_implicitisation_of_late_hand_example() -> None:
    implicit = linear.implicitize("late", D=2, d=1, K=2)
    assert {sp.expand(g) for g in implicit} == set(linear.late_constraints(D=2, d=1, K=2))
    assert linear.implicitize("early", D=1, d=1, K=2) == []


def test_reachability_by_hand() -> None:
    m0 = sp.Matrix([[1, 0, 0, 0], [0, 1, 0, 0]])
    assert linear.is_early_reachable(m0, D=2, d=1)
    assert not linear.is_late_reachable(m0, D=2, d=1)
    assert linear.is_late_reachable(sp.Matrix([[1, 0, 0, 0], [0, 0, 1, 0]]), D=2, d=1)
    with pytest.raises(ValueError, match="2D = 4"):
        linear.is_late_reachable(sp.eye(3), D=2, d=1)


def test_validation() -> None:
    with pytest.raises(ValueError, match="design"):
        linear.image_dimension("middle", D=1, d=1, K=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="D must be"):
        linear.parameter_shapes("late", D=0, d=1, K=1)
    with pytest.raises(ValueError, match="p must be"):
        linear.parameter_shapes("pro", D=1, d=1, K=1, p=0)
    with pytest.raises(ValueError, match="context"):
        linear.parameter_shapes("pro", D=1, d=1, K=1, context="mul")  # type: ignore[arg-type]


# ------------------------------------------------------------------ invariants
small = st.integers(min_value=1, max_value=3)


@settings(max_examples=15, deadline=None)
@given(D=small, d=small, K=small, seed=st.integers(0, 10_000))
def test_dimension_order(D: int, d: int, K: int, seed: int) -> None:
    late = linear.image_dimension("late", D=D, d=d, K=K, seed=seed)
    early = linear.image_dimension("early", D=D, d=d, K=K, seed=seed)
    assert late <= early <= K * 2 * D


@settings(max_examples=15, deadline=None)
@given(D=small, d=small, K=small, seed=st.integers(0, 10_000))
def test_late_and_pro_maps_satisfy_late_constraints(D: int, d: int, K: int, seed: int) -> None:
    for design in ("late", "pro"):
        m = linear.evaluate_effective_matrix(design, D=D, d=d, K=K, seed=seed)
        assert linear.is_late_reachable(m, D, d)
        assert all(c == 0 for c in linear.late_constraints(D=D, d=d, K=K, matrix=m))


@settings(max_examples=15, deadline=None)
@given(D=small, d=small, K=small, seed=st.integers(0, 10_000))
def test_random_early_map_breaks_late_constraints(D: int, d: int, K: int, seed: int) -> None:
    m = linear.evaluate_effective_matrix("early", D=D, d=d, K=K, seed=seed)
    assert linear.is_early_reachable(m, D, d)
    if d < min(K, D):
        assert not linear.is_late_reachable(m, D, d)
        assert any(c != 0 for c in linear.late_constraints(D=D, d=d, K=K, matrix=m))


def test_random_points_are_seeded() -> None:
    a = linear.evaluate_effective_matrix("early", D=2, d=1, K=2, seed=3)
    b = linear.evaluate_effective_matrix("early", D=2, d=1, K=2, seed=3)
    c = linear.evaluate_effective_matrix("early", D=2, d=1, K=2, seed=4)
    assert a == b and a != c
    assert all(isinstance(v, sp.Integer) for v in a)
    assert np.array(a.tolist()).shape == (2, 4)
