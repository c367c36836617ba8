import numpy as np
from scipy import linalg


def score_table(imputed: np.ndarray, truth: np.ndarray, missing: np.ndarray) -> dict[str, float]:
    """Score a completed table against the complete one, as the GAIN and MisGAN papers do.

    Both are min–max scaled with the complete data's minimum and range.

    - ``rmse``: root mean squared error over the ``missing`` entries (GAIN);
    - ``frechet``: the Fréchet distance between Gaussians fitted to the
      completed and the complete rows (MisGAN's Appendix C: FID without the
      Inception features), which rewards imputations that keep the data's
      spread and correlations rather than the closest single guess.

    Parameters
    ----------
    imputed, truth
        Rows × columns, the completed and the complete data.
    missing
        Boolean, ``True`` where an entry was missing.

    Returns
    -------
    Metric name → value.
    """
    a, b = _scaled(imputed, truth), _scaled(truth, truth)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    frechet = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b - 2 * root)
    return {"rmse": float(np.sqrt(np.mean((a - b)[missing] ** 2))), "frechet": float(frechet)}


def _scaled(values: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``values`` min–max scaled with the complete data's minimum and range."""
    span = truth.max(axis=0) - truth.min(axis=0)
    return (values - truth.min(axis=0)) / np.where(span > 0, span, 1.0)
