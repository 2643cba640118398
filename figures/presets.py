"""The figures' sizes: ``tiny`` (tests, seconds), ``quick`` (default, minutes) and ``paper``.

Each figure module holds its own :class:`~progfusion.experiments.Study` in the three
sizes (``fig4.SIZES``, ``fig7_8.GRID_SIZES``, ``fig7_8.STEPS_SIZES``); a
:class:`Preset` picks one size for every figure of a run, with the run's root seed,
protocol and trial count. ``quick`` keeps the paper's design (same models, same
protocol) on fewer trials, a coarser grid, fewer samples and shorter training, so
that all three figures finish in minutes on a 2-core CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from progfusion.experiments import Study
from progfusion.experiments.studyfile import study_to_dict

from . import fig4, fig7_8

__all__ = ["PRESETS", "Preset", "get_preset"]

PRESETS = ("tiny", "quick", "paper")


@dataclass(frozen=True)
class Preset:
    """One size for every figure; ``trials``: per cell, overriding the size's own (None: keep)."""

    name: str
    trials: int | None = None

    def with_trials(self, trials: int) -> Preset:
        return replace(self, trials=trials)

    def studies(self, *, seed: int = 0, protocol: str = "early-stopping") -> dict[str, Study]:
        """The study of each table, by table name (``figure4``, ``figure7``, ``figure7b``).

        ``protocol`` applies to Figures 4, 7(a) and 8; 7(b) is always fixed-steps.
        """
        size, trials = self.name, self.trials
        return {
            "figure4": fig4.study(size, seed=seed, protocol=protocol, trials=trials),
            "figure7": fig7_8.grid_study(size, seed=seed, protocol=protocol, trials=trials),
            "figure7b": fig7_8.steps_study(size, seed=seed, trials=trials),
        }

    def as_dict(self, *, seed: int = 0, protocol: str = "early-stopping") -> dict[str, Any]:
        """The preset as data: its name and every table's study (for ``run.json``)."""
        studies = self.studies(seed=seed, protocol=protocol)
        return {"name": self.name, "studies": {k: study_to_dict(s) for k, s in studies.items()}}


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (``tiny``, ``quick`` or ``paper``)."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {name!r}")
    return Preset(name)
