"""Latent lReLU/sin regression task of Figures 7 and 8 (appendix "Synthetic Experiments").

One call builds one *task instance* (one trial; SPEC 3.2)::

    Z  ~ U[-2.5, 2.5]^dz                                   (per sample)
    W1, W2 in R^{dx x dz}, Wy in R^{dy x dz}, entries N(0, 1)  (once per task)
    X1 = lReLU(W1 Z) - 2 |eta| sin(W2 Z) + s eps1
    X2 = sin(W2 Z) + sigma2 s eps2
    Y  = Wy Z + s eps_y

with ``s = noise_scale`` and every ``eps`` standard normal. ``eta`` is how strongly X1
is corrupted by the part of the signal that X2 explains; ``sigma2`` is X2's own noise.

Draw order, fixed so that a seed determines everything: the seed's sequence is split into
four child streams, used for (0) the weights, drawn ``W1, W2, Wy`` in that order, (1) the
train split, (2) the validation split and (3) the test split; within a split, ``Z``,
``eps1``, ``eps2``, ``eps_y`` in that order, each of shape ``(n, ...)`` row by row. The
noise is drawn even when ``noise_scale == 0``. Hence the weights do not depend on the split
sizes, each split does not depend on the others' sizes, and changing ``eta``, ``sigma2``,
``noise_scale`` or ``lrelu_slope`` keeps Z and all eps the same (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import SeedLike, check_finite, check_int, check_nonneg, seed_sequence

Z_HALF_WIDTH = 2.5
"""Z is uniform on [-2.5, 2.5] in each coordinate, as in the paper's equation (1)."""


@dataclass(frozen=True, eq=False)
class RegressionSplit:
    """One split of the latent task; row i of every array is the same sample.

    Attributes
    ----------
    x1 : numpy.ndarray, float32, shape (n, dx)
    x2 : numpy.ndarray, float32, shape (n, dx)
    y : numpy.ndarray, float32, shape (n, dy)
    z : numpy.ndarray, float32, shape (n, dz)
        The latent; x1, x2, y were computed from exactly these float32 values.
    """

    x1: np.ndarray
    x2: np.ndarray
    y: np.ndarray
    z: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True, eq=False)
class LatentSinTask:
    """One task instance: its weights, its parameters and its three splits.

    Attributes
    ----------
    train, val, test : RegressionSplit
        ``val`` is empty (0 rows) when ``n_val == 0``.
    w1, w2 : numpy.ndarray, float64, shape (dx, dz)
    wy : numpy.ndarray, float64, shape (dy, dz)
    eta, sigma2, noise_scale, lrelu_slope : float
        The generating parameters (``eta`` as given; only ``|eta|`` enters the data).
    """

    train: RegressionSplit
    val: RegressionSplit
    test: RegressionSplit
    w1: np.ndarray
    w2: np.ndarray
    wy: np.ndarray
    eta: float
    sigma2: float
    noise_scale: float
    lrelu_slope: float

    @property
    def dz(self) -> int:
        """Latent dimension."""
        return int(self.w1.shape[1])

    @property
    def dx(self) -> int:
        """Width of each input modality."""
        return int(self.w1.shape[0])

    @property
    def dy(self) -> int:
        """Width of the regression target."""
        return int(self.wy.shape[0])


def leaky_relu(u: np.ndarray, slope: float) -> np.ndarray:
    """``u`` where ``u >= 0``, else ``slope * u`` (elementwise)."""
    return np.where(u >= 0, u, slope * u)


def _sample_split(
    rng: np.random.Generator,
    n: int,
    w1: np.ndarray,
    w2: np.ndarray,
    wy: np.ndarray,
    *,
    eta: float,
    sigma2: float,
    noise_scale: float,
    lrelu_slope: float,
) -> RegressionSplit:
    """Draw one split of n samples from ``rng`` (order: Z, eps1, eps2, eps_y)."""
    (dx, dz), dy = w1.shape, wy.shape[0]
    # Rounded to float32 first, so the stored z is exactly the latent the data came from.
    z32 = rng.uniform(-Z_HALF_WIDTH, Z_HALF_WIDTH, size=(n, dz)).astype(np.float32)
    eps1 = rng.standard_normal((n, dx))
    eps2 = rng.standard_normal((n, dx))
    eps_y = rng.standard_normal((n, dy))

    z = z32.astype(np.float64)  # (n, dz)
    shared = np.sin(z @ w2.T)  # (n, dx): the part of X1's corruption that X2 explains
    x1 = leaky_relu(z @ w1.T, lrelu_slope) - 2.0 * abs(eta) * shared + noise_scale * eps1
    x2 = shared + sigma2 * noise_scale * eps2
    y = z @ wy.T + noise_scale * eps_y  # (n, dy)
    return RegressionSplit(
        x1=x1.astype(np.float32), x2=x2.astype(np.float32), y=y.astype(np.float32), z=z32
    )


def make_latent_sin(
    n_train: int,
    n_test: int,
    *,
    eta: float,
    sigma2: float,
    n_val: int = 0,
    dz: int = 8,
    dx: int = 16,
    dy: int = 1,
    noise_scale: float = 1.0,
    lrelu_slope: float = 0.01,
    seed: SeedLike = None,
) -> LatentSinTask:
    """Sample one instance of the latent lReLU/sin task (weights and three splits).

    Parameters
    ----------
    n_train : int
        Training samples, ``>= 1``.
    n_test : int
        Test samples, ``>= 0``.
    eta : float
        Strength of X1's corruption by ``sin(W2 Z)``; finite, any sign (``|eta|`` is used).
    sigma2 : float
        Noise level of X2; finite, ``>= 0``.
    n_val : int, default 0
        Validation samples, ``>= 0``.
    dz, dx, dy : int, default 8, 16, 1
        Latent, input and target widths, each ``>= 1``.
    noise_scale : float, default 1.0
        Standard deviation of every eps; finite, ``>= 0``. 0 gives noise-free data.
    lrelu_slope : float, default 0.01
        Negative slope of the leaky ReLU; finite.
    seed : None, int, numpy Generator or SeedSequence, or torch.Generator
        Source of randomness (see module docstring for the draw order).

    Returns
    -------
    LatentSinTask
        Splits with x1, x2 float32 (n, dx), y float32 (n, dy), z float32 (n, dz);
        weights w1, w2 float64 (dx, dz), wy float64 (dy, dz).
    """
    n_train = check_int("n_train", n_train, minimum=1)
    n_test = check_int("n_test", n_test, minimum=0)
    n_val = check_int("n_val", n_val, minimum=0)
    dz = check_int("dz", dz, minimum=1)
    dx = check_int("dx", dx, minimum=1)
    dy = check_int("dy", dy, minimum=1)
    eta = check_finite("eta", eta)
    sigma2 = check_nonneg("sigma2", sigma2)
    noise_scale = check_nonneg("noise_scale", noise_scale)
    lrelu_slope = check_finite("lrelu_slope", lrelu_slope)

    weight_rng, *split_rngs = (np.random.default_rng(s) for s in seed_sequence(seed).spawn(4))
    w1 = weight_rng.standard_normal((dx, dz))
    w2 = weight_rng.standard_normal((dx, dz))
    wy = weight_rng.standard_normal((dy, dz))
    params = dict(eta=eta, sigma2=sigma2, noise_scale=noise_scale, lrelu_slope=lrelu_slope)
    train, val, test = (
        _sample_split(rng, n, w1, w2, wy, **params)
        for rng, n in zip(split_rngs, (n_train, n_val, n_test), strict=True)
    )
    return LatentSinTask(train=train, val=val, test=test, w1=w1, w2=w2, wy=wy, **params)
