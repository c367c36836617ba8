"""Each cell's nearest other cells, and averages over them (the generator's neighbourhood)."""

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors


def nearest_neighbours(
    values: np.ndarray, k: int, *, n_pcs: int = 30, random_state: int = 0
) -> np.ndarray:
    """Indices (cells × k) of each cell's ``k`` nearest other cells, nearest first.

    Distances are Euclidean on the first ``n_pcs`` principal components of
    ``values`` (cells × genes); a cell is never its own neighbour, so its own
    values, hidden or not, do not leak into averages over its neighbours.
    """
    n_cells = values.shape[0]
    k = min(k, n_cells - 1)
    n_comps = min(n_pcs, n_cells - 1, values.shape[1])
    embedding = PCA(n_comps, random_state=random_state).fit_transform(values)
    _, indices = NearestNeighbors(n_neighbors=k + 1).fit(embedding).kneighbors(embedding)
    others = np.empty((n_cells, k), dtype=np.int64)
    for i, row in enumerate(indices):
        others[i] = row[row != i][:k]
    return others


def neighbour_mean(values: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Average of ``values`` over the cells listed in each row of ``neighbours``."""
    mean = np.zeros(values.shape, dtype=np.float64)
    for column in neighbours.T:
        mean += values[column]
    return (mean / max(neighbours.shape[1], 1)).astype(values.dtype)
