"""PCA embeddings and Leiden clusters, shared by the scores and by label derivation."""

import anndata as ad
import numpy as np
import scanpy as sc
from scipy import sparse

from ._neighbours import knn

LOG2_SPREAD_TOLERANCE = 1e-5
"""How close a cell's summed memberships must come to ``log2(k)`` (UMAP's tolerance)."""


def pca_embedding(log_norm, n_pcs: int = 30, random_state: int = 0) -> np.ndarray:
    """PCA of library-normalised, ``log1p``-transformed counts (``_data.normalise_log``)."""
    log_norm = log_norm.astype(np.float32, copy=False)
    n_comps = min(n_pcs, log_norm.shape[0] - 1, log_norm.shape[1] - 1)
    return sc.pp.pca(log_norm, n_comps=n_comps, random_state=random_state)


def leiden(
    embedding: np.ndarray, *, resolution: float = 1.0, n_neighbors: int = 15, random_state: int = 0
) -> np.ndarray:
    """Leiden clusters (scanpy, igraph flavour) of a kNN graph on ``embedding``, as strings.

    The graph is scanpy's default (UMAP's fuzzy connectivities of the
    ``n_neighbors`` nearest cells, the cell itself included), built here
    in numpy: scanpy's builds it with numba, which compiles for about 10 s
    in every new process.
    """
    graph = ad.AnnData(shape=(embedding.shape[0], 0))
    indices, distances = knn(embedding, n_neighbors, random_state)
    sc.tl.leiden(
        graph,
        adjacency=fuzzy_connectivities(indices, distances),
        resolution=resolution,
        random_state=random_state,
        flavor="igraph",
        n_iterations=2,
        directed=False,
    )
    return graph.obs["leiden"].to_numpy()


def fuzzy_connectivities(indices: np.ndarray, distances: np.ndarray) -> sparse.csr_matrix:
    """UMAP's fuzzy union of each cell's neighbourhood (McInnes et al. 2018), cells × cells.

    ``indices``, ``distances``: each cell's nearest cells, itself first at
    distance 0. A cell's membership of its neighbour at distance ``d`` is
    ``exp(-(d - ρ) / σ)``, where ρ is the distance to its nearest other cell
    and σ makes its memberships sum to ``log2(k)``; memberships ``a`` and
    ``b`` of the two directions join as ``a + b - ab``.
    """
    n_cells, k = indices.shape
    nearest = np.where(distances > 0, distances, np.inf).min(axis=1)
    nearest = np.where(np.isfinite(nearest), nearest, 0).astype(np.float32)
    gaps = distances - nearest[:, None]
    sigma = _bandwidths(gaps[:, 1:], np.log2(k))
    floor = np.where(nearest > 0, distances.mean(axis=1), distances.mean()) * 1e-3
    sigma = np.maximum(sigma, floor.astype(np.float32))
    membership = np.exp(-np.maximum(gaps, 0) / sigma[:, None]).astype(np.float32)
    membership[:, 0] = 0  # the cell itself
    rows = np.arange(0, n_cells * k + 1, k)
    one_way = sparse.csr_matrix((membership.ravel(), indices.ravel(), rows), (n_cells, n_cells))
    one_way.eliminate_zeros()
    other_way = one_way.T.tocsr()
    union = (one_way + other_way - one_way.multiply(other_way)).tocsr()
    union.eliminate_zeros()
    return union


def _bandwidths(gaps: np.ndarray, target: float, n_iter: int = 64) -> np.ndarray:
    """Per row, σ with ``Σ_j exp(-max(gap_j, 0) / σ) ≈ target``, by bisection (all rows at once)."""
    gaps = gaps.astype(np.float64)
    n_rows = len(gaps)
    low, high, sigma = np.zeros(n_rows), np.full(n_rows, np.inf), np.ones(n_rows)
    searching = np.ones(n_rows, dtype=bool)
    for _ in range(n_iter):
        total = np.where(gaps > 0, np.exp(-gaps / sigma[:, None]), 1.0).sum(axis=1)
        searching &= np.abs(total - target) >= LOG2_SPREAD_TOLERANCE
        too_wide = searching & (total > target)
        too_narrow = searching & ~too_wide
        high = np.where(too_wide, sigma, high)
        low = np.where(too_narrow, sigma, low)
        bounded = np.isfinite(high)
        sigma = np.where(too_wide | (too_narrow & bounded), (low + high) / 2, sigma)
        sigma = np.where(too_narrow & ~bounded, sigma * 2, sigma)
    return sigma.astype(np.float32)
