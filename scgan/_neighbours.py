"""Each cell's nearest other cells, on the principal components of its log-normalised counts.

scikit-learn is imported where it is used: the training processes that
scgan starts for several devices import this module and never use it
(importing scikit-learn takes about 2 s).
"""

import numpy as np
from scipy import sparse

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
    from sklearn.decomposition import PCA

    n_comps = min(n_pcs, min(values.shape) - 1)
    embedding = PCA(n_comps, svd_solver="arpack", random_state=random_state).fit_transform(values)
    return knn(embedding, k + 1, random_state)[0][:, 1:]


def knn(embedding: np.ndarray, k: int, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances (points × k) of each point's ``k`` nearest, itself first.

    Exact up to ``EXACT_CELLS`` points; beyond, approximate by nearest-neighbour
    descent (pynndescent, as scanpy uses), whose time grows about linearly:
    exact search took 44 s at 100 000 cells and grows with the square.
    """
    n_points = len(embedding)
    k = min(k, n_points)
    if n_points <= EXACT_CELLS:
        from sklearn.neighbors import NearestNeighbors

        distances, others = NearestNeighbors(n_neighbors=k - 1).fit(embedding).kneighbors()
    else:
        from pynndescent import NNDescent

        index = NNDescent(embedding, n_neighbors=k, random_state=random_state, n_jobs=1)
        found, found_distances = index.neighbor_graph
        others, distances = _without_self(found, found_distances, k - 1)
    itself = np.arange(n_points)[:, None]
    return (
        np.hstack([itself, others]).astype(np.int64),
        np.hstack([np.zeros((n_points, 1)), distances]).astype(np.float32),
    )


def _without_self(indices: np.ndarray, distances: np.ndarray, k: int):
    """Each row's first ``k`` neighbours other than the row's own point."""
    keep = indices != np.arange(len(indices))[:, None]
    keep &= np.cumsum(keep, axis=1) <= k
    return indices[keep].reshape(-1, k), distances[keep].reshape(-1, k)


def column_variance(values: sparse.csr_matrix) -> np.ndarray:
    """Variance of each column of ``values``."""
    mean = np.asarray(values.mean(axis=0, dtype=np.float64)).ravel()
    squares = np.asarray(values.multiply(values).mean(axis=0, dtype=np.float64)).ravel()
    return squares - mean**2
