"""The one tolerance helper for every float comparison in the test suite.

Import it as ``from tests.helpers import assert_close`` (``tests`` is a package, so
pytest puts the repository root on ``sys.path`` and this import works from any test
file under ``tests/``).

Tolerances are stated once, here, per floating dtype: a comparison passes when
``|actual - expected| <= atol + rtol * |expected|`` elementwise. Exact identities
(for example "c = 0 gives the base model bit for bit") are tested with
``torch.equal`` / ``numpy.array_equal`` instead, not with a tolerance.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

import numpy as np
import torch

__all__ = ["TOLERANCES", "assert_close", "global_rng_untouched", "tolerance"]

#: (atol, rtol) per dtype name. float64: a few hundred ulps of values of order 1,
#: room for a different summation order but not for a different formula.
#: float32: about ten ulps of values of order 1.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-12, 1e-12),
    "float32": (1e-6, 1e-6),
}


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, torch.dtype):
        return str(dtype).removeprefix("torch.")
    return np.dtype(dtype).name


def tolerance(dtype: Any) -> tuple[float, float]:
    """``(atol, rtol)`` for ``dtype`` (a torch dtype, numpy dtype or dtype name)."""
    name = _dtype_name(dtype)
    if name not in TOLERANCES:
        raise ValueError(f"dtype: no tolerance stated for {name}; known: {sorted(TOLERANCES)}")
    return TOLERANCES[name]


def assert_close(actual: Any, expected: Any, *, dtype: Any) -> None:
    """Assert ``actual`` equals ``expected`` within the tolerance stated for ``dtype``.

    Parameters
    ----------
    actual, expected
        Tensors, numpy arrays or Python numbers of the same shape. Two tensors are
        compared with :func:`torch.testing.assert_close`, which also checks that
        their dtypes and devices agree; anything else is compared as numpy arrays.
        NaN never equals NaN.
    dtype
        The precision the values were computed in (``torch.float64``,
        ``np.float32``, ``"float64"``, ...); it selects the tolerance.
    """
    atol, rtol = tolerance(dtype)
    if isinstance(actual, torch.Tensor) and isinstance(expected, torch.Tensor):
        torch.testing.assert_close(actual, expected, atol=atol, rtol=rtol, equal_nan=False)
        return
    a = actual.detach().cpu().numpy() if isinstance(actual, torch.Tensor) else np.asarray(actual)
    e = (
        expected.detach().cpu().numpy()
        if isinstance(expected, torch.Tensor)
        else np.asarray(expected)
    )
    assert a.shape == e.shape, f"shape mismatch: actual {a.shape}, expected {e.shape}"
    np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, equal_nan=False)


@contextlib.contextmanager
def global_rng_untouched():
    """Fail if the body changes numpy's, torch's or Python's global random state.

    Each global generator is first advanced one draw, so that a body which reseeds it
    (even with the seed it had) is caught. The legacy calls are the point, hence noqa."""
    np.random.random(), torch.rand(1), random.random()  # noqa: NPY002
    np_state, torch_state = np.random.get_state(), torch.random.get_rng_state()  # noqa: NPY002
    py_state = random.getstate()
    yield
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(np_state, after, strict=True))
    assert torch.equal(torch_state, torch.random.get_rng_state())
    assert py_state == random.getstate()
