"""Fusion models: late, early, pro-fusion and iterative, the paper's MLPs, and a
trainer that trains many small models at once.

The models: :mod:`.layers` (stack-aware layers), :mod:`.fusion` (late and early
fusion), :mod:`.profusion` (pro-fusion and the iterative ablation), :mod:`.keyed`
(models that take their modalities by name), :mod:`.mlp` (the paper's MLPs) and
:mod:`.init` (per-seed initialisation of many models at once).

The stacked trainer: :mod:`.training` (:func:`~.training.train_stack`, the loop and
its argument checks), :mod:`.stack` (the stacked forward), :mod:`.state` (a run's
state and :class:`~.state.ModelResult`), :mod:`.step` (the training step and Adam)
and :mod:`.evaluation` (validation, early stopping, results); :mod:`.protocol` (the
protocol, seeds and minibatch order), :mod:`.data` (each model's splits) and
:mod:`.reference` (the one-at-a-time reference the stack is tested against).
"""

from .fusion import EarlyFusion, LateFusion, Modalities
from .layers import Concat, Linear
from .mlp import DESIGNS, TASKS, ModelSpec
from .profusion import IterativeFusion, ProFusion

__all__ = [
    "Concat",
    "DESIGNS",
    "EarlyFusion",
    "IterativeFusion",
    "LateFusion",
    "Linear",
    "Modalities",
    "ModelSpec",
    "ProFusion",
    "TASKS",
]
