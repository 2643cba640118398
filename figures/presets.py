"""A run's size: one size for every figure it runs, with its root seed, protocol and trials.

Each figure holds its own studies at each size (:attr:`~.figure.Figure.sizes`:
``tiny`` for tests, seconds; ``quick``, the default, minutes on a 2-core CPU;
``paper``, the paper's scale; and ``cpu`` for the gap study alone). A
:class:`Preset` picks one size for every figure of a run and, with the run's root
seed, protocol and trial count, turns each figure's studies into the run's
(:meth:`~.figure.Figure.studies`, the one rule). ``quick`` keeps the paper's design
(same models, same protocol) on fewer trials, a coarser grid, fewer samples and
shorter training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from progfusion.experiments import Study
from progfusion.experiments.seeds import ROOT_SEED
from progfusion.experiments.studyfile import study_to_dict

from .registry import FIGURES, sizes

__all__ = ["Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """One size for every figure; ``trials``: per cell, overriding the size's own (None: keep)."""

    name: str
    trials: int | None = None

    def with_trials(self, trials: int) -> Preset:
        return replace(self, trials=trials)

    def studies(
        self,
        *,
        seed: int = ROOT_SEED,
        protocol: str = "early-stopping",
        figures: Sequence[str] | None = None,
    ) -> dict[str, Study]:
        """The study of each table that ``figures`` (registry names; default: all that
        have this size) train, by table name, each once.

        ``protocol`` applies to the tables that follow it (7(b) and the gap study have
        their own). A ValueError when one of ``figures`` has no size of this name.
        """
        if figures is None:
            figures = [name for name, f in FIGURES.items() if self.name in f.sizes]
        studies: dict[str, Study] = {}
        for name in figures:
            made = FIGURES[name].studies(
                self.name, seed=seed, trials=self.trials, protocol=protocol
            )
            studies.update({k: v for k, v in made.items() if k not in studies})
        return studies

    def as_dict(self, studies: dict[str, Study]) -> dict[str, Any]:
        """The preset as data (for ``run.json``): its name and the study of every table."""
        return {"name": self.name, "studies": {k: study_to_dict(s) for k, s in studies.items()}}


def get_preset(name: str) -> Preset:
    """The preset called ``name``: a size one of the registered figures has."""
    if name not in sizes():
        raise ValueError(f"preset must be one of {', '.join(sizes())}, got {name!r}")
    return Preset(name)
