"""Writing an imputation: float32 layers and a record in ``uns``, in memory or into an ``.h5ad`` file."""

import logging
from collections.abc import Iterator
from pathlib import Path

import anndata as ad
import numpy as np
from scipy import sparse

from .._data import Imputation, put_observed, row_chunks, rows_per_chunk

logger = logging.getLogger(__name__)

SPREAD = "_std"
"""Suffix of the layer with an imputation's spread."""
DRAW = "_draw_"
"""Suffix, before the draw's number (from 1), of the layers with draws."""


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
    rows = rows_per_chunk(shape[1], 2**20, shape[0])  # about 4 MB
    dataset = group.create_dataset(name, shape=shape, dtype=np.float32, chunks=(rows, shape[1]))
    dataset.attrs["encoding-type"], dataset.attrs["encoding-version"] = "array", "0.2.0"


def _write_elem(group, key: str, value) -> None:
    """anndata's writer of one element (``anndata.io`` since 0.11, ``experimental`` before)."""
    try:
        from anndata.io import write_elem
    except ImportError:
        from anndata.experimental import write_elem
    write_elem(group, key, value)
