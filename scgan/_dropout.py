"""The logit-percentile artificial dropout operator (SPEC §2) and its automatic calibration."""

import logging

import numpy as np
import torch
from scipy import optimize

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
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``Drop(y) = y ⊙ m`` with ``m ~ Bernoulli(1 − p)``; gradients flow through kept entries."""
    p = dropout_probability(log_values, q, s, valid)
    keep = torch.rand(p.shape, device=p.device, generator=generator) >= p
    return values * keep.to(values.dtype)


def fit_dropout_curve(log_norm: np.ndarray) -> tuple[float, float]:
    """Fit ``zero_fraction = 1 / (1 + exp(s * (mean_log - mid)))`` across genes.

    As Splatter estimates its dropout: per gene, the share of zero counts
    against the mean ``log1p``-normalised expression. Returns ``(mid, s)``.
    """
    zero_fraction = (log_norm == 0).mean(axis=0)
    mean_log = log_norm.mean(axis=0)
    expressed = zero_fraction < 1
    x, y = mean_log[expressed], zero_fraction[expressed]

    def curve(v, mid, s):
        return 1.0 / (1.0 + np.exp(np.clip(s * (v - mid), -50, 50)))

    (mid, s), _ = optimize.curve_fit(curve, x, y, p0=(np.median(x), 2.0), maxfev=10_000)
    return float(mid), float(abs(s))


def calibrate_quantile(proxy_log: np.ndarray, target_zero_rate: float, s: float) -> float:
    """The percentile ``q`` for which ``Drop`` of ``proxy_log`` has ``target_zero_rate`` zeros.

    ``proxy_log`` stands in for the generator's output (a dense matrix of log
    values). The expected zero rate, the mean of ``p``, rises with the
    threshold ``P_q``; the threshold is found by bisection and ``q`` is its
    percentile rank. Where the target cannot be reached, the nearest end
    (0 or 100) is returned and logged.
    """
    values = np.sort(np.asarray(proxy_log, dtype=np.float64).ravel())

    def zero_rate(threshold: float) -> float:
        return float(np.mean(1.0 / (1.0 + np.exp(np.clip(s * (values - threshold), -50, 50)))))

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
    return 100.0 * np.searchsorted(values, (lo + hi) / 2, side="right") / len(values)
