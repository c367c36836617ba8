"""Imputation backends (pure torch modules and their fit/impute logic)."""

from ._registry import BACKENDS, make_backend
from .began import BEGANConfig, BEGANImputer

__all__ = ["BACKENDS", "BEGANConfig", "BEGANImputer", "make_backend"]
