"""The study engine: a :class:`Study` is data; :func:`run_study` turns it into a tidy table.

    from progfusion.experiments import LatentTask, Protocol, Study, run_study

    study = Study(
        name="R-and-width",
        task=LatentTask(n_train=2048, eta=2.0, sigma2=0.25),
        designs=("late", "pro", "late-wide"),
        params={"width": 8},
        grid={"R": [1, 2, 3]},
        protocol=Protocol(max_steps=3200),
        trials=5,
    )
    table = run_study(study, "out/")  # one row per trained model; resumes on rerun

Modules, one idea each: :mod:`.study` (Study, Protocol, the grid),
:mod:`.studyfile` (TOML), :mod:`.tasks`, :mod:`.designs`, :mod:`.jobs`,
:mod:`.seeds` (every seed of an experiment), :mod:`.columns` (the result columns,
written and parsed), :mod:`.store` (the resumable table), :mod:`.folder` (a results
folder's one configuration), :mod:`.record` (``run.json``), :mod:`.executors`
(local processes or Dask), :mod:`.preflight` (checks before training),
:mod:`.portable` (user code sent to workers), :mod:`.run` (shards and the sweep),
:mod:`.study_run` (``run_study``, ``run_study_file``), :mod:`.failures`,
:mod:`.tables` (reading a table back), :mod:`.scores` (extra test metrics),
:mod:`.modalities` (each modality noisy alone, and missing),
:mod:`.tuning` (choosing each design's setting on validation), :mod:`.metrics` (pure
functions) and :mod:`.analysis` (tables to numbers). Imports ``progfusion.synthetic``
and ``progfusion.models``; nothing there imports this package, and nothing here
names a figure.
"""

from .designs import DESIGNS, ModelRecipe, parameter_count
from .failures import StudyError
from .study import Protocol, Study
from .study_run import run_study
from .studyfile import load_study, save_study, study_to_toml
from .tasks import TASKS, LatentTask, LatticeTask, Task

__all__ = [
    "DESIGNS",
    "TASKS",
    "LatentTask",
    "LatticeTask",
    "ModelRecipe",
    "Protocol",
    "Study",
    "StudyError",
    "Task",
    "load_study",
    "parameter_count",
    "run_study",
    "save_study",
    "study_to_toml",
]
