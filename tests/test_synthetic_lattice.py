"""Lattice lookup task (SPEC 3.1): labels equal their definition, arrays as documented,
seeding end to end, no global random state, bad input rejected by name."""

import math
from decimal import Decimal

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from progfusion.synthetic import (
    N_CLASSES,
    LatticeLookup,
    first_nonzero_digit,
    make_lattice_lookup,
    sinusoidal_embedding,
)

from tests.helpers import global_rng_untouched

LOW, HIGH = np.float32(0.1), np.float32(0.999)  # the documented per-sample range of x1


def digit_by_decimal(value) -> int:
    """Independent oracle: the exact decimal expansion of the float, except that a float
    which is the nearest one to the next one-significant-digit decimal above it (e.g. the
    float64 0.3 = 0.2999...) stands for that decimal. Integers are exact."""
    if isinstance(value, int | np.integer):
        return int(str(abs(int(value)))[0])
    exact = abs(Decimal(float(value)))  # float32 -> float64 is exact
    digit, exponent = exact.as_tuple().digits[0], exact.adjusted()
    above = Decimal(digit + 1).scaleb(exponent)  # next one-digit decimal above |value|
    if type(value)(float(above)) == abs(value):
        return 1 if digit == 9 else digit + 1
    return digit


def digit_by_repr(value: float) -> int:
    """Second oracle for float64: Python's own shortest repr (David Gay's dtoa)."""
    return int(next(c for c in repr(abs(float(value))) if c in "123456789"))


# ------------------------------------------------------------------ first_nonzero_digit


def test_first_nonzero_digit_examples():
    values = [0.0042, 123.0, 0.5, -0.07, 0.3, 0.1, 1e-5, 1e30, 9.99e-30, 0.999, -1.0, 7e300]
    expected = [4, 1, 5, 7, 3, 1, 1, 1, 9, 9, 1, 7]
    np.testing.assert_array_equal(first_nonzero_digit(values), expected)
    # float32 values nearest to 0.7 and 0.9 lie below them, yet stand for 0.7 and 0.9
    assert first_nonzero_digit(np.float32(0.7)) == 7
    assert first_nonzero_digit(np.float32(0.9)) == 9
    assert first_nonzero_digit(np.nextafter(0.3, 0.0)) == 2  # 0.29999999999999993
    np.testing.assert_array_equal(first_nonzero_digit([123, -45, 7]), [1, 4, 7])
    assert first_nonzero_digit(np.array([np.iinfo(np.int64).min])) == 9  # -9223372036854775808


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_first_nonzero_digit_at_every_one_digit_decimal(dtype):
    """k * 10**e gives k; the float just below it gives the digit below (9 below 10**e)."""
    exps, ks = np.meshgrid(np.arange(-30, 31), np.arange(1, 10), indexing="ij")
    values = np.array([dtype(f"{k}e{e}") for k, e in zip(ks.ravel(), exps.ravel(), strict=True)])
    np.testing.assert_array_equal(first_nonzero_digit(values), ks.ravel())
    below = np.nextafter(values, dtype(0))
    np.testing.assert_array_equal(first_nonzero_digit(below), np.where(ks == 1, 9, ks - 1).ravel())


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-30, 1e30), st.sampled_from([1.0, -1.0]))
def test_first_nonzero_digit_float64_matches_definition(magnitude, sign):
    value = sign * magnitude
    assert first_nonzero_digit(value) == digit_by_decimal(value) == digit_by_repr(value)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(float(np.float32(1e-30)), float(np.float32(1e30)), width=32),
    st.sampled_from([1.0, -1.0]),
)
def test_first_nonzero_digit_float32_matches_definition(magnitude, sign):
    value = np.float32(sign * magnitude)
    assert first_nonzero_digit(value) == digit_by_decimal(value)


@settings(max_examples=50, deadline=None)
@given(st.integers(-(2**63), 2**63 - 1).filter(bool))
def test_first_nonzero_digit_integers(value):
    assert first_nonzero_digit(np.int64(value)) == digit_by_decimal(value)


def test_first_nonzero_digit_keeps_shape():
    out = first_nonzero_digit(np.full((2, 3), 0.25))
    assert out.shape == (2, 3) and out.dtype == np.int64 and np.all(out == 2)
    empty = first_nonzero_digit(np.zeros((0,)))
    assert empty.shape == (0,) and empty.dtype == np.int64


@pytest.mark.parametrize("bad", [[0.0], [1.0, np.nan], [np.inf], [-0.0], [0], ["1"], [1j]])
def test_first_nonzero_digit_rejects(bad):
    with pytest.raises(ValueError, match="values"):
        first_nonzero_digit(np.array(bad))


# ------------------------------------------------------------------ the generator


def embedding_by_formula(l: int, embed_dim: int) -> list[float]:
    """PE[2i] = sin(l / 10000**(2i/d)), PE[2i+1] = cos(same), written out elementwise."""
    out = []
    for i in range(embed_dim // 2):
        angle = l / 10000 ** (2 * i / embed_dim)
        out += [math.sin(angle), math.cos(angle)]
    return out


def check_task(data: LatticeLookup, n: int, D: int, embed_dim: int) -> None:
    assert len(data) == n
    assert data.x1.shape == (n, D + 1) and data.x1.dtype == np.float32
    assert data.x2.shape == (n, embed_dim) and data.x2.dtype == np.float32
    assert data.y.shape == (n,) and data.y.dtype == np.int64
    assert data.l.shape == (n,) and data.l.dtype == np.int64
    assert np.all((data.l >= 0) & (data.l <= D))
    assert np.all((data.y >= 0) & (data.y < N_CLASSES))
    assert np.all((data.x1 >= LOW) & (data.x1 <= HIGH))
    if n:
        np.testing.assert_array_equal(data.x1.min(axis=1), LOW)
        np.testing.assert_array_equal(data.x1.max(axis=1), HIGH)
    for i in range(n):
        # The label is the definition applied to the stored float32 value.
        assert data.y[i] == digit_by_decimal(data.x1[i, data.l[i]]) - 1
        expected = embedding_by_formula(int(data.l[i]), embed_dim)
        np.testing.assert_allclose(data.x2[i], expected, rtol=1e-6, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 40),
    D=st.integers(1, 40),
    n_freq=st.integers(1, 6),
    half_dim=st.integers(1, 12),
    seed=st.integers(0, 2**32),
)
def test_arrays_match_their_definition(n, D, n_freq, half_dim, seed):
    data = make_lattice_lookup(n, D=D, n_freq=n_freq, embed_dim=2 * half_dim, seed=seed)
    check_task(data, n, D, 2 * half_dim)


def test_defaults_and_class_coverage():
    data = make_lattice_lookup(2000, seed=0)
    check_task(data, 2000, 32, 16)
    assert set(np.unique(data.y)) == set(range(N_CLASSES))
    assert set(np.unique(data.l)) == set(range(33))


def trig_basis(D: int, n_freq: int) -> np.ndarray:
    t = np.arange(D + 1) / D
    cols = [np.ones_like(t)]
    for k in range(1, n_freq + 1):
        cols += [np.cos(np.pi * k * t), np.sin(np.pi * k * t)]
    return np.stack(cols, axis=1)  # (D + 1, 2 n_freq + 1)


@pytest.mark.parametrize("n_freq", [1, 3, 4])
def test_x1_rows_are_trig_polynomials_with_n_freq_frequencies(n_freq):
    """Each row (an affine image of f) lies in span{1, cos(pi k t), sin(pi k t): k <= n_freq}
    up to float32 rounding, and not in the span with one frequency fewer."""
    data = make_lattice_lookup(50, D=32, n_freq=n_freq, seed=1)
    rows = data.x1.astype(np.float64).T  # (D + 1, n)

    def residual(n_basis_freq):
        basis = trig_basis(32, n_basis_freq)
        coef = np.linalg.lstsq(basis, rows, rcond=None)[0]
        return np.abs(basis @ coef - rows).max(axis=0)  # (n,)

    assert residual(n_freq).max() < 1e-6
    assert residual(n_freq - 1).min() > 1e-4


def test_x1_endpoints_are_not_tied():
    data = make_lattice_lookup(100, D=8, seed=2)
    assert not np.any(data.x1[:, 0] == data.x1[:, -1])  # a whole-period basis would tie them


def test_same_seed_same_arrays_different_seed_different():
    a, b, c = (make_lattice_lookup(64, seed=s) for s in (5, 5, 6))
    for name in ("x1", "x2", "y", "l"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.x1, c.x1) and not np.array_equal(a.l, c.l)


def test_smaller_set_is_prefix_of_larger():
    small, large = make_lattice_lookup(10, seed=3), make_lattice_lookup(100, seed=3)
    for name in ("x1", "x2", "y", "l"):
        np.testing.assert_array_equal(getattr(small, name), getattr(large, name)[:10])


def test_generator_seeds():
    np_a = make_lattice_lookup(20, seed=np.random.default_rng(7))
    np_b = make_lattice_lookup(20, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(np_a.x1, np_b.x1)
    gen = np.random.default_rng(7)
    first, second = make_lattice_lookup(20, seed=gen), make_lattice_lookup(20, seed=gen)
    assert not np.array_equal(first.x1, second.x1)  # the caller's generator advanced
    t_a = make_lattice_lookup(20, seed=torch.Generator().manual_seed(7))
    t_b = make_lattice_lookup(20, seed=torch.Generator().manual_seed(7))
    np.testing.assert_array_equal(t_a.x1, t_b.x1)
    ss = np.random.SeedSequence(7)
    np.testing.assert_array_equal(
        make_lattice_lookup(20, seed=ss).x1, make_lattice_lookup(20, seed=ss).x1
    )
    fresh_a, fresh_b = make_lattice_lookup(20), make_lattice_lookup(20)
    assert not np.array_equal(fresh_a.x1, fresh_b.x1)


@pytest.mark.parametrize(
    "seed", [None, 0, np.random.default_rng(0), torch.Generator().manual_seed(0)]
)
def test_no_global_random_state_touched(seed):
    with global_rng_untouched():
        make_lattice_lookup(30, seed=seed)
        first_nonzero_digit([0.5, 3.0])
        sinusoidal_embedding([0, 1], 4)


def test_empty():
    data = make_lattice_lookup(0, D=5, embed_dim=4, seed=0)
    check_task(data, 0, 5, 4)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_samples": -1}, "n_samples"),
        ({"n_samples": 2.5}, "n_samples"),
        ({"n_samples": True}, "n_samples"),
        ({"D": 0}, "D"),
        ({"n_freq": 0}, "n_freq"),
        ({"embed_dim": 3}, "embed_dim"),
        ({"embed_dim": 0}, "embed_dim"),
        ({"seed": -1}, "seed"),
        ({"seed": "zero"}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    kwargs = {"n_samples": 4, **kwargs}
    with pytest.raises(ValueError, match=name):
        make_lattice_lookup(kwargs.pop("n_samples"), **kwargs)


def test_sinusoidal_embedding_rejects_odd_width():
    with pytest.raises(ValueError, match="embed_dim"):
        sinusoidal_embedding([0, 1], 5)
