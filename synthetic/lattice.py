"""Lattice lookup task of Figure 4 (paper section "Synthetic Dataset"; SPEC 3.1).

Modality X1 holds a smooth random function sampled on the lattice ``t_k = k / D``,
``k = 0..D``; modality X2 is a sinusoidal position embedding of one lattice index ``l``;
the label is the first non-zero decimal digit of ``X1[l]``. The task is easy when X1
and X2 meet early, and hard when each is squeezed through a narrow encoder first.

Draw order, fixed so that a seed determines everything: the seed's sequence is split into
two child streams, the first for the function coefficients (one ``(2, n_freq)`` block per
sample: cosine then sine coefficients), the second for ``l``. Both are drawn sample by
sample, so ``make_lattice_lookup(n, seed=s)`` is the first ``n`` samples of
``make_lattice_lookup(m, seed=s)`` for ``m > n``. Use different seeds for the train,
validation and test sets (e.g. children of one ``numpy.random.SeedSequence``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import InvalidParameterError, SeedLike, check_int, seed_sequence

N_CLASSES = 9
"""Number of classes: first non-zero digits 1..9 map to classes 0..8."""

X1_LOW = 0.1
"""Each sample's X1 is rescaled so its minimum is 0.1: on [0.1, 1) the first non-zero
digit is the tenths digit, so all nine classes occur and no value has a leading zero."""

X1_HIGH = 0.999
"""Each sample's X1 maximum: just below 1, so no value reaches 1.0 (whose first digit, 1,
would merge the top of the range with the class of 0.1..0.199)."""

PE_BASE = 10000.0
"""Wavelength base of the transformer position embedding (Vaswani et al. 2017, sec. 3.5)."""


@dataclass(frozen=True, eq=False)
class LatticeLookup:
    """One sample set of the lattice lookup task.

    Attributes
    ----------
    x1 : numpy.ndarray, float32, shape (n, D + 1)
        ``x1[i, k]`` is sample i's function at ``t_k = k / D``; each row spans exactly
        ``[float32(0.1), float32(0.999)]`` (its minimum and maximum hit the ends).
    x2 : numpy.ndarray, float32, shape (n, embed_dim)
        Sinusoidal position embedding of ``l[i]`` (see :func:`sinusoidal_embedding`).
    y : numpy.ndarray, int64, shape (n,)
        Class ``first_nonzero_digit(x1[i, l[i]]) - 1`` in ``0..8``, computed from the
        float32 value stored in ``x1``.
    l : numpy.ndarray, int64, shape (n,)
        Lattice index in ``0..D``, uniform.
    """

    x1: np.ndarray
    x2: np.ndarray
    y: np.ndarray
    l: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


def first_nonzero_digit(values: ArrayLike) -> np.ndarray:
    """First non-zero decimal digit of ``|values|``, for values of any magnitude.

    For floats the digit is read from the shortest decimal string that rounds back to
    the value in its own precision (what ``repr`` prints; numpy's Dragon4 with
    ``unique=True``), so ``0.3 -> 3`` even though the float64 nearest to 0.3 is
    0.29999999999999998889...: at its precision the float *is* 0.3. This differs from
    the digit of the exact binary value only for floats that are the nearest to a
    one-significant-digit decimal just above them. Integers are exact.

    Parameters
    ----------
    values : array_like of int or float, any shape
        Finite, non-zero numbers; e.g. ``0.0042 -> 4``, ``123.0 -> 1``, ``-0.07 -> 7``.

    Returns
    -------
    numpy.ndarray, int64, same shape as ``values``
        Digits in ``1..9``.

    Raises
    ------
    ValueError
        If any value is zero or not finite, or the values are not real numbers.
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise InvalidParameterError(f"values must be real numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise InvalidParameterError("values must be finite; got NaN or infinity")
    if np.any(arr == 0):
        raise InvalidParameterError("values must be non-zero (zero has no non-zero digit)")
    if arr.dtype.kind == "f":
        # Scientific notation starts with the leading digit, after an optional sign.
        texts = (np.format_float_scientific(v, unique=True) for v in arr.ravel())
    else:
        texts = (str(abs(int(v))) for v in arr.ravel())
    digits = [int(text.lstrip("-")[0]) for text in texts]
    return np.array(digits, dtype=np.int64).reshape(arr.shape)


def sinusoidal_embedding(positions: ArrayLike, embed_dim: int) -> np.ndarray:
    """Transformer position embedding of integer positions.

    ``PE[p, 2i] = sin(p / 10000**(2i / embed_dim))`` and
    ``PE[p, 2i + 1] = cos(p / 10000**(2i / embed_dim))`` for ``i = 0..embed_dim/2 - 1``.

    Parameters
    ----------
    positions : array_like of int, shape (n,)
    embed_dim : int
        Even, ``>= 2``.

    Returns
    -------
    numpy.ndarray, float64, shape (n, embed_dim)
    """
    embed_dim = check_int("embed_dim", embed_dim, minimum=2)
    if embed_dim % 2:
        raise InvalidParameterError(f"embed_dim must be even and >= 2, got {embed_dim}")
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 1)  # (n, 1)
    inv_wavelength = PE_BASE ** (-np.arange(0, embed_dim, 2) / embed_dim)  # (embed_dim/2,)
    angle = pos * inv_wavelength  # (n, embed_dim/2)
    out = np.empty((pos.shape[0], embed_dim))
    out[:, 0::2] = np.sin(angle)
    out[:, 1::2] = np.cos(angle)
    return out


def _smooth_functions(coef: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Evaluate ``f(t) = sum_k (a_k cos(pi k t) + b_k sin(pi k t)) / k`` per sample.

    Angular frequencies are ``pi * k`` (k/2 periods on [0, 1]) rather than ``2 pi k``:
    with whole periods every f would satisfy ``f(0) == f(1)``, tying ``X1[0]`` to
    ``X1[D]`` (and making every sample constant when ``D == 1``).

    coef: (n, 2, n_freq) standard normal [a; b]; t: (D + 1,). Returns (n, D + 1) float64.
    """
    k = np.arange(1, coef.shape[2] + 1)  # (n_freq,)
    phase = np.pi * np.outer(k, t)  # (n_freq, D + 1)
    return (coef[:, 0] / k) @ np.cos(phase) + (coef[:, 1] / k) @ np.sin(phase)


def _rescale_rows(f: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map each row affinely onto [low, high]: its minimum to ``low``, maximum to ``high``.

    Written as ``low * (1 - u) + high * u`` with ``u`` in [0, 1] so both ends are exact.
    A constant row (probability zero for D >= 1) maps to ``low``.
    """
    f_min = f.min(axis=1, keepdims=True)
    span = f.max(axis=1, keepdims=True) - f_min
    u = np.divide(f - f_min, span, out=np.zeros_like(f), where=span > 0)
    return np.clip(low * (1.0 - u) + high * u, low, high)


def make_lattice_lookup(
    n_samples: int,
    *,
    D: int = 32,
    n_freq: int = 4,
    embed_dim: int = 16,
    seed: SeedLike = None,
) -> LatticeLookup:
    """Sample the lattice lookup task.

    Parameters
    ----------
    n_samples : int
        Number of samples, ``>= 0`` (0 gives empty arrays).
    D : int, default 32
        Number of lattice intervals, ``>= 1``; X1 has ``D + 1`` entries.
    n_freq : int, default 4
        Frequencies in each random function, ``>= 1``; coefficients decay like ``1/k``.
    embed_dim : int, default 16
        Width of the position embedding X2; even and ``>= 2``.
    seed : None, int, numpy Generator or SeedSequence, or torch.Generator
        Source of randomness (see module docstring for the draw order).

    Returns
    -------
    LatticeLookup
        ``x1`` float32 (n, D + 1), ``x2`` float32 (n, embed_dim), ``y`` int64 (n,) in
        0..8, ``l`` int64 (n,) in 0..D.
    """
    n_samples = check_int("n_samples", n_samples, minimum=0)
    D = check_int("D", D, minimum=1)
    n_freq = check_int("n_freq", n_freq, minimum=1)
    embed_dim = check_int("embed_dim", embed_dim, minimum=2)
    if embed_dim % 2:
        raise InvalidParameterError(f"embed_dim must be even and >= 2, got {embed_dim}")
    coef_stream, index_stream = (np.random.default_rng(s) for s in seed_sequence(seed).spawn(2))

    t = np.arange(D + 1) / D  # (D + 1,) lattice points k / D
    coef = coef_stream.standard_normal((n_samples, 2, n_freq))  # (n, 2, n_freq)
    f = _smooth_functions(coef, t)  # (n, D + 1)
    x1 = _rescale_rows(f, X1_LOW, X1_HIGH).astype(np.float32)
    l = index_stream.integers(0, D + 1, size=n_samples, dtype=np.int64)  # (n,)
    x2 = sinusoidal_embedding(l, embed_dim).astype(np.float32)
    y = first_nonzero_digit(x1[np.arange(n_samples), l]) - 1
    return LatticeLookup(x1=x1, x2=x2, y=y.astype(np.int64), l=l)
