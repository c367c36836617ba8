"""The mean profile of each cell's nearest neighbours (the generator's neighbourhood channel)."""

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors


def neighbour_mean(
    values: np.ndarray, k: int, *, n_pcs: int = 30, random_state: int = 0
) -> np.ndarray:
    """Average of ``values`` over each cell's ``k`` nearest other cells.

    Neighbours are found by Euclidean distance on the first ``n_pcs``
    principal components of ``values`` (cells × genes); a cell is never its
    own neighbour, so its own values, hidden or not, do not leak in.
    """
    n_cells = values.shape[0]
    k = min(k, n_cells - 1)
    n_comps = min(n_pcs, n_cells - 1, values.shape[1])
    embedding = PCA(n_comps, random_state=random_state).fit_transform(values)
    _, indices = NearestNeighbors(n_neighbors=k + 1).fit(embedding).kneighbors(embedding)
    others = np.empty((n_cells, k), dtype=np.int64)
    for i, row in enumerate(indices):
        row = row[row != i]
        others[i] = row[:k]
    mean = np.zeros_like(values)
    for j in range(k):
        mean += values[others[:, j]]
    return mean / k
