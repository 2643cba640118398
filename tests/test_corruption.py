"""Test-time corruption (SPEC 3.3): exact copy at level 0, noise of std level * scale per
feature, seeded, numpy and torch agree, input never modified, bad input rejected by name."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from progfusion.synthetic import DEFAULT_LEVELS, corrupt

from tests.helpers import global_rng_untouched


def test_default_levels():
    assert DEFAULT_LEVELS == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_level_zero_is_an_exact_copy(as_tensor):
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    x = torch.from_numpy(x) if as_tensor else x
    out = corrupt(x, 0.0, scale=np.ones(3), seed=1)
    assert out is not x and type(out) is type(x) and out.dtype == x.dtype
    assert torch.equal(out, x) if as_tensor else np.array_equal(out, x)
    out[0, 0] = 99.0  # a copy, not a view
    assert x[0, 0] != 99.0


def test_noise_std_is_level_times_scale_per_feature():
    """200k draws per feature: std estimates within 0.5% (3 standard errors); tolerance 3%."""
    scale = np.array([0.5, 1.0, 2.0, 0.0])
    x = np.tile(np.array([1.0, -2.0, 0.0, 5.0]), (200_000, 1))
    noise = corrupt(x, 0.3, scale=scale, seed=2) - x
    np.testing.assert_allclose(noise.std(axis=0), 0.3 * scale, rtol=0.03)
    np.testing.assert_allclose(noise.mean(axis=0), 0.0, atol=0.01)
    assert np.all(noise[:, 3] == 0)  # a constant training feature gets no noise


def test_seeding_and_nested_levels():
    x = np.zeros((50, 4))
    a, b = corrupt(x, 0.5, scale=1.0, seed=3), corrupt(x, 0.5, scale=1.0, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, corrupt(x, 0.5, scale=1.0, seed=4))
    # The noise pattern depends on the seed, not on the level: levels are nested.
    np.testing.assert_allclose(corrupt(x, 1.0, scale=1.0, seed=3), 2 * a, rtol=1e-12)
    # A scalar scale equals the same value for every feature.
    np.testing.assert_array_equal(a, corrupt(x, 0.5, scale=np.ones(4), seed=3))
    for make_seed in (
        lambda: np.random.default_rng(5),
        lambda: torch.Generator().manual_seed(5),
        lambda: np.random.SeedSequence(5),
    ):
        np.testing.assert_array_equal(
            corrupt(x, 0.5, scale=1.0, seed=make_seed()),
            corrupt(x, 0.5, scale=1.0, seed=make_seed()),
        )


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(0, 20),
    f=st.integers(1, 6),
    level=st.sampled_from(DEFAULT_LEVELS) | st.floats(0, 5),
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    seed=st.integers(0, 2**32),
)
def test_numpy_and_torch_agree_and_input_is_kept(n, f, level, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f)).astype(dtype)
    scale = rng.uniform(0.1, 3.0, size=f)
    x_before, t = x.copy(), torch.from_numpy(x.copy())
    out_np = corrupt(x, level, scale=scale, seed=seed)
    out_t = corrupt(t, level, scale=torch.from_numpy(scale), seed=seed)
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == t.dtype
    assert out_np.dtype == dtype and out_np.shape == (n, f)
    np.testing.assert_array_equal(out_t.numpy(), out_np)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(t.numpy(), x_before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_tensor_stays_on_its_device():
    x = torch.zeros(8, 3, device="cuda")
    out = corrupt(x, 0.4, scale=torch.ones(3, device="cuda"), seed=6)
    assert out.device == x.device
    np.testing.assert_allclose(
        out.cpu().numpy(), corrupt(np.zeros((8, 3), np.float32), 0.4, scale=1.0, seed=6)
    )


@pytest.mark.parametrize(
    "seed", [None, 0, np.random.default_rng(0), torch.Generator().manual_seed(0)]
)
def test_no_global_random_state_touched(seed):
    with global_rng_untouched():
        corrupt(np.zeros((5, 2)), 0.5, scale=1.0, seed=seed)
        corrupt(torch.zeros(5, 2), 0.5, scale=1.0, seed=seed)


@pytest.mark.parametrize(
    ("x", "level", "scale", "name"),
    [
        (np.zeros((3, 2)), -0.1, 1.0, "level"),
        (np.zeros((3, 2)), float("nan"), 1.0, "level"),
        (np.zeros((3, 2)), float("inf"), 1.0, "level"),
        (np.zeros((3, 2)), 0.1, np.ones(3), "scale"),
        (np.zeros((3, 2)), 0.1, np.ones((1, 2)), "scale"),
        (np.zeros((3, 2)), 0.1, -1.0, "scale"),
        (np.zeros((3, 2)), 0.1, [1.0, np.nan], "scale"),
        (np.zeros(3), 0.1, 1.0, "x"),
        (np.zeros((3, 2), dtype=np.int64), 0.1, 1.0, "x"),
        (torch.zeros(3, 2, dtype=torch.int64), 0.1, 1.0, "x"),
        ([[0.0, 1.0]], 0.1, 1.0, "x"),
    ],
)
def test_bad_input_names_the_parameter(x, level, scale, name):
    with pytest.raises(ValueError, match=name):
        corrupt(x, level, scale=scale, seed=0)
