"""Every seed of an experiment, derived in one place.

One root seed per study. Each trial's data and model seeds derive from it and from
the trial's *key* alone (study name, grid cell, trial number), never from the
trial's position in a sweep, the stack it trains in, or the machine:

- ``data_seed``: the task instance of one (cell, trial). Its key holds only the
  grid axes that change the task, so every design and every model setting of a
  trial sees the same data (paired comparisons);
- ``model_seed``: the models of one (cell, trial). Every design of a cell shares
  it, so late, pro and the rest start from the same base weights;
- ``split_seeds``: the independent train, validation and test streams of a task
  instance that is sampled split by split (the lattice task);
- ``noise_seed``: the test-time corruption of one task instance;
- ``BOOTSTRAP_SEED``: every printed bootstrap interval (same table, same numbers).

The generators (:mod:`progfusion.synthetic`) and the trainer
(:func:`progfusion.models.protocol.model_seeds`) turn these integers into their
own private generators; they never import this module.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = [
    "BOOTSTRAP_SEED",
    "ROOT_SEED",
    "data_seed",
    "derive_seed",
    "model_seed",
    "noise_seed",
    "split_seeds",
]

#: The root seed of a study, a command or a figure when none is given.
ROOT_SEED = 0

#: Seed of every bootstrap interval printed or written from a table.
BOOTSTRAP_SEED = 0


def derive_seed(root: int, *key: object) -> int:
    """A 32-bit seed from the root seed and a key (strings and numbers).

    ``SeedSequence(root, spawn_key=sha256(repr(key)))``: independent streams for
    different keys, the same seed for the same key wherever it is computed.
    """
    digest = hashlib.sha256(repr(key).encode()).digest()
    words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    return int(np.random.SeedSequence(root, spawn_key=words).generate_state(1)[0])


def data_seed(root: int, study: str, task_key: tuple, trial: int) -> int:
    """Seed of the task instance of ``trial`` in the cell whose task axes are ``task_key``."""
    return derive_seed(root, f"{study}-data", *task_key, trial)


def model_seed(root: int, study: str, cell_key: tuple, trial: int) -> int:
    """Seed of every model of ``trial`` in the grid cell ``cell_key`` (all its axes)."""
    return derive_seed(root, f"{study}-model", *cell_key, trial)


def split_seeds(seed: int, n_splits: int = 3) -> list[np.random.SeedSequence]:
    """Independent streams for the splits (train, validation, test) of one task instance."""
    return np.random.SeedSequence(seed).spawn(n_splits)


def noise_seed(seed: int) -> int:
    """Seed of the test-time corruption of the task instance with seed ``seed``."""
    return int(np.random.SeedSequence(seed).generate_state(1)[0])
