"""Imputation backends (pure torch modules and their fit/impute logic)."""

from ._registry import BACKENDS, make_backend
from .began import BEGANConfig, BEGANImputer
from .scigans import ScIGANsConfig, ScIGANsImputer

__all__ = [
    "BACKENDS",
    "BEGANConfig",
    "BEGANImputer",
    "ScIGANsConfig",
    "ScIGANsImputer",
    "make_backend",
]
