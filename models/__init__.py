"""Fusion models: late, early, pro-fusion and iterative, the paper's MLPs, and a
trainer that trains many small models at once."""

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
