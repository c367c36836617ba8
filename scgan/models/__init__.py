"""Imputation backends (pure torch modules and their fit/impute logic)."""

from ._registry import BACKENDS, make_backend
from .began import BEGANConfig, BEGANImputer
from .scigans import ScIGANsConfig, ScIGANsImputer
from .tabular import GAINConfig, GAINImputer, MisGANConfig, MisGANImputer

__all__ = [
    "BACKENDS",
    "BEGANConfig",
    "BEGANImputer",
    "GAINConfig",
    "GAINImputer",
    "MisGANConfig",
    "MisGANImputer",
    "ScIGANsConfig",
    "ScIGANsImputer",
    "make_backend",
]
