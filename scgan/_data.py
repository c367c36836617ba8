"""Count matrices as arrays: sparse (CSR) normalisation, dense only by rows."""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import sparse

TARGET_SUM = 1e4
"""Library size that counts are normalised to before ``log1p``."""


@dataclass(frozen=True)
class Imputation:
    """What a backend returns: imputed counts and, where it has one, their spread (float32)."""

    mean: np.ndarray
    """Cells × genes, counts on each cell's own scale."""
    spread: np.ndarray | None
    """Cells × genes, or ``None`` for a backend that gives one imputation."""
    draws: np.ndarray | None = None
    """Draws × cells × genes, counts drawn under the model, for a backend that gives them."""


def as_csr(matrix, dtype=np.float32) -> sparse.csr_matrix:
    """A CSR copy of ``matrix`` (dense or any sparse format), sorted, without stored zeros."""
    csr = sparse.csr_matrix(matrix, dtype=dtype, copy=True)
    csr.eliminate_zeros()
    csr.sort_indices()
    return csr


def as_dense(matrix, dtype=np.float64) -> np.ndarray:
    """``matrix`` (dense or sparse) as a dense array of ``dtype``."""
    return np.asarray(matrix.toarray() if sparse.issparse(matrix) else matrix, dtype=dtype)


def top_genes(counts, n: int) -> np.ndarray:
    """Indices (ascending) of the ``n`` columns with the highest mean; ties by position."""
    means = np.asarray(counts.mean(axis=0)).ravel()
    return np.sort(np.argsort(-means, kind="stable")[:n])


def expressed_genes(counts: sparse.spmatrix) -> np.ndarray:
    """Boolean mask of the genes (columns) with at least one non-zero count."""
    if sparse.issparse(counts) and counts.format == "csr":
        return nonzeros_per_column(counts) > 0
    return np.asarray((counts != 0).sum(axis=0)).ravel() > 0


def nonzeros_per_column(csr: sparse.csr_matrix, block: int = 2**24) -> np.ndarray:
    """Non-zero stored values per column of ``csr``, counted ``block`` entries at a time.

    scipy's ``getnnz(axis=0)`` and ``csr != 0`` copy every index: 2 GB
    at a million cells × 1 000 genes.
    """
    total = np.zeros(csr.shape[1], np.int64)
    for part in row_chunks(csr.nnz, block):
        total += np.bincount(csr.indices[part][csr.data[part] != 0], minlength=csr.shape[1])
    return total


def library_size(counts: sparse.spmatrix | np.ndarray) -> np.ndarray:
    """Total counts per cell, as a 1-D float64 array."""
    return np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()


def normalise_log(counts, target_sum: float = TARGET_SUM):
    """``log1p(counts / library * target_sum)`` (empty cells stay zero).

    Sparse input gives float64 CSR; dense input a dense array, float32 for
    float32 input (an imputed layer) and float64 otherwise.
    """
    if not sparse.issparse(counts):
        x = np.asarray(counts)
        dtype = np.float32 if x.dtype == np.float32 else np.float64
        x = x.astype(dtype, copy=False)
        return np.log1p(x * _per_count_scale(x, target_sum).astype(dtype)[:, None])
    csr = as_csr(counts, np.float64)
    scale = _per_count_scale(csr, target_sum)
    csr.data = np.log1p(csr.data * np.repeat(scale, np.diff(csr.indptr)))
    return csr


def _per_count_scale(counts, target_sum: float) -> np.ndarray:
    lib = library_size(counts)
    return np.divide(target_sum, lib, out=np.zeros_like(lib), where=lib > 0)


def to_counts(log_norm: np.ndarray, library: np.ndarray, target_sum: float = TARGET_SUM):
    """Invert :func:`normalise_log` onto each cell's own library size (clipped at zero)."""
    return np.maximum(np.expm1(log_norm), 0.0) * (library / target_sum)[:, None]


def dense_rows(matrix: sparse.csr_matrix, rows, padding: int = 0) -> np.ndarray:
    """The ``rows`` of ``matrix`` as a dense array, with ``padding`` zero columns at the end."""
    block = matrix[rows].toarray()
    if padding:
        block = np.hstack([block, np.zeros((len(block), padding), block.dtype)])
    return block


def put_observed(dense: np.ndarray, counts: sparse.csr_matrix, value: float | None = None):
    """Write ``counts``' stored entries (or ``value`` at them) into ``dense``, by blocks of rows."""
    for rows in row_chunks(counts.shape[0], 4096):
        block = counts[rows].tocoo()
        dense[rows][block.row, block.col] = block.data if value is None else value
    return dense


def row_chunks(n_rows: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` rows covering ``n_rows``."""
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


def rows_per_chunk(entries_per_row: int, entries: int, most: int | None = None) -> int:
    """Rows in a chunk of about ``entries`` entries: at least one, at most ``most``."""
    rows = entries // max(1, entries_per_row)
    return max(1, rows if most is None else min(most, rows))


def zero_fraction(matrix: sparse.spmatrix) -> float:
    """Share of entries that are zero."""
    size = matrix.shape[0] * matrix.shape[1]
    return (size - matrix.count_nonzero()) / size
