"""Argument checks shared by the models package (one definition each)."""

from __future__ import annotations

import numpy as np

__all__ = ["positive_int"]


def positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``, else a ValueError naming ``name``.

    Python and numpy integers are accepted; bools and floats (even ``3.0``) are not.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
