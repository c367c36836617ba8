"""Reading count matrices out of an AnnData, with checks that say what to do."""

import anndata as ad
import numpy as np
from scipy import sparse


def get_counts(adata: ad.AnnData, layer: str | None = None) -> sparse.csr_matrix:
    """Return ``X`` or ``layers[layer]`` as a float32 CSR copy, after checking it holds counts."""
    if layer is not None and layer not in adata.layers:
        msg = f"layer {layer!r} not found; available layers: {list(adata.layers)}"
        raise KeyError(msg)
    matrix = adata.X if layer is None else adata.layers[layer]
    where = "adata.X" if layer is None else f"adata.layers[{layer!r}]"
    if matrix is None:
        msg = f"{where} is empty; pass layer= naming the raw counts"
        raise ValueError(msg)
    counts = sparse.csr_matrix(matrix, dtype=np.float32, copy=True)
    values = counts.data
    if not np.isfinite(values).all():
        msg = f"{where} contains NaN or infinite values; remove or fill them before imputing"
        raise ValueError(msg)
    if (values < 0).any():
        msg = f"{where} has negative values: raw counts are needed; pass layer='counts'"
        raise ValueError(msg)
    if not np.allclose(values, np.rint(values), rtol=0, atol=1e-6):
        msg = (
            f"{where} has non-integer values (normalised or log-transformed?): raw counts "
            "are needed; pass layer='counts'"
        )
        raise ValueError(msg)
    counts.eliminate_zeros()
    return counts


def obs_column(adata: ad.AnnData, key: str) -> np.ndarray:
    """``obs[key]`` as strings, after checking it exists and has no missing values."""
    if key not in adata.obs:
        msg = f"obs[{key!r}] not found; available columns: {list(adata.obs.columns)}"
        raise KeyError(msg)
    values = adata.obs[key]
    if values.isna().any():
        msg = f"obs[{key!r}] has {int(values.isna().sum())} missing values; fill or drop those cells first"
        raise ValueError(msg)
    return values.astype(str).to_numpy()


def expressed_genes(counts: sparse.spmatrix | np.ndarray) -> np.ndarray:
    """Boolean mask of the genes (columns) with at least one non-zero count."""
    return np.asarray((counts != 0).sum(axis=0)).ravel() > 0


def library_size(counts: sparse.spmatrix | np.ndarray) -> np.ndarray:
    """Total counts per cell, as a 1-D float64 array."""
    return np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()


def dense(matrix: sparse.spmatrix | np.ndarray) -> np.ndarray:
    """A dense float64 array of any matrix."""
    return (
        matrix.toarray().astype(np.float64)
        if sparse.issparse(matrix)
        else np.asarray(matrix, dtype=np.float64)
    )


def normalise_log(counts: sparse.spmatrix | np.ndarray, target_sum: float = 1e4) -> np.ndarray:
    """``log1p(counts / library * target_sum)`` as a dense array (empty cells stay zero)."""
    x = dense(counts)
    lib = library_size(x)
    scale = np.divide(target_sum, lib, out=np.zeros_like(lib), where=lib > 0)
    return np.log1p(x * scale[:, None])


def to_counts(log_norm: np.ndarray, library: np.ndarray, target_sum: float = 1e4) -> np.ndarray:
    """Invert :func:`normalise_log` onto each cell's own library size (clipped at zero)."""
    return np.maximum(np.expm1(log_norm), 0.0) * (library / target_sum)[:, None]


class LogScaler:
    """``v = log1p(counts / library · 1e4) / top``, with ``top`` the largest value seen in ``fit``.

    Maps counts into [0, 1] (values above the fitted maximum may exceed 1)
    and back onto each cell's own library size with :meth:`inverse`.
    """

    def __init__(self, target_sum: float = 1e4):
        self.target_sum = target_sum
        self.top: float | None = None

    def fit(self, counts) -> "LogScaler":
        self.top = float(normalise_log(counts, self.target_sum).max()) or 1.0
        return self

    def transform(self, counts) -> np.ndarray:
        return normalise_log(counts, self.target_sum) / self.top

    def inverse(self, scaled: np.ndarray, library: np.ndarray) -> np.ndarray:
        return to_counts(scaled * self.top, library, self.target_sum)
