"""Latent lReLU/sin task (SPEC 3.2) and training-split standardisation (SPEC 4.2):
the data equal their generating equations, the noise has the stated scale, seeding works
end to end, no global random state is touched, bad input is rejected by name."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from progfusion.synthetic import LatentSinTask, Standardizer, make_latent_sin

from tests.helpers import global_rng_untouched

SPLITS = ("train", "val", "test")
ARRAYS = ("x1", "x2", "y", "z")


def assert_same_task(a: LatentSinTask, b: LatentSinTask) -> None:
    for w in ("w1", "w2", "wy"):
        np.testing.assert_array_equal(getattr(a, w), getattr(b, w))
    for split in SPLITS:
        for name in ARRAYS:
            np.testing.assert_array_equal(
                getattr(getattr(a, split), name), getattr(getattr(b, split), name)
            )


def noise_free(task: LatentSinTask, split: str, eta: float, slope: float):
    """The generating equations without noise, from the returned z and weights (float64).
    lReLU written as max(u, slope * u), valid for 0 <= slope <= 1."""
    z = getattr(task, split).z.astype(np.float64)
    shared = np.sin(np.einsum("xd,nd->nx", task.w2, z))
    x1 = np.maximum(z @ task.w1.T, slope * (z @ task.w1.T)) - 2 * abs(eta) * shared
    return x1, shared, np.einsum("yd,nd->ny", task.wy, z)


@settings(max_examples=20, deadline=None)
@given(
    sizes=st.tuples(st.integers(1, 30), st.integers(0, 30), st.integers(0, 30)),
    dims=st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3)),
    eta=st.floats(-4, 4),
    slope=st.sampled_from([0.0, 0.01, 0.2, 1.0]),
    seed=st.integers(0, 2**32),
)
def test_noise_free_data_equal_the_equations(sizes, dims, eta, slope, seed):
    (n_train, n_val, n_test), (dz, dx, dy) = sizes, dims
    task = make_latent_sin(
        n_train, n_test, n_val=n_val, eta=eta, sigma2=0.7, dz=dz, dx=dx, dy=dy,
        noise_scale=0.0, lrelu_slope=slope, seed=seed,
    )  # fmt: skip
    assert (task.dz, task.dx, task.dy) == (dz, dx, dy)
    assert task.w1.shape == task.w2.shape == (dx, dz) and task.wy.shape == (dy, dz)
    assert task.w1.dtype == task.w2.dtype == task.wy.dtype == np.float64
    for split, n in zip(SPLITS, sizes, strict=True):
        data = getattr(task, split)
        assert len(data) == n
        for name, width in zip(ARRAYS, (dx, dx, dy, dz), strict=True):
            assert getattr(data, name).shape == (n, width)
            assert getattr(data, name).dtype == np.float32
        assert np.all(np.abs(data.z) <= 2.5)
        expected = noise_free(task, split, eta, slope)
        for got, want in zip((data.x1, data.x2, data.y), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # float32 rounding


def test_noise_has_the_stated_scale():
    """Residuals from the equations: eps1 and eps_y have std noise_scale, X2's noise has
    std sigma2 * noise_scale, all mean 0 and mutually uncorrelated. With >= 100k draws the
    std estimates are within 1% (3 standard errors); the tolerances are 4%."""
    eta, sigma2, s = 1.5, 0.3, 0.8
    task = make_latent_sin(20_000, 10, eta=eta, sigma2=sigma2, noise_scale=s, dy=5, seed=11)
    x1, x2, y = noise_free(task, "train", eta, 0.01)
    r1, r2, ry = task.train.x1 - x1, task.train.x2 - x2, task.train.y - y
    for resid, std in ((r1, s), (r2, sigma2 * s), (ry, s)):
        assert abs(resid.mean()) < 0.02 * std
        assert resid.std() == pytest.approx(std, rel=0.04)
    assert abs(np.corrcoef(r1.ravel(), r2.ravel())[0, 1]) < 0.02


def test_latent_and_weight_distributions():
    """Z uniform on [-2.5, 2.5] (variance 5**2 / 12); weights standard normal."""
    task = make_latent_sin(20_000, 1, eta=0.0, sigma2=0.0, dz=8, dx=64, seed=12)
    z = task.train.z
    assert z.min() >= -2.5 and z.max() <= 2.5
    assert z.var() == pytest.approx(25 / 12, rel=0.03) and abs(z.mean()) < 0.02
    weights = np.concatenate([task.w1.ravel(), task.w2.ravel()])  # 1024 draws
    assert abs(weights.mean()) < 0.15 and weights.std() == pytest.approx(1.0, rel=0.1)


def test_eta_sign_symmetry_and_sigma2_zero():
    pos = make_latent_sin(50, 20, eta=2.0, sigma2=0.0, seed=3)
    neg = make_latent_sin(50, 20, eta=-2.0, sigma2=0.0, seed=3)
    assert_same_task(pos, neg)
    _, shared, _ = noise_free(pos, "train", 2.0, 0.01)
    np.testing.assert_allclose(pos.train.x2, shared, rtol=1e-6, atol=1e-6)  # no X2 noise


def test_parameters_keep_the_random_draws():
    """Common random numbers: eta, sigma2, noise scale and slope change the data, not Z."""
    base = make_latent_sin(40, 10, eta=0.5, sigma2=0.5, seed=4)
    other = make_latent_sin(40, 10, eta=3.0, sigma2=1.5, noise_scale=2.0, lrelu_slope=0.1, seed=4)
    np.testing.assert_array_equal(base.train.z, other.train.z)
    np.testing.assert_array_equal(base.w2, other.w2)
    assert not np.array_equal(base.train.x1, other.train.x1)
    assert (other.eta, other.sigma2, other.noise_scale, other.lrelu_slope) == (3.0, 1.5, 2.0, 0.1)


def test_splits_do_not_depend_on_each_others_sizes():
    small = make_latent_sin(10, 30, n_val=0, eta=1.0, sigma2=0.5, seed=5)
    large = make_latent_sin(500, 30, n_val=100, eta=1.0, sigma2=0.5, seed=5)
    np.testing.assert_array_equal(small.w1, large.w1)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(small.test, name), getattr(large.test, name))
    assert not np.array_equal(large.train.z[:30], large.test.z)  # distinct streams


def test_seeding():
    kw = {"eta": 1.0, "sigma2": 0.5, "n_val": 8}
    assert_same_task(make_latent_sin(30, 9, seed=1, **kw), make_latent_sin(30, 9, seed=1, **kw))
    a, b = make_latent_sin(30, 9, seed=1, **kw), make_latent_sin(30, 9, seed=2, **kw)
    assert not np.array_equal(a.w1, b.w1) and not np.array_equal(a.train.z, b.train.z)
    for make_seed in (
        lambda: np.random.default_rng(9),
        lambda: torch.Generator().manual_seed(9),
        lambda: np.random.SeedSequence(9),
    ):
        assert_same_task(
            make_latent_sin(30, 9, seed=make_seed(), **kw),
            make_latent_sin(30, 9, seed=make_seed(), **kw),
        )
    assert not np.array_equal(make_latent_sin(30, 9, **kw).w1, make_latent_sin(30, 9, **kw).w1)


@pytest.mark.parametrize(
    "seed", [None, 0, np.random.default_rng(0), torch.Generator().manual_seed(0)]
)
def test_no_global_random_state_touched(seed):
    with global_rng_untouched():
        task = make_latent_sin(30, 10, n_val=5, eta=1.0, sigma2=0.5, seed=seed)
        Standardizer.fit(task.train.x1).transform(task.test.x1)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_train": 0}, "n_train"),
        ({"n_test": -1}, "n_test"),
        ({"n_val": -1}, "n_val"),
        ({"n_train": 3.0}, "n_train"),
        ({"dz": 0}, "dz"),
        ({"dx": 0}, "dx"),
        ({"dy": 0}, "dy"),
        ({"eta": float("nan")}, "eta"),
        ({"eta": float("inf")}, "eta"),
        ({"eta": "1"}, "eta"),
        ({"sigma2": float("nan")}, "sigma2"),
        ({"sigma2": -0.1}, "sigma2"),
        ({"noise_scale": -1.0}, "noise_scale"),
        ({"noise_scale": float("inf")}, "noise_scale"),
        ({"lrelu_slope": float("nan")}, "lrelu_slope"),
        ({"seed": -3}, "seed"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    kwargs = {"n_train": 4, "n_test": 2, "eta": 1.0, "sigma2": 0.5, **kwargs}
    with pytest.raises(ValueError, match=name):
        make_latent_sin(kwargs.pop("n_train"), kwargs.pop("n_test"), **kwargs)


# ------------------------------------------------------------------ standardisation


def test_standardizer_uses_training_statistics():
    task = make_latent_sin(2000, 500, eta=1.0, sigma2=0.5, seed=6)
    scaler = Standardizer.fit(task.train.y)
    y_train = scaler.transform(task.train.y)
    assert y_train.dtype == np.float32
    np.testing.assert_allclose(y_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y_train.std(axis=0), 1.0, rtol=1e-5)  # ddof = 0
    y_test = scaler.transform(task.test.y)
    raw = task.test.y.astype(np.float64)
    expected = (raw - task.train.y.mean(axis=0, dtype=np.float64)) / task.train.y.std(
        axis=0, dtype=np.float64
    )
    np.testing.assert_allclose(y_test, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scaler.inverse_transform(y_test), raw, rtol=1e-5, atol=1e-5)


def test_standardizer_floors_constant_features():
    x = np.column_stack([np.full(5, 3.0), np.arange(5.0)])
    scaler = Standardizer.fit(x)
    assert scaler.std[0] == pytest.approx(1e-8) and np.all(np.isfinite(scaler.transform(x)))
    np.testing.assert_array_equal(scaler.transform(x)[:, 0], 0.0)


@pytest.mark.parametrize(
    ("fit_on", "apply_to", "name"),
    [
        (np.zeros(5), None, "x_train"),
        (np.zeros((0, 3)), None, "x_train"),
        (np.array([[1.0, np.nan]]), None, "x_train"),
        (np.ones((4, 3)), np.ones((4, 2)), "x"),
        (np.ones((4, 3)), np.ones(3), "x"),
    ],
)
def test_standardizer_rejects_bad_shapes(fit_on, apply_to, name):
    with pytest.raises(ValueError, match=name):
        Standardizer.fit(fit_on).transform(apply_to)
