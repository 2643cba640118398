"""Small shared checkers for the synthetic generators, and their private random generators.

Every public generator validates its arguments here, so that a bad value fails early with
an error that names the parameter and the allowed range. Seeds are turned into a private
``numpy.random.Generator``; no function here reads or changes global random state
(``numpy.random.*`` legacy functions, ``random``, or torch's default generator).
"""

from __future__ import annotations

import math
import numbers
from typing import TypeAlias

import numpy as np
import torch

SeedLike: TypeAlias = (
    int | np.integer | np.random.Generator | np.random.SeedSequence | torch.Generator | None
)
"""What every ``seed`` argument accepts (see :func:`seed_sequence`)."""

# torch.randint's upper bound is exclusive and must fit in int64: 2**63 - 1 is the largest.
_TORCH_SEED_HIGH = 2**63 - 1


class InvalidParameterError(ValueError, TypeError):
    """A generator argument has a bad value or type.

    It is both a ``ValueError`` (the documented contract) and a ``TypeError`` (what Python
    raises for a wrong type), so either ``except`` clause catches it, as in scikit-learn.
    """


def check_int(name: str, value: object, *, minimum: int = 0) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer ``>= minimum``.

    Python ints and numpy integer scalars are accepted; bools and floats (even ``3.0``)
    are not, since a size given as a float is usually a bug.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise InvalidParameterError(
            f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_finite(name: str, value: object) -> float:
    """Return ``value`` as a ``float`` after checking it is a finite real number."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(
            f"{name} must be a finite real number, got {value!r} ({type(value).__name__})"
        )
    out = float(value)
    if not math.isfinite(out):
        raise InvalidParameterError(f"{name} must be a finite real number, got {out}")
    return out


def check_nonneg(name: str, value: object) -> float:
    """Return ``value`` as a ``float`` after checking it is finite and ``>= 0``."""
    out = check_finite(name, value)
    if out < 0:
        raise InvalidParameterError(f"{name} must be finite and >= 0, got {out}")
    return out


def seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Turn any accepted ``seed`` into a fresh ``numpy.random.SeedSequence`` owned by the caller.

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence, numpy.random.Generator or torch.Generator
        - ``None``: fresh entropy from the operating system (not reproducible).
        - ``int >= 0``: a fixed seed; the same int always gives the same result.
        - ``SeedSequence``: copied (its spawn counter is not advanced), so the same
          sequence always gives the same result, e.g. a child from ``SeedSequence.spawn``.
        - ``numpy.random.Generator`` or ``torch.Generator``: one 63-bit integer is drawn
          from it and used as the seed. This advances the caller's generator (it is
          theirs), so two calls with the same generator object give different data.

    Returns
    -------
    numpy.random.SeedSequence
        A new object; spawning children from it never affects the caller's objects.
    """
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(
            seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size
        )
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63, dtype=np.uint64)))
    if isinstance(seed, torch.Generator):
        drawn = torch.randint(0, _TORCH_SEED_HIGH, (1,), generator=seed, device=seed.device)
        return np.random.SeedSequence(int(drawn))
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool | np.bool_):
        return np.random.SeedSequence(check_int("seed", seed, minimum=0))
    raise InvalidParameterError(
        "seed must be None, an int >= 0, a numpy SeedSequence or Generator, or a "
        f"torch.Generator; got {seed!r} ({type(seed).__name__})"
    )


def make_rng(seed: SeedLike) -> np.random.Generator:
    """A private ``numpy.random.Generator`` built from ``seed`` (see :func:`seed_sequence`)."""
    return np.random.default_rng(seed_sequence(seed))
