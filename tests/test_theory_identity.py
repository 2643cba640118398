"""Tests of progfusion.theory.identity: the c = 0 identity and its counterexamples."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from progfusion.theory import identity


@pytest.mark.parametrize("context", ["add", "concat"])
def test_c_zero_gives_base_model(context: str) -> None:
    proof = identity.prove_identity(context, steps=1)
    assert proof.holds and proof.residual == 0


@pytest.mark.parametrize("context", ["add", "concat"])
@pytest.mark.parametrize("steps", [1, 2])
def test_zero_backprojection_gives_base_model_for_any_steps(context: str, steps: int) -> None:
    assert identity.prove_identity(context, steps=steps, zero_backprojection=True).holds


def test_two_steps_with_a_backprojection_differ_from_base() -> None:
    # With W != 0 the second pass sees c_1 != 0: not the base model (as intended).
    assert not identity.prove_identity("add", steps=2, n=1, D=1).holds


def test_biased_backprojection_counterexample_by_hand() -> None:
    # Identity encoders, concatenation, sum head, R = 1: the difference is
    # sum_i sum_k (A_i beta_i)_k.
    ce = identity.find_counterexample("add", "bias")
    expected = sp.Integer(0)
    for i in (1, 2):
        for k in (1, 2):
            for j in (1, 2):
                expected += sp.Symbol(f"A{i}_{k}{j}") * sp.Symbol(f"beta{i}_{j}")
    assert sp.expand(ce.symbolic_residual - expected) == 0
    assert ce.found and ce.difference == expected.subs(ce.values)


def test_reinitialised_concat_layer_counterexample() -> None:
    ce = identity.find_counterexample("concat", "reinit")
    assert ce.found
    assert any(str(s).startswith("Anew") for s in ce.symbolic_residual.free_symbols)
    with pytest.raises(ValueError, match="concat"):
        identity.find_counterexample("add", "reinit")
    with pytest.raises(ValueError, match="dropped"):
        identity.find_counterexample("add", "noise")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="steps"):
        identity.prove_identity("add", steps=0)


@settings(max_examples=10, deadline=None)
@given(
    context=st.sampled_from(["add", "concat"]),
    dropped=st.sampled_from(["bias", "reinit"]),
    seed=st.integers(0, 10_000),
)
def test_counterexample_values_are_consistent(context: str, dropped: str, seed: int) -> None:
    if dropped == "reinit" and context == "add":
        return
    ce = identity.find_counterexample(context, dropped, seed=seed)  # type: ignore[arg-type]
    assert ce.symbolic_residual != 0
    assert ce.difference == ce.symbolic_residual.subs(ce.values)
