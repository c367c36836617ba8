"""The logit-percentile artificial dropout operator and its automatic calibration."""

import logging

import numpy as np
import torch
from scipy import sparse

logger = logging.getLogger(__name__)


def dropout_probability(
    log_values: torch.Tensor, q: float, s: float, valid: torch.Tensor | None = None
):
    """``p = 1 / (1 + exp(s * (y' - P_q(y'))))`` per entry.

    ``log_values`` has shape ``(batch, groups, genes)``; the q-th percentile
    is taken per group over the batch and genes, ignoring entries where
    ``valid`` (broadcastable, boolean) is false. Low values drop more often.
    """
    flat = log_values.detach().float()
    if valid is not None:
        flat = flat.masked_fill(~valid, float("nan"))
    per_group = flat.transpose(0, 1).reshape(flat.shape[1], -1)
    threshold = torch.nanquantile(per_group, q / 100.0, dim=1)
    return torch.sigmoid(-s * (log_values.float() - threshold[None, :, None]))


def apply_dropout(
    values: torch.Tensor,
    log_values: torch.Tensor,
    q: float,
    s: float,
    valid: torch.Tensor | None = None,
    uniform: torch.Tensor | None = None,
) -> torch.Tensor:
    """``Drop(y) = y ⊙ m`` with ``m ~ Bernoulli(1 − p)``; gradients flow through kept entries.

    ``uniform``: the uniform numbers that decide ``m`` (drawn here by default).
    """
    p = dropout_probability(log_values, q, s, valid)
    if uniform is None:
        uniform = torch.rand(p.shape, device=p.device)
    keep = uniform >= p
    return values * keep.to(values.dtype)


def fit_dropout_curve(log_norm: sparse.spmatrix) -> tuple[float, float]:
    """Fit ``zero_fraction = 1 / (1 + exp(s * (mean_log - mid)))`` across genes.

    As Splatter estimates its dropout: per gene, the share of zero counts
    against the mean ``log1p``-normalised expression (``log_norm``, cells ×
    genes, sparse). Returns ``(mid, s)``.
    """
    log_norm = sparse.csr_matrix(log_norm)
    n_cells = log_norm.shape[0]
    zero_fraction = 1.0 - log_norm.getnnz(axis=0) / n_cells
    mean_log = np.asarray(log_norm.sum(axis=0, dtype=np.float64)).ravel() / n_cells
    expressed = zero_fraction < 1
    x, y = mean_log[expressed], zero_fraction[expressed]

    def curve(v, mid, s):
        return 1.0 / (1.0 + np.exp(np.clip(s * (v - mid), -50, 50)))

    from scipy.optimize import curve_fit  # not imported by the training processes

    (mid, s), _ = curve_fit(curve, x, y, p0=(np.median(x), 2.0), maxfev=10_000)
    return float(mid), float(abs(s))


def group_mean_fill(log_values: sparse.csr_matrix, groups: np.ndarray | None):
    """A stand-in for ``G(x)``: zeros replaced by their gene's mean in the cell's group.

    Returned as distinct values and their counts, ``(values, weights)``: the
    observed values (weight 1 each), and per group and gene the mean
    (zeros included) weighted by the number of zeros it fills.
    """
    labels = np.zeros(log_values.shape[0], int) if groups is None else np.asarray(groups)
    values, weights = [log_values.data.astype(np.float64)], [np.ones(log_values.nnz)]
    for label in np.unique(labels):
        block = log_values[labels == label]
        values.append(np.asarray(block.sum(axis=0, dtype=np.float64)).ravel() / block.shape[0])
        weights.append(block.shape[0] - block.getnnz(axis=0))
    return np.concatenate(values), np.concatenate(weights).astype(np.float64)


def calibrate_quantile(
    values: np.ndarray, weights: np.ndarray, target_zero_rate: float, s: float
) -> float:
    """The percentile ``q`` for which ``Drop`` has ``target_zero_rate`` zeros.

    ``values`` with ``weights`` (how often each occurs) stand in for the
    generator's output on a log scale. The expected zero rate, the weighted
    mean of ``p``, rises with the threshold ``P_q``; the threshold is found by
    bisection and ``q`` is its percentile rank. Where the target cannot be
    reached, the nearest end (0 or 100) is returned and logged.
    """
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    cumulative = np.cumsum(weights)

    def zero_rate(threshold: float) -> float:
        p = 1.0 / (1.0 + np.exp(np.clip(s * (values - threshold), -50, 50)))
        return float(np.dot(weights, p) / cumulative[-1])

    lo, hi = values[0], values[-1]
    if not zero_rate(lo) <= target_zero_rate <= zero_rate(hi):
        q = 100.0 if zero_rate(hi) < target_zero_rate else 0.0
        logger.warning(
            "artificial dropout cannot reach a zero rate of %.3f with s=%.2f; using q=%g",
            target_zero_rate,
            s,
            q,
        )
        return q
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if zero_rate(mid) < target_zero_rate else (lo, mid)
    below = np.searchsorted(values, (lo + hi) / 2, side="right")
    return 100.0 * (cumulative[below - 1] if below else 0.0) / cumulative[-1]
