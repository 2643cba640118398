"""Tasks: what a study trains on, as frozen dataclasses of their parameters.

A *task* is a frozen dataclass whose fields are its parameters (every one of them
can be a grid axis of a study) and which provides:

- ``objective``: ``"classification"`` or ``"regression"``;
- ``input_dims`` (one width per modality) and ``output_dim``: what a design's
  factory receives;
- ``build(seed) -> ModelData``: one task instance (train, validation and test
  splits), the same for the same seed on any machine;
- optionally ``columns(seed) -> dict``: per-trial columns for the table (the
  lattice task's majority-class accuracy);
- optionally ``stack_key()``: what two instances must share for their models to
  train in one stack (their split sizes and widths); without it, only models of
  equal task instances (all parameters alike) share a stack.

Two are built in, the paper's (:class:`LatticeTask`, Figure 4, and
:class:`LatentTask`, Figures 7 and 8); a user's own task is any class of that
shape. Inputs (and regression targets) are standardised with the training
split's statistics by default (SPEC section 4.2).

Test-time corruption (SPEC 3.3) is the engine's: :func:`with_corruption` adds
``corrupted_test`` to a task instance that has none, with noise ``level`` times
the training inputs' per-feature standard deviation.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from progfusion.models._checks import positive_int
from progfusion.models.data import ModelData, Split
from progfusion.synthetic import Standardizer, corrupt, make_latent_sin, make_lattice_lookup

from . import seeds

__all__ = ["LatentTask", "LatticeTask", "Task", "TASKS", "corrupted_split", "with_corruption"]


@runtime_checkable
class Task(Protocol):
    """What a study needs of a task (see the module docstring)."""

    objective: str

    @property
    def input_dims(self) -> tuple[int, ...]: ...

    @property
    def output_dim(self) -> int: ...

    def build(self, seed: int) -> ModelData: ...


def corrupted_split(split: Split, level: float, *, seed: int, scales=None) -> Split:
    """``split`` with every modality corrupted at ``level`` (SPEC 3.3).

    ``scales``: per modality, the training inputs' per-feature standard deviation
    (None: 1 for every feature, as for standardised inputs). Each modality gets its
    own noise stream, derived from ``seed`` and the modality index; the noise
    pattern is the same at every level (only its size changes).
    """
    streams = seeds.split_seeds(seed, len(split.inputs))
    scales = scales if scales is not None else [1.0] * len(split.inputs)
    xs = [
        corrupt(x, level, scale=scale, seed=s)
        for x, scale, s in zip(split.inputs, scales, streams, strict=True)
    ]
    return Split(tuple(xs), split.target)


def with_corruption(data: ModelData, seed: int) -> ModelData:
    """``data`` with ``corrupted_test`` (noise scaled by the training std) if it has none."""
    if data.corrupted_test is not None:
        return data
    scales = [x.double().std(dim=0, unbiased=False).numpy() for x in data.train.inputs]
    corrupted = functools.partial(
        corrupted_split, data.test, seed=seeds.noise_seed(seed), scales=scales
    )
    return dataclasses.replace(data, corrupted_test=corrupted)


def _standardised(train_xs, other_xs):
    scalers = [Standardizer.fit(x) for x in train_xs]
    fit = [s.transform(x) for s, x in zip(scalers, train_xs, strict=True)]
    rest = [[s.transform(x) for s, x in zip(scalers, xs, strict=True)] for xs in other_xs]
    return fit, rest


def _check_sizes(task: Any) -> None:
    """Split sizes: at least one training and one test sample; validation may be empty."""
    for name, minimum in (("n_train", 1), ("n_val", 0), ("n_test", 1)):
        positive_int(f"task.{name}", getattr(task, name), minimum=minimum)


@dataclass(frozen=True)
class LatticeTask:
    """The lattice-lookup task (Figure 4): classification into 9 classes (digits 1-9).

    Parameters: training, validation and test sizes; ``D`` lattice intervals;
    ``n_freq`` frequencies of each sample's random function; ``embed_dim`` entries
    of the position embedding (see :func:`progfusion.synthetic.make_lattice_lookup`);
    ``standardize``: inputs standardised with training statistics.
    """

    n_train: int = 20_000
    n_val: int = 2_000
    n_test: int = 4_000
    D: int = 32
    n_freq: int = 4
    embed_dim: int = 16
    standardize: bool = True

    objective = "classification"

    def __post_init__(self) -> None:
        _check_sizes(self)
        make_lattice_lookup(1, D=self.D, n_freq=self.n_freq, embed_dim=self.embed_dim, seed=0)

    @property
    def input_dims(self) -> tuple[int, ...]:
        return (self.D + 1, self.embed_dim)

    def stack_key(self) -> tuple:
        """Split sizes and widths: instances alike in these stack together."""
        return ("lattice", self.n_train, self.n_val, self.n_test, self.D, self.embed_dim)

    @property
    def output_dim(self) -> int:
        return 9

    def _splits(self, seed: int, which: tuple[int, ...] = (0, 1, 2)):
        """Splits ``which`` (0 train, 1 validation, 2 test), each from its own stream."""
        sizes = (self.n_train, self.n_val, self.n_test)
        streams = seeds.split_seeds(seed)
        kwargs = dict(D=self.D, n_freq=self.n_freq, embed_dim=self.embed_dim)
        return [make_lattice_lookup(sizes[i], seed=streams[i], **kwargs) for i in which]

    def build(self, seed: int) -> ModelData:
        train, val, test = self._splits(seed)
        xs = [[p.x1, p.x2] for p in (train, val, test)]
        if self.standardize:
            xs[0], xs[1:] = _standardised(xs[0], xs[1:])
        return ModelData(
            train=Split.of(xs[0], train.y),
            val=Split.of(xs[1], val.y) if self.n_val else None,
            test=Split.of(xs[2], test.y),
        )

    def columns(self, seed: int) -> dict[str, float]:
        """``majority``: test accuracy of always predicting the training split's majority class."""
        train, test = self._splits(seed, which=(0, 2))
        majority = np.bincount(train.y, minlength=9).argmax()
        return {"majority": float(np.mean(test.y == majority))}


@dataclass(frozen=True)
class LatentTask:
    """The latent lReLU/sin task (Figures 7 and 8): regression.

    Parameters: training, validation and test sizes; ``eta`` (X1's corruption by
    the X2-explained nuisance) and ``sigma2`` (X2's noise); ``dz``, ``dx``, ``dy``
    widths; ``noise_scale`` of every eps; ``lrelu_slope``; ``standardize``: inputs
    standardised with training statistics, and targets too unless ``standardize_y``
    is False (raw Y then: its variance is about 16, so every MSE is in Y's units; see
    :func:`progfusion.synthetic.make_latent_sin`).
    """

    n_train: int = 4_096
    n_val: int = 1_024
    n_test: int = 2_048
    eta: float = 1.0
    sigma2: float = 1.0
    dz: int = 8
    dx: int = 16
    dy: int = 1
    noise_scale: float = 1.0
    lrelu_slope: float = 0.01
    standardize: bool = True
    standardize_y: bool = True

    objective = "regression"

    def __post_init__(self) -> None:
        _check_sizes(self)
        for name in ("standardize", "standardize_y"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"task.{name} must be true or false, got {getattr(self, name)!r}")
        self._generate(1, 1, 0, seed=0)  # the generator's own checks, on a tiny instance

    def _generate(self, n_train: int, n_test: int, n_val: int, *, seed: int):
        return make_latent_sin(
            n_train,
            n_test,
            n_val=n_val,
            eta=self.eta,
            sigma2=self.sigma2,
            dz=self.dz,
            dx=self.dx,
            dy=self.dy,
            noise_scale=self.noise_scale,
            lrelu_slope=self.lrelu_slope,
            seed=seed,
        )

    @property
    def input_dims(self) -> tuple[int, ...]:
        return (self.dx, self.dx)

    def stack_key(self) -> tuple:
        """Split sizes and widths: instances alike in these stack together."""
        return ("latent", self.n_train, self.n_val, self.n_test, self.dx, self.dy)

    @property
    def output_dim(self) -> int:
        return self.dy

    def build(self, seed: int) -> ModelData:
        task = self._generate(self.n_train, self.n_test, self.n_val, seed=seed)
        splits = (task.train, task.val, task.test)
        xs = [[s.x1, s.x2] for s in splits]
        ys = [s.y for s in splits]
        if self.standardize:
            xs[0], xs[1:] = _standardised(xs[0], xs[1:])
        if self.standardize and self.standardize_y:
            y_scale = Standardizer.fit(ys[0])
            ys = [y_scale.transform(y) for y in ys]
        test = Split.of(xs[2], ys[2])
        scales = None if self.standardize else [x.std(axis=0) for x in xs[0]]
        return ModelData(
            train=Split.of(xs[0], ys[0]),
            val=Split.of(xs[1], ys[1]) if self.n_val else None,
            test=test,
            corrupted_test=functools.partial(
                corrupted_split, test, seed=seeds.noise_seed(seed), scales=scales
            ),
        )


#: The built-in tasks by name (a study file's ``[task] name = ...``).
TASKS: dict[str, type] = {"lattice": LatticeTask, "latent": LatentTask}
