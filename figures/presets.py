"""The figures' sizes: ``tiny`` (tests, seconds), ``quick`` (default, minutes) and ``paper``.

Each figure module holds its own :class:`~progfusion.experiments.Study` in the three
sizes (``fig4.SIZES``, ``fig7_8.GRID_SIZES``, ``fig7_8.STEPS_SIZES``; the gap study's
in ``gap.SIZES``, which has one more, ``cpu``, for the gap study alone); a
:class:`Preset` picks one size for every figure of a run, with the run's root seed,
protocol and trial count. ``quick`` keeps the paper's design (same models, same
protocol) on fewer trials, a coarser grid, fewer samples and shorter training, so
that all three figures finish in minutes on a 2-core CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from progfusion.experiments import Study
from progfusion.experiments.studyfile import study_to_dict

from . import fig4, fig7_8, gap

__all__ = ["GAP_PRESETS", "PRESETS", "Preset", "get_preset"]

#: The sizes of Figures 4, 7 and 8.
PRESETS = ("tiny", "quick", "paper")
#: The sizes of the gap study: the figures' and ``cpu`` (:data:`.gap.SIZES`).
GAP_PRESETS = tuple(gap.SIZES)


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
        seed: int = 0,
        protocol: str = "early-stopping",
        figures: Sequence[str] = ("4", "7", "8"),
    ) -> dict[str, Study]:
        """The study of each table that ``figures`` train, by table name: ``figure4``,
        ``figure7`` and ``figure7b`` (for 7 or 8), ``gap-*`` (for ``"gap"``).

        ``protocol`` applies to Figures 4, 7(a) and 8; 7(b) and the gap study have
        their own. A ValueError when this preset has no size for one of ``figures``.
        """
        size, trials = self.name, self.trials
        if size not in PRESETS and set(figures) - {"gap"}:
            raise ValueError(
                f"preset {size} is the gap study's alone (progfusion figure gap); "
                f"Figures 4, 7 and 8 have {', '.join(PRESETS)}"
            )
        studies = {}
        if "4" in figures:
            studies["figure4"] = fig4.study(size, seed=seed, protocol=protocol, trials=trials)
        if "7" in figures or "8" in figures:
            studies["figure7"] = fig7_8.grid_study(
                size, seed=seed, protocol=protocol, trials=trials
            )
            studies["figure7b"] = fig7_8.steps_study(size, seed=seed, trials=trials)
        if "gap" in figures:
            studies.update(gap.gap_studies(size, seed=seed, trials=trials))
        return studies

    def as_dict(
        self,
        *,
        seed: int = 0,
        protocol: str = "early-stopping",
        figures: Sequence[str] = ("4", "7", "8"),
    ) -> dict[str, Any]:
        """The preset as data: its name and the study of every table that ``figures``
        train (for ``run.json``)."""
        studies = self.studies(seed=seed, protocol=protocol, figures=figures)
        return {"name": self.name, "studies": {k: study_to_dict(s) for k, s in studies.items()}}


def get_preset(name: str) -> Preset:
    """The preset called ``name``: one of :data:`PRESETS` or, for the gap study alone,
    :data:`GAP_PRESETS`."""
    if name not in GAP_PRESETS:
        raise ValueError(f"preset must be one of {', '.join(GAP_PRESETS)}, got {name!r}")
    return Preset(name)
