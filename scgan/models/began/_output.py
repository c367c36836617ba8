"""What the BEGAN imputer writes, from G's expected counts: one value, its spread, draws."""

import numpy as np
import torch

from ..._data import TARGET_SUM

SERIES_BELOW = 10.0
"""Expected counts below this are summed over the Poisson distribution; above, a Taylor expansion."""


def expected_log_count(mean: np.ndarray, library: np.ndarray) -> np.ndarray:
    """The count whose ``log1p``-normalised value is that expected of a Poisson measurement.

    For expected count ``μ`` (cells × genes) at library size ``L`` (per
    cell): ``E[log1p(1e4 X / L)]`` with ``X ~ Poisson(μ)``, returned on the
    count scale (``expm1(·) L / 1e4``). It lies below ``μ`` (Jensen): the
    value a log-normalised analysis of a fresh measurement of the cell at
    its own depth would see on average.
    """
    mean = np.asarray(mean, np.float64)
    per_cell = TARGET_SUM / np.maximum(library, 1.0)
    scale = np.broadcast_to(per_cell[:, None], mean.shape)
    cells = np.broadcast_to(np.arange(len(mean))[:, None], mean.shape)
    out = np.empty_like(mean)
    for low, high, terms in ((0.0, 1.0, 14), (1.0, SERIES_BELOW, 45)):
        where = (mean >= low) & (mean < high)
        out[where] = _poisson_series(mean[where], cells[where], per_cell, terms)
    large = mean >= SERIES_BELOW
    out[large] = _taylor(mean[large], scale[large])
    return np.expm1(out) / scale


def _poisson_series(mu: np.ndarray, cells: np.ndarray, scale: np.ndarray, terms: int) -> np.ndarray:
    """``Σ_{x=1}^{terms} P(X = x) log1p(s x)``, ``X ~ Poisson(mu)`` (the tail beyond is below 1e-9).

    ``s`` is ``scale[cells]``: ``log1p(s x)`` is taken once per cell and ``x``.
    """
    total = np.zeros_like(mu)
    pmf = np.exp(-mu)
    for x in range(1, terms + 1):
        pmf = pmf * mu / x
        total += pmf * np.log1p(scale * x)[cells]
    return total


def _taylor(mu: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``E[log1p(s X)]`` to third order about ``mu`` (the Poisson's variance and skew are ``mu``)."""
    u = 1.0 + s * mu
    return np.log1p(s * mu) - mu * s**2 / (2 * u**2) + mu * s**3 / (3 * u**3)


def predictive_spread(means: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Standard deviation of a count drawn from the repeats' negative binomials, mixed equally.

    ``means`` is ``(repeats, cells, genes)``, each repeat's expected count;
    ``theta`` each gene's dispersion.
    """
    second = (means + means**2 / theta + means**2).mean(axis=0)
    return np.sqrt(np.maximum(second - means.mean(axis=0) ** 2, 0.0))


def negative_binomial_draw(mean: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """One count per entry from ``NB(mean, theta)``, a Poisson of a gamma-distributed rate.

    Drawn from torch's global random stream.
    """
    rate = torch._standard_gamma(theta) * (mean / theta)
    return torch.poisson(rate)
