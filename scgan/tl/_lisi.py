"""The local inverse Simpson index (Korsunsky et al. 2019), as in the LISI and harmonypy packages."""

import numpy as np
from sklearn.neighbors import NearestNeighbors


def lisi(embedding: np.ndarray, labels: np.ndarray, *, perplexity: float = 30) -> np.ndarray:
    """Per-cell LISI of ``labels``: the effective number of labels among a cell's neighbours.

    Each cell's ``3 * perplexity`` nearest neighbours (itself excluded) are
    weighted by a Gaussian kernel on Euclidean distance whose width is set by
    binary search so that the weights' perplexity is ``perplexity``; the
    index is ``1 / sum_c w_c²`` with ``w_c`` the weight of label ``c``.
    """
    codes = np.unique(np.asarray(labels), return_inverse=True)[1]
    n_neighbors = min(int(3 * perplexity), len(codes) - 1)
    distances, indices = (
        NearestNeighbors(n_neighbors=n_neighbors + 1).fit(embedding).kneighbors(embedding)
    )
    distances, indices = distances[:, 1:], indices[:, 1:]
    n_labels = codes.max() + 1
    out = np.empty(len(codes))
    for i in range(len(codes)):
        weights = _perplexity_weights(distances[i], perplexity)
        per_label = np.bincount(codes[indices[i]], weights=weights, minlength=n_labels)
        out[i] = 1.0 / np.sum(per_label**2)
    return out


def _perplexity_weights(d: np.ndarray, perplexity: float, tol: float = 1e-5) -> np.ndarray:
    target = np.log(perplexity)
    beta, lo, hi = 1.0, -np.inf, np.inf
    for _ in range(50):
        w = np.exp(-(d - d.min()) * beta)  # shifting by d.min() leaves the weights unchanged
        total = w.sum()
        entropy = np.log(total) + beta * np.sum((d - d.min()) * w) / total
        if abs(entropy - target) < tol:
            break
        if entropy > target:
            lo, beta = beta, beta * 2 if hi == np.inf else (beta + hi) / 2
        else:
            hi, beta = beta, beta / 2 if lo == -np.inf else (beta + lo) / 2
    return w / total
