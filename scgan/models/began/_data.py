"""The BEGAN imputer's data: scaled counts kept sparse, cut into gene-part images by rows.

A cell's image for one gene part is its scaled values at the part's genes
(``side²`` of them, padded with a zero column). The neighbourhood channel is
the mean of the cell's nearest other cells, computed for the rows asked for;
nothing of full size is ever dense.
"""

from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse

from ..._data import dense_rows, row_chunks


def neighbour_mean(
    values: sparse.csr_matrix, neighbours: np.ndarray, *, indicator: bool = False
) -> np.ndarray:
    """Average of ``values``' rows listed in each row of ``neighbours`` (dense, ``values``' dtype).

    Summed as one sparse product in float64 (exact for these few float32
    values), then divided: densifying each neighbour's rows took a fifth of
    the training time at 32 738 genes. With ``indicator``, of 1 at every
    stored value instead of the value.
    """
    n_rows, k = neighbours.shape
    cells, local = np.unique(neighbours, return_inverse=True)
    pick = sparse.csr_matrix(
        (np.ones(n_rows * k), local.ravel(), np.arange(0, n_rows * k + 1, k)),
        shape=(n_rows, len(cells)),
    )
    rows = values[cells].astype(np.float64)
    if indicator:
        rows.data[:] = 1.0
    total = (pick @ rows).toarray()
    return (total / max(k, 1)).astype(values.dtype)


@dataclass
class CellImages:
    """Rows of the scaled counts as gene-part images on the device.

    ``parts`` holds the gene indices of every part of every repeat
    (``groups × side²``, the padding index is the number of genes).
    """

    values: sparse.csr_matrix
    neighbours: np.ndarray  # cells × (at least) n_neighbors
    n_neighbors: int
    parts: torch.Tensor
    device: torch.device

    def __call__(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(x, around)`` of ``rows``: ``(rows, groups, side²)`` each; ``around`` is ``None`` without neighbours."""
        x = self._images(dense_rows(self.values, rows, padding=1))
        if not self.n_neighbors:
            return x, None
        around = neighbour_mean(self.values, self.neighbours[rows, : self.n_neighbors])
        return x, self._images(np.hstack([around, np.zeros((len(around), 1), around.dtype)]))

    def _images(self, block: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(block).to(self.device)[:, self.parts]


def expressed_share(
    values: sparse.csr_matrix, neighbours: np.ndarray, rows, k: int, rate: np.ndarray
) -> np.ndarray:
    """For ``rows``: the share of expressing cells among each cell and its ``k`` neighbours.

    A cell expresses a gene where ``values`` (cells × genes, float32) stores
    a value (none is zero). One pseudo-cell expressing each gene at its
    detection ``rate`` (the share of all cells expressing it) is counted
    too, so that no share is exactly zero.
    """
    own = (dense_rows(values, rows) != 0).astype(np.float32)
    if k == 0:
        return np.ones(own.shape)
    around = neighbour_mean(values, neighbours[rows, :k], indicator=True).astype(np.float64) * k
    return (own + around + rate) / (k + 2)


def detection_rate(values: sparse.csr_matrix, block: int = 2**24) -> np.ndarray:
    """Share of cells storing a value, per gene (column) of ``values``, as float64.

    Summed in float32, row after row, as scipy's mean of the float32
    indicator (bit-identical to it), without that mean's three copies of
    the matrix (5 GB at a million cells × 1 000 genes).
    """
    total = np.zeros(values.shape[1], np.float32)
    share = np.float32(1.0 / values.shape[0])
    for part in row_chunks(values.nnz, block):
        np.add.at(total, values.indices[part], share)
    return total.astype(np.float64)


@dataclass
class Validation:
    """Observed non-zero entries hidden from training, to choose the epoch."""

    cells: np.ndarray
    genes: np.ndarray
    values: np.ndarray


def hold_out(
    scaled: sparse.csr_matrix, fraction: float, max_cells: int, rng: np.random.Generator
) -> tuple[sparse.csr_matrix, Validation]:
    """A share ``fraction`` of the non-zeros of at most ``max_cells`` cells, and the rest.

    The rest is ``scaled`` itself with the held-out entries removed in
    place: at a million cells a copy would be 2 GB.
    """
    n_cells = scaled.shape[0]
    pool = rng.choice(n_cells, min(n_cells, max_cells), replace=False)
    positions = _stored_positions(scaled, pool)
    positions = positions[scaled.data[positions] != 0]
    pick = rng.random(len(positions)) < fraction
    positions = positions[pick]
    if not len(positions):
        msg = (
            "no observed counts were held out to choose the epoch; raise "
            "validation_fraction or validation_cells"
        )
        raise ValueError(msg)
    cells = np.searchsorted(scaled.indptr, positions, side="right") - 1
    validation = Validation(
        cells, scaled.indices[positions].astype(np.int64), scaled.data[positions]
    )
    scaled.data[positions] = 0
    scaled.eliminate_zeros()
    scaled.sort_indices()
    return scaled, validation


def _stored_positions(matrix: sparse.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Positions in ``matrix.data`` of the stored entries of ``rows``, row after row in that order."""
    starts, ends = matrix.indptr[rows], matrix.indptr[rows + 1]
    lengths = ends - starts
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + offsets
