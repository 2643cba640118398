"""Experiment sizes: ``tiny`` (tests, seconds), ``quick`` (default, minutes) and ``paper``.

Every number the paper leaves open is fixed here or in SPEC.md; ``quick`` keeps
the paper's design (same models, same protocol) on fewer trials, a coarser grid,
fewer samples and shorter training, so that all three figures finish in under
10 minutes on a 2-core CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = ["Fig4Settings", "GridSettings", "StepsSettings", "Preset", "PRESETS", "get_preset"]

#: Noise levels of the robustness evaluation (SPEC section 3.3).
NOISE_LEVELS = tuple(round(0.1 * i, 10) for i in range(11))
#: Steps at which the fixed-steps panel (Figure 7b) records test MSE: 100 to 6,400.
STEP_GRID = (100, 200, 400, 800, 1600, 3200, 6400)


@dataclass(frozen=True)
class Fig4Settings:
    """Figure 4: accuracy vs hidden width on the lattice task (SPEC section 6)."""

    widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128)
    trials: int = 30
    n_train: int = 20_000
    n_val: int = 2_000
    n_test: int = 4_000
    max_steps: int = 20_000
    eval_every: int = 100
    patience: int = 10
    head_hidden: int = 64  # panel (b): the head with one hidden layer of 64 units
    designs: tuple[str, ...] = ("late", "early", "pro")


@dataclass(frozen=True)
class GridSettings:
    """Figures 7 and 8: the (eta, sigma2) grid on the latent task."""

    etas: tuple[float, ...] = tuple(0.5 * i for i in range(9))  # 0, 0.5, ..., 4
    sigma2s: tuple[float, ...] = tuple(0.25 * i for i in range(9))  # 0, 0.25, ..., 2
    trials: int = 30
    width: int = 8  # h, the per-modality hidden width
    n_train: int = 16_384
    n_val: int = 1_024
    n_test: int = 2_048
    max_steps: int = 12_800
    eval_every: int = 100
    patience: int = 10
    noise_levels: tuple[float, ...] = NOISE_LEVELS


@dataclass(frozen=True)
class StepsSettings:
    """Figure 7(b): fixed-steps training, test MSE recorded along the way."""

    etas: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 4.0)
    sigma2s: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
    trials: int = 10
    width: int = 8
    n_train: int = 4_096
    n_test: int = 2_048
    record_steps: tuple[int, ...] = STEP_GRID


@dataclass(frozen=True)
class Preset:
    """All the sizes of one run."""

    name: str
    fig4: Fig4Settings = field(default_factory=Fig4Settings)
    grid: GridSettings = field(default_factory=GridSettings)
    steps: StepsSettings = field(default_factory=StepsSettings)

    def with_trials(self, trials: int) -> Preset:
        """The same preset with ``trials`` trials per cell in every figure."""
        return replace(
            self,
            fig4=replace(self.fig4, trials=trials),
            grid=replace(self.grid, trials=trials),
            steps=replace(self.steps, trials=trials),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "paper": Preset("paper"),
    "quick": Preset(
        "quick",
        fig4=Fig4Settings(
            widths=(2, 4, 8, 16, 32, 64, 128),
            trials=8,
            n_train=10_000,
            n_val=1_000,
            n_test=2_000,
            max_steps=2_000,
        ),
        grid=GridSettings(
            etas=(0.0, 1.0, 2.0, 3.0, 4.0),
            sigma2s=(0.0, 0.5, 1.0, 1.5, 2.0),
            trials=6,
            n_train=4_096,
            max_steps=6_400,
        ),
        steps=StepsSettings(etas=(0.0, 2.0, 4.0), sigma2s=(0.0, 1.0, 2.0), trials=6),
    ),
    "tiny": Preset(
        "tiny",
        fig4=Fig4Settings(
            widths=(2, 8),
            trials=2,
            n_train=512,
            n_val=128,
            n_test=256,
            max_steps=200,
            eval_every=50,
            patience=2,
        ),
        grid=GridSettings(
            etas=(0.0, 4.0),
            sigma2s=(0.0, 2.0),
            trials=2,
            n_train=512,
            n_val=128,
            n_test=256,
            max_steps=200,
            eval_every=50,
            patience=2,
            noise_levels=(0.0, 0.5, 1.0),
        ),
        steps=StepsSettings(
            etas=(4.0,),
            sigma2s=(0.0,),
            trials=2,
            n_train=512,
            n_test=256,
            record_steps=(50, 100, 200),
        ),
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (``tiny``, ``quick`` or ``paper``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {name!r}") from None
