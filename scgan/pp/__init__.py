"""Preprocessing: imputation entry points."""

from ._impute import impute_dropouts

__all__ = ["impute_dropouts"]
