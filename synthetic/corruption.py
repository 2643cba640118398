"""Test-time corruption for the robustness curves (SPEC 3.3).

``corrupt(x, level, scale=..., seed=...)`` adds Gaussian noise whose standard deviation
is ``level * scale`` per feature, where ``scale`` is the per-feature standard deviation of
the *training* inputs (``Standardizer.fit(x_train).std``; on already standardised inputs,
``scale=1.0``). Apply it to every modality, each with its own seed.

The noise pattern depends only on the seed and the shape of ``x``, never on ``level``: with
one seed, the corrupted inputs at levels 0.1, 0.2, ... are the same direction scaled
(common random numbers), so a robustness curve is smooth in the level rather than
re-drawn at each point.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch
from numpy.typing import ArrayLike

from ._validation import InvalidParameterError, SeedLike, check_nonneg, make_rng

DEFAULT_LEVELS: tuple[float, ...] = tuple(round(0.1 * i, 10) for i in range(11))
"""Corruption levels 0.0, 0.1, ..., 1.0 (rounded, so 0.3 is the float 0.3, not
0.30000000000000004)."""

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


def _check_scale(scale: ArrayLike | torch.Tensor, n_features: int) -> np.ndarray:
    """Return ``scale`` as float64, shape () or (n_features,), finite and >= 0."""
    if isinstance(scale, torch.Tensor):
        scale = scale.detach().cpu().numpy()
    arr = np.asarray(scale)
    if arr.dtype.kind not in "iuf":
        raise InvalidParameterError(f"scale must be real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.shape not in ((), (n_features,)):
        raise InvalidParameterError(
            f"scale must be a scalar or have shape ({n_features},) (one per feature of x), "
            f"got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InvalidParameterError("scale must be finite and >= 0 (a standard deviation)")
    return arr


def corrupt(x: ArrayT, level: float, *, scale: ArrayLike | torch.Tensor, seed: SeedLike) -> ArrayT:
    """Return ``x`` plus Gaussian noise with per-feature standard deviation ``level * scale``.

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor, float, shape (n, f)
        Clean inputs of one modality. Never modified.
    level : float
        Corruption level, finite and ``>= 0``; 0 returns an exact copy of ``x``.
    scale : float or array_like, shape (f,)
        Per-feature standard deviation of the training inputs (finite, ``>= 0``; a
        constant training feature, std 0, gets no noise). A scalar applies to all features.
    seed : None, int, numpy Generator or SeedSequence, or torch.Generator
        Source of the noise. The noise is drawn with numpy, as float64 standard normals
        of shape (n, f) in row-major order, so a numpy array and a torch tensor with the
        same values and seed get the same result.

    Returns
    -------
    numpy.ndarray or torch.Tensor, same type, shape and dtype as ``x``
        A tensor stays on ``x``'s device. The noise ``level * scale * N(0, 1)`` is
        computed in float64, cast to ``x``'s dtype, then added in that dtype.
    """
    is_tensor = isinstance(x, torch.Tensor)
    if is_tensor:
        is_float = x.dtype.is_floating_point
    else:
        is_float = isinstance(x, np.ndarray) and x.dtype.kind == "f"
    if not is_float:
        raise InvalidParameterError(
            "x must be a floating-point numpy array or torch.Tensor, "
            f"got {type(x).__name__} with dtype {getattr(x, 'dtype', None)}"
        )
    if x.ndim != 2:
        raise InvalidParameterError(f"x must have shape (n, f), got shape {tuple(x.shape)}")
    level = check_nonneg("level", level)
    std = level * _check_scale(scale, x.shape[1])  # () or (f,)
    rng = make_rng(seed)  # always built, so a caller's generator advances the same way
    if level == 0:
        return x.clone() if is_tensor else x.copy()
    noise = std * rng.standard_normal(tuple(x.shape))  # (n, f) float64
    if is_tensor:
        return x + torch.from_numpy(noise).to(dtype=x.dtype, device=x.device)
    return x + noise.astype(x.dtype)
