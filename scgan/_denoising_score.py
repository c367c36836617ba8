"""Open Problems' denoising score: an output against molecules held out of its input."""

import numpy as np
from scipy import sparse

from ._data import TARGET_SUM, as_csr, as_dense, normalise_log, row_chunks, rows_per_chunk

CHUNK_ENTRIES = 2**21
"""Entries (rows × genes) scored at a time: a few dense float64 arrays of 16 MB."""


def denoising_score(output, train, test) -> dict[str, float]:
    """Score ``output`` (cells × genes) made from counts ``train`` against the held-out ``test``.

    Two losses: the mean squared error between ``log1p`` of the test counts
    and of the output, each normalised to 10 000 per cell; and the mean
    Poisson loss ``d - test * log(d + 1e-6)`` with ``d = output *
    sum(test) / sum(train)``. Each is scaled so that returning ``train``
    scores 0 and returning ``test`` scores 1 (``*_score``);
    ``denoising_score`` is their mean.
    """
    train, test = as_csr(train, np.float64), as_csr(test, np.float64)
    scale = test.sum() / train.sum()

    def losses(candidate) -> np.ndarray:
        return np.array([_log_mse(candidate, test), _poisson_loss(candidate, test, scale)])

    value, none, perfect = losses(output), losses(train), losses(test)
    scaled = (none - value) / (none - perfect)
    return {
        "denoising_mse": float(value[0]),
        "denoising_poisson": float(value[1]),
        "denoising_mse_score": float(scaled[0]),
        "denoising_poisson_score": float(scaled[1]),
        "denoising_score": float(scaled.mean()),
    }


def _log_mse(output, test: sparse.csr_matrix) -> float:
    """Mean over all entries of ``(log-normalised test - log-normalised output)²``."""
    total = 0.0
    for rows in row_chunks(test.shape[0], rows_per_chunk(test.shape[1], CHUNK_ENTRIES)):
        truth = normalise_log(test[rows], TARGET_SUM).toarray()
        guess = normalise_log(as_dense(output[rows]), TARGET_SUM)
        total += float(np.square(truth - guess).sum())
    return total / (test.shape[0] * test.shape[1])


def _poisson_loss(output, test: sparse.csr_matrix, scale: float) -> float:
    """Mean over all entries of ``d - test * log(d + 1e-6)``, ``d = output * scale``."""
    total = 0.0
    for rows in row_chunks(test.shape[0], rows_per_chunk(test.shape[1], CHUNK_ENTRIES)):
        d = as_dense(output[rows]) * scale
        total += float(d.sum() - (test[rows].toarray() * np.log(d + 1e-6)).sum())
    return total / (test.shape[0] * test.shape[1])
