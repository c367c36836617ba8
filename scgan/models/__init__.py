"""Imputation backends (pure torch modules and their fit/impute logic)."""

__all__: list[str] = []
