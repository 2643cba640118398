"""Picklable data recipes: one trial's task instance, standardised, ready to train on.

A recipe is a small frozen dataclass (parameters plus a data seed); ``build()``
regenerates the same data anywhere, so shards sent to other processes or machines
carry recipes, not arrays. Inputs (and, for regression, targets) are standardised
with the training split's statistics (SPEC section 4.2), for every design alike.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from progfusion.models.data import ModelData, Split
from progfusion.synthetic import Standardizer, corrupt, make_latent_sin, make_lattice_lookup

__all__ = ["LatticeRecipe", "LatentRecipe", "corrupted_split"]


def corrupted_split(split: Split, level: float, *, seed: int) -> Split:
    """``split`` with every modality corrupted at ``level`` (SPEC 3.3).

    The inputs are standardised with training statistics, so the per-feature
    training standard deviation is 1 and ``scale=1``. Each modality gets its own
    noise stream, derived from ``seed`` and the modality index; the noise pattern
    is the same at every level (only its size changes).
    """
    streams = np.random.SeedSequence(seed).spawn(len(split.inputs))
    xs = [corrupt(x, level, scale=1.0, seed=s) for x, s in zip(split.inputs, streams, strict=True)]
    return Split(tuple(xs), split.target)


def _standardised(train_xs, other_xs):
    scalers = [Standardizer.fit(x) for x in train_xs]
    fit = [s.transform(x) for s, x in zip(scalers, train_xs, strict=True)]
    rest = [[s.transform(x) for s, x in zip(scalers, xs, strict=True)] for xs in other_xs]
    return fit, rest


@dataclass(frozen=True)
class LatticeRecipe:
    """The lattice-lookup task of one trial (Figure 4): classification, 9 classes."""

    seed: int
    n_train: int
    n_val: int
    n_test: int
    D: int = 32

    def build(self) -> ModelData:
        seeds = np.random.SeedSequence(self.seed).spawn(3)  # train, val, test streams
        parts = [
            make_lattice_lookup(n, D=self.D, seed=s)
            for n, s in zip((self.n_train, self.n_val, self.n_test), seeds, strict=True)
        ]
        train, (val, test) = _standardised(
            [parts[0].x1, parts[0].x2], [[p.x1, p.x2] for p in parts[1:]]
        )
        return ModelData(
            train=Split.of(train, parts[0].y),
            val=Split.of(val, parts[1].y),
            test=Split.of(test, parts[2].y),
        )

    def majority_accuracy(self) -> float:
        """Test accuracy of always predicting the training split's majority class."""
        seeds = np.random.SeedSequence(self.seed).spawn(3)
        y_train = make_lattice_lookup(self.n_train, D=self.D, seed=seeds[0]).y
        y_test = make_lattice_lookup(self.n_test, D=self.D, seed=seeds[2]).y
        majority = np.bincount(y_train, minlength=9).argmax()
        return float(np.mean(y_test == majority))


@dataclass(frozen=True)
class LatentRecipe:
    """The latent lReLU/sin task of one trial (Figures 7 and 8): regression."""

    seed: int
    eta: float
    sigma2: float
    n_train: int
    n_val: int
    n_test: int

    def build(self) -> ModelData:
        task = make_latent_sin(
            self.n_train,
            self.n_test,
            n_val=self.n_val,
            eta=self.eta,
            sigma2=self.sigma2,
            seed=self.seed,
        )
        splits = (task.train, task.val, task.test)
        train, (val, test) = _standardised(
            [task.train.x1, task.train.x2], [[s.x1, s.x2] for s in splits[1:]]
        )
        y_scale = Standardizer.fit(task.train.y)
        ys = [y_scale.transform(s.y) for s in splits]
        test_split = Split.of(test, ys[2])
        noise_seed = int(np.random.SeedSequence(self.seed).generate_state(1)[0])
        return ModelData(
            train=Split.of(train, ys[0]),
            val=Split.of(val, ys[1]) if self.n_val else None,
            test=test_split,
            corrupted_test=functools.partial(corrupted_split, test_split, seed=noise_seed),
        )
