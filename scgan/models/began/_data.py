"""The BEGAN imputer's data: counts split into molecules, gene parts and the whole-cell context.

Counts stay sparse (CSR); only a batch of rows is ever dense. Training
follows molecular cross-validation (Batson et al. 2019): a share of each
cell's molecules is held out once to choose the epoch, and each training
step thins the batch's counts again, so that the generator sees one part of
a cell's molecules and is scored on the other.
"""

from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse

from ..._data import TARGET_SUM, row_chunks
from ..._neighbours import PCA_GENES, column_variance

PCA_CELLS = 20_000
"""The context's principal components are fitted on at most this many cells (drawn at random)."""


def hold_out_molecules(
    counts: sparse.csr_matrix, cells: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """``(training, held_out)``: of each count of ``cells``, ``Binomial(c, fraction)`` held out.

    ``training`` is ``counts`` less the held-out molecules (a new data array
    beside ``counts``' indices: at a million cells a full copy costs GBs);
    ``held_out`` holds those of ``cells`` (sorted), in their order.
    """
    starts, ends = counts.indptr[cells], counts.indptr[cells + 1]
    positions = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
    drawn = rng.binomial(np.rint(counts.data[positions]).astype(np.int64), fraction)
    data = counts.data.astype(np.float32, copy=True)
    data[positions] -= drawn
    training = sparse.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)
    indptr = np.concatenate([[0], np.cumsum(ends - starts)])
    held_out = sparse.csr_matrix(
        (drawn.astype(np.float32), counts.indices[positions], indptr),
        shape=(len(cells), counts.shape[1]),
    )
    held_out.eliminate_zeros()
    return training, held_out


def thin(
    x: torch.Tensor, keep: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(seen, rest)``: each count of ``x`` split as ``Binomial(x, keep)`` (``keep`` per row) and the rest."""
    seen = torch.binomial(x, keep.expand_as(x).contiguous(), generator=generator)
    return seen, x - seen


@dataclass
class Context:
    """A cell's context for each gene part: the rest of the cell, in a few numbers.

    The principal components of ``log1p`` counts (at most ``PCA_GENES`` most
    variable genes) and the log library size. A part trained *blind* gets the
    components and library of the cell without its own genes (the
    components are linear in the genes, so a part's share is subtracted):
    its prediction of a gene never depends on that gene's count.
    """

    loadings: torch.Tensor  # (genes + 1, k), zero rows outside the PCA and at the padding
    centre: torch.Tensor  # (genes + 1,)
    log_library: float  # the training cells' mean log library size

    @classmethod
    def fit(cls, counts: sparse.csr_matrix, k: int, rng: np.random.Generator, device) -> "Context":
        n_cells, n_genes = counts.shape
        loadings = np.zeros((n_genes + 1, k), np.float32)
        centre = np.zeros(n_genes + 1, np.float32)
        if k:
            from sklearn.decomposition import PCA  # not imported by the training processes

            rows = np.sort(rng.choice(n_cells, min(n_cells, PCA_CELLS), replace=False))
            sample = counts[rows].log1p()
            genes = np.sort(np.argsort(-column_variance(sample), kind="stable")[:PCA_GENES])
            dense = sample[:, genes].toarray()
            k_used = min(k, *dense.shape)
            pca = PCA(k_used, svd_solver="randomized", random_state=0).fit(dense)
            scale = np.sqrt(pca.explained_variance_[0]) if pca.explained_variance_[0] > 0 else 1.0
            loadings[genes, :k_used] = (pca.components_.T / scale).astype(np.float32)
            centre[genes] = pca.mean_.astype(np.float32)
        library = np.log(np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1.0))
        return cls(
            torch.from_numpy(loadings).to(device),
            torch.from_numpy(centre).to(device),
            float(library.mean()),
        )

    @property
    def size(self) -> int:
        """Numbers per part: the components, whether the part sees its genes, the log library."""
        return self.loadings.shape[1] + 2

    def __call__(
        self, x: torch.Tensor, own: torch.Tensor, seen: torch.Tensor, parts: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """For counts ``x`` (cells × genes + 1) and ``own``, its counts by part: each part's context.

        ``seen`` (cells × parts) is 1 where a part sees its own genes. Returns
        ``(cells, parts, size)`` and ``(cells, parts)``: the whole cell's
        library, or that of the cell without the part's genes where blind.
        """
        centre, loadings = self._by_part(parts)
        log_x = torch.log1p(x)  # once per gene: a gene is in a part of every repeat
        whole = (log_x - self.centre) @ self.loadings
        share = torch.einsum("bga,gak->bgk", by_part(log_x, parts) - centre, loadings)
        library = x.sum(dim=1, keepdim=True)
        rest = (library - own.sum(dim=2)).clamp(min=1.0)
        blind = seen[:, :, None] < 0.5
        components = torch.where(blind, whole[:, None, :] - share, whole[:, None, :])
        library = torch.where(blind[:, :, 0], rest, library.clamp(min=1.0))
        log_library = torch.log(library)[:, :, None] - self.log_library
        return torch.cat([components, seen[:, :, None], log_library], dim=2), library

    def _by_part(self, parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The centre and loadings of ``parts``' genes, kept for the next call with the same parts."""
        key = (parts.data_ptr(), tuple(parts.shape))
        if getattr(self, "_parts_key", None) != key:
            self._parts_key = key
            self._parts_values = (self.centre[parts], self.loadings[parts])
        return self._parts_values


def by_part(x: torch.Tensor, parts: torch.Tensor) -> torch.Tensor:
    """The columns of ``x`` (cells × genes + 1) of each part: ``(cells, parts, side²)``."""
    return x.index_select(1, parts.reshape(-1)).view(x.shape[0], *parts.shape)


def own_values(x: torch.Tensor, parts: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
    """Each part's own counts as ``log1p`` per 10 000 of ``x``'s library, 0 where blind."""
    library = x.sum(dim=1).clamp(min=1.0)
    values = torch.log1p(x * (TARGET_SUM / library)[:, None]) / LOG_SCALE
    return by_part(values, parts) * seen[:, :, None]


LOG_SCALE = float(np.log1p(TARGET_SUM))
"""``log1p(1e4)``: a count that is the whole library; puts the generator's input in about [0, 1]."""


def gene_shares(counts: sparse.csr_matrix) -> np.ndarray:
    """Each gene's share of all counts (float64), summed a block of rows at a time."""
    total = np.zeros(counts.shape[1])
    for rows in row_chunks(counts.shape[0], 65536):
        total += np.asarray(counts[rows].sum(axis=0), dtype=np.float64).ravel()
    return total / max(total.sum(), 1.0)


def code_tensor(codes: np.ndarray, device) -> torch.Tensor:
    """Condition codes (cells × conditions) as an int64 tensor on ``device``."""
    return torch.from_numpy(np.array(codes, dtype=np.int64)).to(device)


def dense_counts(counts: sparse.csr_matrix, rows: np.ndarray, device) -> torch.Tensor:
    """``counts[rows]`` as a dense float32 tensor on ``device``, with one zero padding column."""
    block = counts[rows].toarray()
    block = np.hstack([block, np.zeros((len(block), 1), block.dtype)])
    return torch.from_numpy(block).to(device)
