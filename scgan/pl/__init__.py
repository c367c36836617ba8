"""Plots (matplotlib is imported only when a plot is drawn)."""

from ._benchmark import benchmark

__all__ = ["benchmark"]
