"""Preprocessing: imputation entry points."""

__all__: list[str] = []
