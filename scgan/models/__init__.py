"""Imputation backends (pure torch modules and their fit/impute logic) and their contract."""

from ._base import Backend, Imputation
from ._registry import BACKENDS, DEFAULT_METHOD, make_backend
from .began import BEGANConfig, BEGANImputer
from .scigans import ScIGANsConfig, ScIGANsImputer
from .tabular import (
    GAINBackend,
    GAINConfig,
    GAINImputer,
    MisGANBackend,
    MisGANConfig,
    MisGANImputer,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_METHOD",
    "BEGANConfig",
    "BEGANImputer",
    "Backend",
    "GAINBackend",
    "GAINConfig",
    "GAINImputer",
    "Imputation",
    "MisGANBackend",
    "MisGANConfig",
    "MisGANImputer",
    "ScIGANsConfig",
    "ScIGANsImputer",
    "make_backend",
]
