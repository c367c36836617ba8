"""Reading raw counts from an AnnData (kept sparse, backed or dask a block at a time) and checking them."""

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import anndata as ad
import numpy as np
from scipy import sparse

from .._data import as_csr, nonzeros_per_column, row_chunks, rows_per_chunk

MIN_CELLS = 10

READ_ENTRIES = 2**24
"""Cells × genes per block read from an ``.h5ad`` file (backed) or a dask array."""


def read_rows(matrix, size: int | None = None) -> Iterator[sparse.csr_matrix]:
    """The rows of ``matrix`` as float32 CSR blocks of ``size`` rows (by default ``READ_ENTRIES``).

    ``matrix`` may be in memory (dense or sparse), backed by an ``.h5ad``
    file (``read_h5ad(path, backed="r")``) or a dask array: only one block
    at a time is read.
    """
    size = size or rows_per_chunk(matrix.shape[1], READ_ENTRIES)
    for rows in row_chunks(matrix.shape[0], size):
        block = matrix[rows]
        if hasattr(block, "compute"):  # dask
            block = block.compute()
        yield as_csr(block)


def _read_csr(matrix) -> sparse.csr_matrix:
    """``matrix`` (not in memory) as float32 CSR, filled a block of rows at a time.

    Two passes: the first counts the stored values, so that the second fills
    arrays of their final size (a list of blocks stacked at the end held
    twice the memory, and freed blocks stayed in the heap).
    """
    stored = sum(block.nnz for block in read_rows(matrix))
    index = np.int32 if max(stored, matrix.shape[1]) < 2**31 else np.int64
    data, indices = np.empty(stored, np.float32), np.empty(stored, index)
    indptr, row, at = np.zeros(matrix.shape[0] + 1, index), 0, 0
    for block in read_rows(matrix):
        data[at : at + block.nnz], indices[at : at + block.nnz] = block.data, block.indices
        indptr[row + 1 : row + 1 + block.shape[0]] = at + block.indptr[1:]
        row, at = row + block.shape[0], at + block.nnz
    return sparse.csr_matrix((data, indices, indptr), shape=matrix.shape)


def get_counts(adata: ad.AnnData, layer: str | None = None) -> sparse.csr_matrix:
    """Return ``X`` or ``layers[layer]`` as a float32 CSR copy, after checking it holds counts.

    A matrix not in memory (backed or dask) is read a block of rows at a time.
    """
    if layer is not None and layer not in adata.layers:
        msg = f"layer {layer!r} not found; available layers: {list(adata.layers)}"
        raise KeyError(msg)
    matrix = adata.X if layer is None else adata.layers[layer]
    where = "adata.X" if layer is None else f"adata.layers[{layer!r}]"
    if matrix is None:
        msg = f"{where} is empty; pass layer= naming the raw counts"
        raise ValueError(msg)
    if isinstance(matrix, np.ndarray) or sparse.issparse(matrix):
        counts = as_csr(matrix)
    else:
        counts = _read_csr(matrix)
    for part in row_chunks(counts.nnz, READ_ENTRIES):  # a block at a time: few temporaries
        _check_counts(counts.data[part], where)
    return counts


def _check_counts(values: np.ndarray, where: str) -> None:
    """Refuse stored values that are not finite, non-negative integers."""
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


def layer_of(adata: ad.AnnData, key: str, hint: str):
    """``adata.layers[key]``, or a ``KeyError`` that says how to make it (``hint``)."""
    if key not in adata.layers:
        msg = f"layer {key!r} not found; {hint}"
        raise KeyError(msg)
    return adata.layers[key]


def check_anndata(adata: ad.AnnData, *, writes: bool = True) -> None:
    """Refuse AnnData objects that cannot take new layers safely (``writes``) or be read."""
    if not isinstance(adata, ad.AnnData):
        msg = f"expected an AnnData, got {type(adata).__name__}"
        raise TypeError(msg)
    if adata.isbacked and writes:
        msg = (
            "adata is backed (read with backed='r'): pass write_to=<a copy of its file> to "
            "write the imputation there a block of rows at a time, or load it into memory "
            "first: adata = adata.to_memory()"
        )
        raise ValueError(msg)
    if adata.is_view:
        msg = (
            "adata is a view of another AnnData; make it a real object first: adata = adata.copy()"
        )
        raise ValueError(msg)
    if not adata.var_names.is_unique:
        repeated = adata.var_names[adata.var_names.duplicated()].unique().tolist()
        msg = (
            f"gene names repeat (e.g. {repeated[:5]}), so genes cannot be matched by name; "
            "make them unique first: adata.var_names_make_unique()"
        )
        raise ValueError(msg)


def check_size(counts: sparse.csr_matrix) -> None:
    """Refuse too few cells, no genes and no counts at all."""
    n_cells, n_genes = counts.shape
    if n_cells < MIN_CELLS:
        msg = f"only {n_cells} cell(s): imputation needs at least {MIN_CELLS} cells"
        raise ValueError(msg)
    if n_genes == 0 or counts.nnz == 0:
        msg = f"the counts ({n_cells} × {n_genes}) hold no non-zero value; nothing can be imputed"
        raise ValueError(msg)


def check_training_counts(counts: sparse.csr_matrix) -> None:
    """:func:`check_size`, and warn that all-zero cells and genes stay zero."""
    check_size(counts)
    per_cell, per_gene = np.diff(counts.indptr), nonzeros_per_column(counts)
    for stored, what, fix in (
        (per_cell, "cell", "filter_cells"),
        (per_gene, "gene", "filter_genes"),
    ):
        empty = int((stored == 0).sum())
        if empty:
            warn(
                f"{empty} {what}(s) have no counts and stay zero; to drop them use "
                f"sc.pp.{fix}(adata, min_counts=1)"
            )


def warn(message: str) -> None:
    """A ``UserWarning`` pointing at the user's line: the first caller outside scgan."""
    package = Path(__file__).parents[1]  # scgan/
    frame, level = sys._getframe(0), 1
    while frame is not None and Path(frame.f_code.co_filename).is_relative_to(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def counts_in_order(
    adata: ad.AnnData, genes: list[str], layer: str | None
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Counts with genes in training order, and each training gene's column in ``adata``."""
    names = [str(g) for g in adata.var_names]
    if names != genes:
        missing = sorted(set(genes) - set(names))
        extra = sorted(set(names) - set(genes))
        if missing or extra or len(names) != len(genes):
            msg = (
                f"genes differ from training: {len(missing)} missing (e.g. {missing[:5]}), "
                f"{len(extra)} not seen in training (e.g. {extra[:5]}); subset adata to the "
                "training genes, e.g. adata[:, imputer.genes_]"
            )
            raise ValueError(msg)
    position = {gene: i for i, gene in enumerate(names)}
    order = np.array([position[g] for g in genes], dtype=np.int64)
    counts = get_counts(adata, layer)[:, order]  # a new matrix: sorting it touches nothing else
    counts.sort_indices()
    return counts, order
