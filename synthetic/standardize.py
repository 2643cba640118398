"""Per-feature standardisation with the training split's statistics (SPEC 4.2).

Every input modality and the regression target are standardised, for every fusion design
alike, with the mean and standard deviation of the *training* split::

    scaler = Standardizer.fit(task.train.x1)
    x1_train, x1_test = scaler.transform(task.train.x1), scaler.transform(task.test.x1)

``scaler.std`` is also the ``scale`` that :func:`corrupt` expects for raw inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import InvalidParameterError

STD_FLOOR = 1e-8
"""Smallest standard deviation used for scaling. A constant training feature (std 0)
would divide by zero; 1e-8 is far below the spread of any feature here, so such a feature
just maps to (nearly) 0 after centring, and every real feature is untouched."""


def _as_2d(name: str, x: ArrayLike) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf":
        raise InvalidParameterError(f"{name} must be real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InvalidParameterError(f"{name} must have shape (n, f), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"{name} must be finite; got NaN or infinity")
    return arr.astype(np.float64)


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Per-feature affine map ``(x - mean) / std`` fitted on training data.

    Attributes
    ----------
    mean : numpy.ndarray, float64, shape (f,)
    std : numpy.ndarray, float64, shape (f,)
        Population standard deviation (ddof=0), floored at :data:`STD_FLOOR`.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x_train: ArrayLike) -> Standardizer:
        """Fit mean and std per feature on ``x_train`` (shape (n, f), ``n >= 1``, finite)."""
        arr = _as_2d("x_train", x_train)
        if arr.shape[0] < 1:
            raise InvalidParameterError("x_train must have at least one row")
        return cls(mean=arr.mean(axis=0), std=np.maximum(arr.std(axis=0), STD_FLOOR))

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    def _check_width(self, name: str, arr: np.ndarray) -> None:
        if arr.shape[1] != self.n_features:
            raise InvalidParameterError(
                f"{name} has {arr.shape[1]} features, the standardizer was fit on {self.n_features}"
            )

    def transform(self, x: ArrayLike) -> np.ndarray:
        """``(x - mean) / std`` as float32, shape (n, f) like ``x``."""
        arr = _as_2d("x", x)
        self._check_width("x", arr)
        return ((arr - self.mean) / self.std).astype(np.float32)

    def inverse_transform(self, x: ArrayLike) -> np.ndarray:
        """``x * std + mean`` as float64, shape (n, f): back to the original units."""
        arr = _as_2d("x", x)
        self._check_width("x", arr)
        return arr * self.std + self.mean
