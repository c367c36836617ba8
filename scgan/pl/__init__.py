"""Plots (matplotlib is imported only when a plot is drawn)."""

from ._benchmark import benchmark
from ._training import dropout_curve, held_out, training_history

__all__ = ["benchmark", "dropout_curve", "held_out", "training_history"]
