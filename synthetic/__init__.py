"""Synthetic tasks of the paper: the lattice lookup (Figure 4), the latent lReLU/sin
regression (Figures 7 and 8), test-time corruption and training-split standardisation.

Every generator takes keyword-only parameters and a ``seed`` (None, int, numpy
``Generator``/``SeedSequence`` or ``torch.Generator``), builds a private generator, never
touches global random state, and raises ``InvalidParameterError`` (a ``ValueError``)
naming the parameter on bad input.
"""

from ._validation import InvalidParameterError, SeedLike, make_rng, seed_sequence
from .corruption import DEFAULT_LEVELS, corrupt
from .latent import LatentSinTask, RegressionSplit, leaky_relu, make_latent_sin
from .lattice import (
    N_CLASSES,
    LatticeLookup,
    first_nonzero_digit,
    make_lattice_lookup,
    sinusoidal_embedding,
)
from .standardize import Standardizer

__all__ = [
    "DEFAULT_LEVELS",
    "InvalidParameterError",
    "LatentSinTask",
    "LatticeLookup",
    "N_CLASSES",
    "RegressionSplit",
    "SeedLike",
    "Standardizer",
    "corrupt",
    "first_nonzero_digit",
    "leaky_relu",
    "make_latent_sin",
    "make_lattice_lookup",
    "make_rng",
    "seed_sequence",
    "sinusoidal_embedding",
]
