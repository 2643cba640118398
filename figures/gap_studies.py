"""The gap study's studies: its designs, factors, candidates and table names, at each size.

See :mod:`.gap` for what the study asks and how its tables are read; this module
holds only what is trained (and the table names, here alone).
"""

from __future__ import annotations

import dataclasses

from progfusion.experiments import LatentTask, Protocol, Study

from .fig7 import GRID_PAPER

__all__ = [
    "BASE_VALUES",
    "CHOSEN",
    "COMPARISONS",
    "CONTROLS",
    "DESIGNS",
    "FACTORS",
    "FACTOR_GRID",
    "FACTOR_TRIALS",
    "GAP_STEPS",
    "NARROW_WIN_BAND",
    "PAPER_MATCH_STEPS",
    "SETTINGS",
    "SIZES",
    "STEPS",
    "STOPPING",
    "TUNED",
    "TUNED_DESIGNS",
    "TUNED_STEPS",
    "TUNING",
    "factor_table",
]

#: The controls pro-fusion is compared with, beside late fusion: the paper's ablation
#: (iterative fusion) as it is and matched to pro's parameters, late fusion matched to
#: pro's parameters, effective parameters and multiply-adds
#: (:mod:`progfusion.models.counting`), and early fusion.
CONTROLS = ("iterative", "iterative-wide", "late-wide", "late-wide-eff", "late-wide-flops", "early")
#: Designs of the steps and stopping studies; the factor studies train the first two.
DESIGNS = ("late", "pro", *CONTROLS)
#: Designs of the tuned studies: all but iterative-wide (tuning picks each design's
#: width, so a design matched by width adds nothing there).
TUNED_DESIGNS = tuple(design for design in DESIGNS if design != "iterative-wide")
#: Paired comparisons ``(new, base)`` reported for every setting: each design against
#: late fusion, then pro-fusion against each control.
COMPARISONS = (
    *((design, "late") for design in DESIGNS[1:]),
    *(("pro", control) for control in CONTROLS),
)
#: "close to 90%" read narrowly: does the conclusion survive a narrower band?
NARROW_WIN_BAND = (0.85, 0.95)
#: Steps at which the fixed-steps study records test MSE: 100, 200, 400, ..., 12,800.
GAP_STEPS = tuple(100 * 2**i for i in range(8))
#: The factors, each changed alone from 7(a)'s setting (which is one of the values).
FACTORS: dict[str, list] = {
    "n_train": [1_024, 4_096, 16_384],
    "standardize_y": [True, False],
    "lr": [3e-4, 1e-3, 3e-3],
    "width": [4, 8, 32],
    "R": [1, 2, 3, 4],
    "p": [1, 4, 16],
    "context": ["add", "concat"],
}
#: The candidates every design is tuned over in the tuned studies (chosen on the
#: validation split per cell and trial, :func:`~progfusion.experiments.tuning.select_tuned`).
TUNING = {"lr": [3e-4, 1e-3, 3e-3], "width": [4, 8, 16]}
#: The fixed step count at which pro- against late fusion matches the paper's numbers
#: (the published gap study: 200 steps), where the tuned comparison is also made.
PAPER_MATCH_STEPS = 200
#: The tables: fixed steps, 7(a)'s early stopping, the tuned studies (under early
#: stopping and at the matching steps), and one per factor (:func:`factor_table`); the
#: derived ones: one row per setting, and the tuned studies' kept models.
STEPS, STOPPING = "gap-steps", "gap-stopping"
TUNED, TUNED_STEPS = "gap-tuned", "gap-tuned-steps"
SETTINGS, CHOSEN = "gap-settings", "gap-chosen"


def factor_table(factor: str) -> str:
    """The table of the study that changes ``factor`` alone."""
    return f"gap-{factor}"


#: The factor studies' grid and trials at the paper size: 3 x 3 cells of 7(a)'s
#: 9 x 9 (its corners and centre lines), 10 trials per cell instead of 30.
FACTOR_GRID = {"eta": [0.0, 2.0, 4.0], "sigma2": [0.0, 1.0, 2.0]}
FACTOR_TRIALS = 10


def _studies(base: Study, factor_grid: dict, factor_trials: int, steps: tuple[int, ...]):
    """The three kinds of gap study derived from ``base`` (7(a)'s study at one size)."""
    labels = {"figure": "gap"}
    fixed = Protocol(
        name="fixed-steps",
        lr=base.protocol.lr,
        batch_size=base.protocol.batch_size,
        max_steps=max(steps),
        eval_every=max(steps),
        record_steps=steps,
    )
    studies = {
        STEPS: base.with_(name=STEPS, labels=labels, designs=DESIGNS, protocol=fixed),
        STOPPING: base.with_(name=STOPPING, labels=labels, designs=DESIGNS),
    }
    tuned_steps = min(PAPER_MATCH_STEPS, max(steps))
    fixed_tuned = dataclasses.replace(fixed, max_steps=tuned_steps, eval_every=tuned_steps,
                                      record_steps=())  # fmt: skip
    for name, protocol in ((TUNED, base.protocol), (TUNED_STEPS, fixed_tuned)):
        studies[name] = base.with_(
            name=name, labels=labels, designs=TUNED_DESIGNS, protocol=protocol,
            grid={**factor_grid, **TUNING}, trials=factor_trials,
        )  # fmt: skip
    for factor, values in FACTORS.items():
        studies[factor_table(factor)] = base.with_(
            name=factor_table(factor),
            labels=labels,
            designs=DESIGNS[:2],
            grid={factor: values, **factor_grid},
            trials=factor_trials,
        )
    return studies


_PAPER = GRID_PAPER.with_(noise_levels=(), per_modality=False)
_QUICK = _PAPER.with_(
    grid={"eta": [2.0, 4.0], "sigma2": [0.0, 1.0]},
    trials=3,
    task=LatentTask(n_train=4_096, n_val=1_024, n_test=2_048),
    protocol=Protocol(max_steps=3_200),
)
_TINY = _PAPER.with_(
    grid={"eta": [4.0], "sigma2": [0.0]},
    trials=2,
    task=LatentTask(n_train=256, n_val=128, n_test=256),
    protocol=Protocol(max_steps=100, eval_every=50, patience=1),
)

#: Every gap study by table name, in four sizes. ``paper``: 7(a)'s grid (9 x 9, 30
#: trials, 16,384 samples, at most 12,800 steps); factors on :data:`FACTOR_GRID`, 10
#: trials (about 2 x 10^8 model-steps: sized for a GPU). ``cpu``: the paper size with
#: every study, the steps and stopping studies too, on :data:`FACTOR_GRID` with
#: :data:`FACTOR_TRIALS` trials (7(a)'s task, models and protocols unchanged; the
#: published tables' form: 6 x 10^7 model-steps, half of them the tuned study under
#: early stopping; about 40 minutes on 2 cores of an Intel Xeon, measured).
#: ``quick``: 2 x 2 cells, 3 trials, 4,096 samples, at most 3,200 steps; factors on one
#: cell (eta 4, sigma2 0), 3 trials. ``tiny`` (tests): one cell, 2 trials, 256 samples,
#: 100 steps.
SIZES: dict[str, dict[str, Study]] = {
    "paper": _studies(_PAPER, FACTOR_GRID, FACTOR_TRIALS, GAP_STEPS),
    "cpu": _studies(
        _PAPER.with_(grid=FACTOR_GRID, trials=FACTOR_TRIALS), FACTOR_GRID, FACTOR_TRIALS, GAP_STEPS
    ),
    "quick": _studies(_QUICK, {"eta": [4.0], "sigma2": [0.0]}, 3, GAP_STEPS[:6]),
    "tiny": _studies(_TINY, {"eta": [4.0], "sigma2": [0.0]}, 2, (25, 50, 100)),
}


def _base_values() -> dict[str, object]:
    """Each factor's value in 7(a)'s own setting (a design, task or training parameter)."""
    task, protocol, params = GRID_PAPER.cell_settings(GRID_PAPER.cells()[0])
    known = {**params, **vars(task), "lr": protocol.lr}
    return {factor: known[factor] for factor in FACTORS if factor in known}


#: The factors' values in 7(a)'s setting: a setting at one of them repeats 7(a)'s.
BASE_VALUES = _base_values()
