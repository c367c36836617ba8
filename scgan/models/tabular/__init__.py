"""Tabular GAN imputers (GAIN, MisGAN): scikit-learn style, ``NaN`` as missing.

The rest of scgan uses only the names in ``__all__``; the modules are this
backend's own.
"""

from ._config import HINTS, IMPUTER_INPUTS, GAINConfig, MisGANConfig
from ._expression import GAINBackend, MisGANBackend, TabularBackend
from ._gain import GAINImputer
from ._misgan import MisGANImputer

__all__ = [
    "HINTS",
    "IMPUTER_INPUTS",
    "GAINBackend",
    "GAINConfig",
    "GAINImputer",
    "MisGANBackend",
    "MisGANConfig",
    "MisGANImputer",
    "TabularBackend",
]
