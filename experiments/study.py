"""A study: what to train, as data. :func:`~.run.run_study` turns it into a table.

A :class:`Study` holds a task and its parameters, the designs to compare, fixed
design parameters, a grid of any task, design or training parameter (crossed in
order, like scikit-learn's ``ParameterGrid``), the training protocol, the number of
trials, the root seed and the test-time noise levels. It is frozen, validated on
construction (a ``ValueError`` that names the field), and round-trips through TOML
(:mod:`.studyfile`).

A grid axis is a list of values of one parameter (``width = [4, 8, 32]``) or a
table of named settings, each setting one or more parameters at once
(``panel = {a = {head_hidden = 0}, b = {head_hidden = 64}}``); the axis' column then
holds the setting's name and each parameter gets a column of its own.

Every (cell, trial) trains every design on the same data with the same model seed
(paired comparisons; :mod:`.seeds`): a design that ignores a parameter (late fusion
and ``R``) is still trained once per cell, so each cell's designs pair up.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from progfusion.models._checks import positive_int
from progfusion.models.protocol import PROTOCOLS, Protocol

from .columns import RESULT_COLUMNS
from .designs import DesignRef, accepts, bound_params, design_label, factory_of, factory_params
from .scores import SCORES, ScoreRef, score_function, score_name
from .seeds import ROOT_SEED
from .tasks import Task

__all__ = ["Cell", "MAX_MODELS", "Protocol", "Study", "PROTOCOLS"]

#: Grid or protocol keys and the :class:`Protocol` field each sets (``protocol`` sets
#: its ``name``).
_PROTOCOL_KEYS = {"protocol": "name"} | {
    f.name: f.name for f in dataclasses.fields(Protocol) if f.name != "name"
}
#: Columns the engine writes itself; no parameter may take these names.
#: The most models one study may hold: 10^7 models of the paper's sizes would take
#: months on a GPU, and listing them alone takes minutes and gigabytes.
MAX_MODELS = 10**7

RESERVED = {"job_id", "design", "trial", "data_seed", "seed", "n_params"}
RESERVED |= {"n_params_effective", "flops_per_sample"}
RESERVED |= {"config", "error", *RESULT_COLUMNS}


@dataclass(frozen=True)
class Cell:
    """One point of the grid.

    ``key``: the value (or setting name) of each axis, in grid order; ``columns``:
    the axis columns and the parameters a named setting sets; ``params``: every
    parameter the cell sets.
    """

    key: tuple
    columns: Mapping[str, Any]
    params: Mapping[str, Any]


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType({k: _scalar(v) for k, v in (mapping or {}).items()})


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python one (seeds and ids are derived from its repr)."""
    return value.item() if isinstance(value, np.generic) else value


def _axis(name: str, values: Any) -> tuple[tuple[Any, dict[str, Any]], ...]:
    """An axis as ``(column value, parameters it sets)`` pairs."""
    if isinstance(values, Mapping):
        if not values or not all(isinstance(s, Mapping) and s for s in values.values()):
            raise ValueError(f"grid.{name}: each named setting must set at least one parameter")
        return tuple((label, {k: _scalar(v) for k, v in s.items()}) for label, s in values.items())
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if isinstance(values, str) or not isinstance(values, Sequence) or not len(values):
        raise ValueError(f"grid.{name} must be a non-empty list of values, got {values!r}")
    return tuple((_scalar(v), {name: _scalar(v)}) for v in values)


@dataclass(frozen=True)
class Study:
    """A whole experiment as data (see the module docstring).

    Parameters
    ----------
    name
        Names the table, and enters every seed (renaming a study changes its draws).
    task
        A task instance (:class:`~.tasks.LatentTask`, :class:`~.tasks.LatticeTask`
        or a user's); its fields are the task's fixed parameters.
    designs
        Names (``late``, ``early``, ``pro``, ``iterative``, ``late-wide``),
        ``"module:function"`` references or factories (see :mod:`.designs`).
    params
        Fixed design parameters (``width``, ``depth``, ``head_hidden``, ``R``, ``p``,
        ``context``, or a user factory's own).
    grid
        Axis name to a list of values or a table of named settings (crossed in order).
    protocol
        The training :class:`Protocol`.
    trials, seed
        Trials per cell (>= 1) and the root seed (>= 0).
    noise_levels
        Test-time corruption levels (SPEC 3.3), strictly increasing, >= 0; empty: none.
    labels
        Constant columns written first in every row (for example ``figure = "7"``).
    design_params
        Per design (by its ``design`` column label), parameters of its own: design
        parameters (``{"pro": {"R": 3}}``) or training ones (``{"late": {"lr": 3e-3}}``,
        any :class:`Protocol` field but ``name``). They replace the study's
        ``params`` and ``protocol`` for that design's models only; a grid axis may not
        set them too, and task parameters are shared by every design of a cell (the
        comparisons are paired), so they cannot be given per design. Each model's
        row records the values it trained with.
    metrics
        Extra test metrics, a column ``test_<name>`` each (:mod:`.scores`).
    per_modality
        Also evaluate each modality corrupted alone at every noise level, and each
        modality missing (zeroed, or its training mean): :mod:`.modalities`.
    """

    name: str
    task: Task
    designs: tuple[DesignRef, ...] = ("late", "pro")
    params: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, Any] = field(default_factory=dict)
    protocol: Protocol = field(default_factory=Protocol)
    trials: int = 10
    seed: int = ROOT_SEED
    noise_levels: tuple[float, ...] = ()
    labels: Mapping[str, Any] = field(default_factory=dict)
    design_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    metrics: tuple[ScoreRef, ...] = ()
    per_modality: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ValueError(f"name must be a non-empty string without '/', got {self.name!r}")
        set_(
            self,
            "designs",
            tuple([self.designs] if isinstance(self.designs, str) else self.designs),
        )
        set_(self, "params", _frozen(self.params))
        set_(self, "grid", _frozen(self.grid))
        set_(self, "labels", _frozen(self.labels))
        if not isinstance(self.design_params, Mapping):
            raise ValueError(f"design_params must be a mapping, got {self.design_params!r}")
        set_(self, "design_params", _frozen_per_design(self.design_params))
        set_(self, "metrics", _metrics(self.metrics, self.task))
        set_(self, "noise_levels", tuple(float(v) for v in self.noise_levels))
        if not isinstance(self.per_modality, bool):
            raise ValueError(f"per_modality must be True or False, got {self.per_modality!r}")
        set_(self, "trials", positive_int("trials", self.trials))
        set_(self, "seed", positive_int("seed", self.seed, minimum=0))
        _check_task(self.task)
        if not isinstance(self.protocol, Protocol):
            raise ValueError(f"protocol must be a Protocol, got {type(self.protocol).__name__}")
        self.protocol.train_config(self.task.objective, self.noise_levels)
        self._check_designs()
        self._check_names()
        self._check_design_params()
        self._check_size()
        for cell in self.cells():  # every cell's task, protocol and design parameters
            self.cell_settings(cell)

    # ------------------------------------------------------------------ structure

    @property
    def axes(self) -> dict[str, tuple[tuple[Any, dict[str, Any]], ...]]:
        return {name: _axis(name, values) for name, values in self.grid.items()}

    def cells(self) -> list[Cell]:
        """Every grid cell, in grid order (the first axis varies slowest)."""
        axes = self.axes
        cells = []
        for combo in itertools.product(*axes.values()):
            columns: dict[str, Any] = {}
            params: dict[str, Any] = dict(self.params)
            for name, (label, settings) in zip(axes, combo, strict=True):
                columns[name] = label
                columns.update({k: v for k, v in settings.items() if k != name})
                params.update(settings)
            cells.append(Cell(tuple(label for label, _ in combo), columns, params))
        return cells

    def task_axes(self) -> list[str]:
        """Axes that change the task (they enter the data seed)."""
        fields = _field_names(self.task)
        return [n for n, axis in self.axes.items() if any(k in fields for _, s in axis for k in s)]

    def cell_settings(self, cell: Cell) -> tuple[Task, Protocol, dict[str, Any]]:
        """The task, protocol and design parameters of ``cell`` (before any design's own)."""
        task_fields = _field_names(self.task)
        task_params = {k: v for k, v in cell.params.items() if k in task_fields}
        proto = {_PROTOCOL_KEYS[k]: v for k, v in cell.params.items() if k in _PROTOCOL_KEYS}
        design = {
            k: v for k, v in cell.params.items() if k not in task_fields and k not in _PROTOCOL_KEYS
        }
        try:
            task = dataclasses.replace(self.task, **task_params) if task_params else self.task
            protocol = dataclasses.replace(self.protocol, **proto) if proto else self.protocol
        except TypeError as exc:
            raise ValueError(f"grid: {exc}") from None
        if proto:
            protocol.train_config(task.objective, self.noise_levels)
        for ref in self.designs:
            self.design_settings(ref, task, protocol, design)
        return task, protocol, design

    def design_settings(
        self, ref: DesignRef, task: Task, protocol: Protocol, params: Mapping[str, Any]
    ) -> tuple[Protocol, dict[str, Any], dict[str, Any]]:
        """One design's protocol, factory keywords and row columns in a cell.

        ``protocol`` and ``params``: the cell's (:meth:`cell_settings`). Returns the
        protocol with the design's own training parameters, the keywords its factory
        is called with, and the values to record in its rows beyond the cell's: its
        own parameters and what its factory binds itself (``functools.partial``).
        """
        label = design_label(ref)
        own = dict(self.design_params.get(label, {}))
        proto = {_PROTOCOL_KEYS[k]: v for k, v in own.items() if k in _PROTOCOL_KEYS}
        merged = {**params, **{k: v for k, v in own.items() if k not in _PROTOCOL_KEYS}}
        if proto:
            try:
                protocol = dataclasses.replace(protocol, **proto)
                protocol.train_config(task.objective, self.noise_levels)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"design_params.{label}: {exc}") from None
        factory = factory_of(ref)
        keywords = factory_params(factory, merged, label)
        bound = bound_params(factory)
        for name in sorted(set(bound) & set(merged)):
            if merged[name] != bound[name]:
                raise ValueError(
                    f"designs: {label!r} binds {name}={bound[name]!r} itself, but the study "
                    f"sets {name}={merged[name]!r}: drop one of them (or give the design its "
                    f"own value in design_params)"
                )
        columns = {**own, **{k: v for k, v in bound.items() if k not in merged}}
        return protocol, keywords, columns

    def with_(self, **changes: Any) -> Study:
        """A copy with ``changes`` (any field), validated again."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ checks

    def _check_size(self) -> None:
        """Refuse a study of more than :data:`MAX_MODELS` models (before any is listed)."""
        cells = math.prod(len(values) for values in self.axes.values())
        n_models = cells * self.trials * len(self.designs)
        if n_models > MAX_MODELS:
            raise ValueError(
                f"trials: {self.trials:,} trials x {cells} cells x {len(self.designs)} designs "
                f"= {n_models:,} models in study {self.name!r}, over the limit of "
                f"{MAX_MODELS:,} models per study (MAX_MODELS)"
            )

    def _check_designs(self) -> None:
        if not self.designs:
            raise ValueError("designs must name at least one design")
        labels = [design_label(ref) for ref in self.designs]
        for ref in self.designs:
            try:
                factory_of(ref)
            except ValueError as exc:
                raise ValueError(f"designs: {exc}") from None
        if len(set(labels)) != len(labels):
            raise ValueError(f"designs must have distinct names, got {labels}")

    def _check_names(self) -> None:
        task_fields = _field_names(self.task)
        factories = [factory_of(ref) for ref in self.designs]
        names = set(self.params) | {k for axis in self.axes.values() for _, s in axis for k in s}
        for name in sorted(self.params):
            if name in task_fields or name in _PROTOCOL_KEYS:
                where = "task" if name in task_fields else "protocol"
                raise ValueError(f"params.{name} is a {where} parameter: set it in [{where}]")
        for name in sorted(names | set(self.grid) | set(self.labels)):
            if name in RESERVED:
                raise ValueError(f"{name!r} is a column the engine writes; choose another name")
        for name in sorted(names):
            if name in task_fields or name in _PROTOCOL_KEYS:
                continue
            if not any(accepts(f, name) for f in factories):
                raise ValueError(
                    f"grid/params: {name!r} is not a parameter of the task "
                    f"({', '.join(sorted(task_fields))}), of the protocol "
                    f"({', '.join(_PROTOCOL_KEYS)}), or of any design"
                )
        levels = self.noise_levels
        if any(not math.isfinite(v) or v < 0 for v in levels) or list(levels) != sorted(
            set(levels)
        ):
            raise ValueError(f"noise_levels must be finite, >= 0 and increasing, got {levels}")

    def _check_design_params(self) -> None:
        labels = [design_label(ref) for ref in self.designs]
        task_fields = _field_names(self.task)
        swept = {k for axis in self.axes.values() for _, s in axis for k in s}
        for label, own in self.design_params.items():
            where = f"design_params.{label}"
            if label not in labels:
                raise ValueError(f"{where}: no such design (the study's: {', '.join(labels)})")
            factory = factory_of(self.designs[labels.index(label)])
            for name in sorted(own):
                if name in task_fields:
                    raise ValueError(
                        f"{where}.{name} is a task parameter: every design of a cell trains "
                        "on the same data, so set it in [task] or the grid"
                    )
                if name in swept:
                    raise ValueError(f"{where}.{name} is also a grid axis: set it in one place")
                if name == "protocol" or name in RESERVED:
                    raise ValueError(f"{where}.{name}: not a parameter a design can set")
                if name not in _PROTOCOL_KEYS and not accepts(factory, name):
                    training = ", ".join(k for k in _PROTOCOL_KEYS if k != "protocol")
                    raise ValueError(
                        f"{where}.{name} is neither a parameter of design {label!r} nor a "
                        f"training parameter ({training})"
                    )


def _metrics(metrics: Any, task: Any) -> tuple:
    """``metrics`` as a tuple, each checked (see :mod:`.scores`)."""
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    metrics = tuple(metrics)
    names = [score_name(m) for m in metrics]
    for ref, name in zip(metrics, names, strict=True):
        if isinstance(ref, str) and ref in SCORES:
            objective = SCORES[ref][1]
            if objective != getattr(task, "objective", objective):
                raise ValueError(
                    f"metrics: {ref!r} is for {objective}, the task is {task.objective}"
                )
        elif isinstance(ref, str) and ":" in ref:
            try:
                score_function(ref)
            except ValueError as exc:
                raise ValueError(f"metrics: {exc}") from None
        elif not callable(ref):
            raise ValueError(
                f"metrics: expected {', '.join(SCORES)}, a 'module:function' reference or a "
                f"callable (y_true, y_pred) -> float, got {ref!r}"
            )
        if name in ("accuracy", "mse", "loss") or not name.isidentifier():
            raise ValueError(f"metrics: {name!r} cannot name a column test_{name}")
    if len(set(names)) != len(names):
        raise ValueError(f"metrics must have distinct names, got {names}")
    return metrics


def _frozen_per_design(mapping: Mapping) -> Mapping:
    out = {}
    for label, own in mapping.items():
        if not isinstance(own, Mapping):
            raise ValueError(f"design_params.{label} must be a mapping of parameters, got {own!r}")
        out[label] = _frozen(own)
    return MappingProxyType(out)


def _field_names(task: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(task)}


def _check_task(task: Any) -> None:
    if not dataclasses.is_dataclass(task) or isinstance(task, type):
        raise ValueError(
            f"task must be a task instance (a frozen dataclass such as LatentTask()), got {task!r}"
        )
    if not isinstance(task, Task) or task.objective not in ("classification", "regression"):
        raise ValueError(
            "task must provide objective ('classification' or 'regression'), "
            "input_dims, output_dim and build(seed)"
        )
