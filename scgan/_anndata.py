"""The one place scgan reads and writes an AnnData.

Reads and checks raw counts (kept sparse), encodes cell types and batches as
integer codes (deriving cell types by clustering when none are given),
matches the genes of new cells to the training genes, and writes the
imputation (float32 layers and a record in ``uns``), saying what it added.
"""

import logging
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
from scipy import sparse

from ._cluster import leiden, pca_embedding
from ._data import as_csr, nonzeros_per_column, normalise_log, put_observed, row_chunks
from .models import Imputation

logger = logging.getLogger(__name__)

MIN_CELLS = 10
SPREAD = "_std"
"""Suffix of the layer with an imputation's spread."""
DRAW = "_draw_"
"""Suffix, before the draw's number (from 1), of the layers with draws."""


# --- reading ------------------------------------------------------------------------------------


READ_ENTRIES = 2**24
"""Cells × genes per block read from an ``.h5ad`` file (backed) or a dask array."""


def read_rows(matrix, size: int | None = None) -> Iterator[sparse.csr_matrix]:
    """The rows of ``matrix`` as float32 CSR blocks of ``size`` rows (by default ``READ_ENTRIES``).

    ``matrix`` may be in memory (dense or sparse), backed by an ``.h5ad``
    file (``read_h5ad(path, backed="r")``) or a dask array: only one block
    at a time is read.
    """
    size = size or max(1, READ_ENTRIES // max(1, matrix.shape[1]))
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
    package = Path(__file__).parent
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


# --- conditions ---------------------------------------------------------------------------------


@dataclass
class Conditions:
    """Where the cell types and batches come from, and their categories (saved with a model)."""

    labels: dict | None = None
    """``{"key", "derived", "categories"}``, or ``None`` for a backend without labels."""
    batches: dict | None = None
    """``{"key", "categories"}``, or ``None`` without batches."""
    centroids: np.ndarray | None = None
    """Mean log-normalised profile of each derived label, to label new cells."""

    def n_categories(self) -> list[int] | None:
        if self.labels is None:
            return None
        sizes = [len(self.labels["categories"])]
        return sizes + ([len(self.batches["categories"])] if self.batches else [])

    @classmethod
    def from_training(
        cls, adata, counts, labels_key: str | None, batch_key: str | None, random_state: int
    ) -> tuple["Conditions", np.ndarray]:
        """The conditions of the training cells, and their codes (cells × conditions)."""
        if labels_key is not None:
            label_codes, names = _categories(adata, labels_key, "labels_key")
            found = cls({"key": labels_key, "derived": False, "categories": names})
        else:
            label_codes, names, centroids = derive_labels(counts, random_state)
            found = cls({"key": None, "derived": True, "categories": names}, None, centroids)
        columns = [label_codes]
        if batch_key is not None:
            batch_codes, batch_names = _categories(adata, batch_key, "batch_key")
            columns.append(batch_codes)
            found.batches = {"key": batch_key, "categories": batch_names}
        return found, np.stack(columns, axis=1).astype(np.int64)

    def codes_for(self, adata, counts) -> np.ndarray:
        """Codes of new cells by the training categories."""
        if self.labels["derived"]:
            columns = [nearest_centroid(counts, self.centroids)]
        else:
            columns = [_codes_in(adata, self.labels["key"], self.labels["categories"])]
        if self.batches is not None:
            columns.append(_codes_in(adata, self.batches["key"], self.batches["categories"]))
        return np.stack(columns, axis=1)

    def target_code(self, target_batch: str | None) -> int | None:
        """The code of ``target_batch`` among the training batches (``None`` stays ``None``)."""
        if target_batch is None:
            return None
        names = self.batches["categories"]
        if str(target_batch) not in names:
            msg = f"target_batch {target_batch!r} is not a batch in the data; batches: {names}"
            raise ValueError(msg)
        return names.index(str(target_batch))


def derive_labels(counts, random_state: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Leiden clusters of the PCA of log-normalised counts: codes, names and centroids."""
    log_values = normalise_log(counts)
    clusters = leiden(
        pca_embedding(log_values, random_state=random_state), random_state=random_state
    )
    names, codes = np.unique(clusters, return_inverse=True)
    logger.info("no labels_key: derived %d labels by Leiden clustering", len(names))
    centroids = np.stack(
        [np.asarray(log_values[codes == c].mean(axis=0)).ravel() for c in range(len(names))]
    )
    return codes, [str(n) for n in names], centroids


def nearest_centroid(counts, centroids: np.ndarray) -> np.ndarray:
    """Index of the centroid nearest to each cell's log-normalised profile."""
    log_values = normalise_log(counts)
    distances = (
        np.asarray(log_values.multiply(log_values).sum(axis=1))
        - 2 * (log_values @ centroids.T)
        + (centroids**2).sum(1)[None, :]
    )
    return distances.argmin(axis=1)


def _categories(adata: ad.AnnData, key: str, role: str) -> tuple[np.ndarray, list[str]]:
    values = obs_column(adata, key)
    categories, codes = np.unique(values, return_inverse=True)
    if len(categories) < 2:
        msg = f"obs[{key!r}] has a single category; a {role} needs at least two (or pass None)"
        raise ValueError(msg)
    return codes, [str(c) for c in categories]


def _codes_in(adata: ad.AnnData, key: str, categories: list[str]) -> np.ndarray:
    """Codes of ``obs[key]`` by the training ``categories``; unseen values are refused."""
    values = obs_column(adata, key)
    unseen = sorted(set(values) - set(categories))
    if unseen:
        msg = (
            f"obs[{key!r}] has categories not seen in training: {unseen[:10]}; known: {categories}"
        )
        raise ValueError(msg)
    index = {name: i for i, name in enumerate(categories)}
    return np.array([index[v] for v in values], dtype=np.int64)


# --- writing ------------------------------------------------------------------------------------


def imputation_layers(imputation: Imputation, key_added: str) -> dict[str, tuple]:
    """Layer name → ``(matrix, value at kept observed counts)`` of an imputation.

    ``None`` as the value: the observed count itself (the estimate and each
    draw); ``0.0``: the spread, which is zero where counts are kept.
    """
    layers = {key_added: (imputation.mean, None)}
    if imputation.spread is not None:
        layers[key_added + SPREAD] = (imputation.spread, 0.0)
    for i, draw in enumerate([] if imputation.draws is None else imputation.draws, start=1):
        layers[f"{key_added}{DRAW}{i}"] = (draw, None)
    return layers


def _stale_layers(names, key_added: str, written) -> list[str]:
    """Layers of an earlier imputation under ``key_added`` (its spread, its draws) not written now."""
    ours = {key_added + SPREAD}
    return [
        name
        for name in names
        if name not in written and (name in ours or name.startswith(key_added + DRAW))
    ]


def write_imputation(
    adata: ad.AnnData,
    imputation: Imputation,
    counts: sparse.csr_matrix,
    *,
    only_zeros: bool,
    key_added: str,
    record: dict,
    copy: bool,
    order: np.ndarray | None = None,
) -> ad.AnnData | None:
    """Write ``layers[key_added]`` (with its spread and draws, if any) and ``uns[key_added]``.

    With ``only_zeros`` the observed counts are kept. ``order[i]`` is the
    column of ``adata`` holding the ``i``-th gene of ``counts``.
    """
    layers = imputation_layers(imputation, key_added)
    back = None if order is None or (order == np.arange(len(order))).all() else np.argsort(order)
    for matrix, observed in layers.values():
        if only_zeros:
            put_observed(matrix, counts, observed)
        if back is not None:
            _permute_columns(matrix, back)
    adata = adata.copy() if copy else adata
    for name in _stale_layers(list(adata.layers), key_added, layers):
        del adata.layers[name]
        logger.info("removed .layers[%r] of an earlier imputation", name)
    for name, (matrix, _) in layers.items():
        adata.layers[name] = matrix
    adata.uns[key_added] = record
    added = [f".layers[{name!r}]" for name in layers] + [f".uns[{key_added!r}]"]
    logger.info("added %s", ", ".join(added))
    return adata if copy else None


def _permute_columns(matrix: np.ndarray, order: np.ndarray) -> None:
    """``matrix[:, order]`` in place, a block of rows at a time."""
    for rows in row_chunks(matrix.shape[0], 4096):
        matrix[rows] = matrix[rows][:, order]


def write_imputation_file(
    path: Path,
    blocks: Iterator[tuple[slice, Imputation]],
    counts: sparse.csr_matrix,
    *,
    only_zeros: bool,
    key_added: str,
    record: dict,
    order: np.ndarray | None = None,
) -> None:
    """As :func:`write_imputation`, into the ``.h5ad`` file ``path``, a block of rows at a time.

    ``path`` must hold the cells and genes of ``counts`` (a copy of the
    input's file). The layers are written under temporary names and renamed
    when every block is in, so a failure leaves the file's layers as they were.
    """
    import h5py

    path = Path(path)
    back = None if order is None or (order == np.arange(len(order))).all() else np.argsort(order)
    with h5py.File(path, "r+") as file:
        _check_file_shape(file, counts.shape, path)
        layers = _group(file, "layers")
        _remove_partial_layers(layers, key_added, path)
        partial: dict[str, str] = {}
        try:
            _write_blocks(layers, blocks, counts, key_added, partial, only_zeros, back)
        except BaseException:
            for name in partial.values():
                if name in layers:
                    del layers[name]
            raise
        for name in _stale_layers(list(layers), key_added, partial) + list(partial):
            if name in layers:
                del layers[name]  # an earlier imputation's
        for name, temporary in partial.items():
            layers.move(temporary, name)
        uns = _group(file, "uns")
        if key_added in uns:
            del uns[key_added]
        _write_elem(uns, key_added, record)
    logger.info("added %s to %s", ", ".join(f".layers[{k!r}]" for k in partial), path)


def _remove_partial_layers(layers, key_added: str, path: Path) -> None:
    """Remove the partial layers that a killed run writing ``key_added`` left in the file."""
    for name in [n for n in layers if n.startswith(f".{key_added}") and n.endswith(".partial")]:
        del layers[name]
        logger.warning("removed the layer %r from %s, left by a run that was killed", name, path)


def _write_blocks(layers, blocks, counts, key_added, partial, only_zeros, back) -> None:
    """Write each block's layers into datasets of ``layers`` (named ``partial[name]`` until done)."""
    for rows, block in blocks:
        for name, (matrix, observed) in imputation_layers(block, key_added).items():
            if only_zeros:
                put_observed(matrix, counts[rows], observed)
            if back is not None:
                _permute_columns(matrix, back)
            if name not in partial:
                partial[name] = f".{name}.partial"
                _dense_dataset(layers, partial[name], counts.shape)
            layers[partial[name]][rows] = matrix
        layers.file.flush()  # a killed run leaves a readable file whose partial layers go next time


def _check_file_shape(file, shape: tuple[int, int], path: Path) -> None:
    """Refuse a file whose ``X`` is not cells × genes of ``shape``."""
    x = file["X"]
    found = tuple(x.attrs["shape"]) if "shape" in x.attrs else x.shape
    if tuple(found) != tuple(shape):
        msg = (
            f"{path} holds {found[0]} × {found[1]} values, not the {shape[0]} × {shape[1]} imputed"
        )
        raise ValueError(msg)


def _group(file, name: str):
    """The group ``name`` of an ``.h5ad`` file, created (as anndata encodes a dict) if missing."""
    if name not in file:
        group = file.create_group(name)
        group.attrs["encoding-type"], group.attrs["encoding-version"] = "dict", "0.1.0"
    return file[name]


def _dense_dataset(group, name: str, shape: tuple[int, int]) -> None:
    """An empty float32 dataset that anndata reads as a dense array, in chunks of whole rows."""
    rows = max(1, min(shape[0], 2**20 // max(1, shape[1])))  # about 4 MB
    dataset = group.create_dataset(name, shape=shape, dtype=np.float32, chunks=(rows, shape[1]))
    dataset.attrs["encoding-type"], dataset.attrs["encoding-version"] = "array", "0.2.0"


def _write_elem(group, key: str, value) -> None:
    """anndata's writer of one element (``anndata.io`` since 0.11, ``experimental`` before)."""
    try:
        from anndata.io import write_elem
    except ImportError:
        from anndata.experimental import write_elem
    write_elem(group, key, value)
