"""Tabular GAN imputers (GAIN, MisGAN): scikit-learn style, ``NaN`` as missing (SPEC §4)."""

from ._expression import ExpressionImputer, config_for
from ._gain import GAINImputer
from ._misgan import MisGANImputer

GAINConfig = config_for(GAINImputer)
MisGANConfig = config_for(MisGANImputer)

__all__ = [
    "ExpressionImputer",
    "GAINConfig",
    "GAINImputer",
    "MisGANConfig",
    "MisGANImputer",
]
