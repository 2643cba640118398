"""A study as a list of jobs: one job is one model to train, with the labels of its row.

Jobs carry recipes, not arrays or modules: a :class:`DataRecipe` (task and seed)
and a :class:`~.designs.ModelRecipe` are small frozen dataclasses that rebuild the
same data and the same model anywhere, so jobs travel to worker processes and Dask
workers cheaply.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from progfusion.models.data import ModelData
from progfusion.models.protocol import TrainConfig

from . import seeds
from .designs import ModelRecipe, design_label
from .study import Cell, Study
from .tasks import Task, with_corruption

__all__ = ["DataRecipe", "Job", "study_jobs"]


@dataclass(frozen=True)
class DataRecipe:
    """One task instance: ``build()`` regenerates it (with corrupted test inputs if ``corrupt``)."""

    task: Task
    seed: int
    corrupt: bool = False

    def build(self) -> ModelData:
        data = self.task.build(self.seed)
        return with_corruption(data, self.seed) if self.corrupt else data


@dataclass(frozen=True)
class Job:
    """One model to train: its architecture, data, seed, protocol and the labels of its row.

    ``labels``: the row's leading columns as ``(name, value)`` pairs, ``job_id`` first.
    """

    job_id: str
    model: ModelRecipe
    data: DataRecipe
    seed: int
    config: TrainConfig
    labels: tuple[tuple[str, Any], ...]
    scores: tuple = ()  # the study's extra metrics (:mod:`.scores`)
    per_modality: bool = False  # each modality corrupted alone and missing (:mod:`.modalities`)

    def row(self) -> dict[str, Any]:
        return dict(self.labels)


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _parameter_columns(cell: Cell, task: Task, protocol) -> dict[str, Any]:
    """Every parameter of the cell's models that is not an axis column already."""
    columns = {f.name: getattr(task, f.name) for f in dataclasses.fields(task)}
    columns.update({k: v for k, v in cell.params.items() if k not in columns})
    columns.update(
        {
            "protocol" if f.name == "name" else f.name: getattr(protocol, f.name)
            for f in dataclasses.fields(protocol)
            if f.metadata.get("column", True)
        }
    )
    return {k: v for k, v in columns.items() if k not in cell.columns}


def study_jobs(study: Study) -> list[Job]:
    """Every model of ``study``, in table order: cells, then trials, then designs."""
    task_axes = study.task_axes()
    extras: dict[tuple[Task, int], dict[str, Any]] = {}
    jobs = []
    for cell in study.cells():
        task, protocol, params = study.cell_settings(cell)
        designs = []  # (label, recipe, train config, parameter columns) per design
        for ref in study.designs:
            own_protocol, keywords, own_columns = study.design_settings(ref, task, protocol, params)
            recipe = ModelRecipe.of(ref, task.input_dims, task.output_dim, keywords)
            config = own_protocol.train_config(task.objective, study.noise_levels)
            columns = _parameter_columns(cell, task, own_protocol)
            columns.update(own_columns)
            designs.append((design_label(ref), recipe, config, columns))
        task_key = tuple(
            label for name, label in zip(study.grid, cell.key, strict=True) if name in task_axes
        )
        cell_id = "".join(
            f"|{name}={_show(label)}" for name, label in zip(study.grid, cell.key, strict=True)
        )
        for trial in range(study.trials):
            data_seed = seeds.data_seed(study.seed, study.name, task_key, trial)
            seed = seeds.model_seed(study.seed, study.name, cell.key, trial)
            data = DataRecipe(task, data_seed, corrupt=bool(study.noise_levels))
            if (task, data_seed) not in extras:
                columns = getattr(task, "columns", None)
                extras[task, data_seed] = dict(columns(data_seed)) if columns else {}
            for label, recipe, config, parameters in designs:
                job_id = f"{study.name}{cell_id}|design={label}|trial={trial}"
                row = {
                    "job_id": job_id, **study.labels, **cell.columns, "design": label,
                    "trial": trial, "data_seed": data_seed, **extras[task, data_seed],
                    "seed": seed, "n_params": recipe.parameter_count(), **recipe.costs(),
                    **parameters,
                }  # fmt: skip
                labels = tuple(row.items())
                jobs.append(
                    Job(job_id, recipe, data, seed, config, labels, study.metrics,
                        study.per_modality)
                )  # fmt: skip
    ids = [job.job_id for job in jobs]
    if len(set(ids)) != len(ids):
        raise ValueError("grid: two cells print alike (values equal to 6 significant digits)")
    return jobs
