"""Each cell's nearest other cells, on the principal components of its log-normalised counts."""

import numpy as np
from scipy import sparse
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

PCA_GENES = 2000
"""Neighbours are found on the principal components of at most this many most variable genes."""
EXACT_CELLS = 50_000
"""Up to this many cells, neighbours are exact; beyond, approximate (pynndescent)."""


def nearest_neighbours(
    values: sparse.csr_matrix, k: int, *, n_pcs: int = 30, random_state: int = 0
) -> np.ndarray:
    """Indices (cells × k) of each cell's ``k`` nearest other cells, nearest first.

    Distances are Euclidean on the first ``n_pcs`` principal components of
    ``values`` (cells × genes, sparse: ARPACK with implicit centring) at its
    ``PCA_GENES`` most variable genes, as scanpy's workflow does; a cell is
    never its own neighbour.
    """
    n_cells = values.shape[0]
    k = min(k, n_cells - 1)
    if values.shape[1] > PCA_GENES:
        values = values[:, np.sort(np.argsort(-column_variance(values), kind="stable")[:PCA_GENES])]
    n_comps = min(n_pcs, min(values.shape) - 1)
    embedding = PCA(n_comps, svd_solver="arpack", random_state=random_state).fit_transform(values)
    indices = _neighbours_of_each(embedding, k + 1, random_state)
    others = np.empty((n_cells, k), dtype=np.int64)
    for i, row in enumerate(indices):
        others[i] = row[row != i][:k]
    return others


def _neighbours_of_each(embedding: np.ndarray, k: int, random_state: int) -> np.ndarray:
    """The ``k`` nearest points to each point (itself included, mostly first).

    Exact up to ``EXACT_CELLS`` points; beyond, approximate by nearest-neighbour
    descent (pynndescent, as scanpy uses), whose time grows about linearly:
    exact search took 44 s at 100 000 cells and grows with the square.
    """
    if len(embedding) <= EXACT_CELLS:
        return NearestNeighbors(n_neighbors=k).fit(embedding).kneighbors(embedding)[1]
    from pynndescent import NNDescent

    index = NNDescent(embedding, n_neighbors=k, random_state=random_state, n_jobs=1)
    return index.neighbor_graph[0]


def column_variance(values: sparse.csr_matrix) -> np.ndarray:
    """Variance of each column of ``values``."""
    mean = np.asarray(values.mean(axis=0, dtype=np.float64)).ravel()
    squares = np.asarray(values.multiply(values).mean(axis=0, dtype=np.float64)).ravel()
    return squares - mean**2
