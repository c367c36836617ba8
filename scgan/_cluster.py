"""PCA embeddings and Leiden clusters, shared by the scores and by label derivation."""

import anndata as ad
import numpy as np
import scanpy as sc
import torch
from scipy import sparse

EXACT_BELOW = 8192
"""From this many cells scanpy's neighbour search is approximate (pynndescent)."""


def pca_embedding(log_norm, n_pcs: int = 30, random_state: int = 0) -> np.ndarray:
    """PCA of library-normalised, ``log1p``-transformed counts (``_data.normalise_log``)."""
    log_norm = log_norm.astype(np.float32, copy=False)
    n_comps = min(n_pcs, log_norm.shape[0] - 1, log_norm.shape[1] - 1)
    return sc.pp.pca(log_norm, n_comps=n_comps, random_state=random_state)


def leiden(
    embedding: np.ndarray, *, resolution: float = 1.0, n_neighbors: int = 15, random_state: int = 0
) -> np.ndarray:
    """Leiden clusters (scanpy, igraph flavour) of a kNN graph on ``embedding``, as strings.

    Leaves torch's thread count as it was (building the graph can change it).
    """
    graph = ad.AnnData(obsm={"X_pca": embedding}, shape=(embedding.shape[0], 0))
    threads = torch.get_num_threads()
    transformer = None
    if embedding.shape[0] >= EXACT_BELOW:
        transformer = _MatrixTransformer(n_neighbors, embedding.shape[0], random_state)
    try:
        sc.pp.neighbors(
            graph,
            n_neighbors=n_neighbors,
            use_rep="X_pca",
            random_state=random_state,
            transformer=transformer,
        )
    finally:
        torch.set_num_threads(threads)
    sc.tl.leiden(
        graph,
        resolution=resolution,
        random_state=random_state,
        flavor="igraph",
        n_iterations=2,
        directed=False,
    )
    return graph.obs["leiden"].to_numpy()


class _MatrixTransformer:
    """scanpy's default approximate neighbour search, returning the ``csr_matrix`` it reads.

    With scipy ≥ 1.15 pynndescent returns a ``csr_array``, which scanpy 1.11
    cannot read (``getnnz``): clustering 8 192 cells or more failed.
    """

    def __init__(self, n_neighbors: int, n_cells: int, random_state: int):
        from pynndescent import PyNNDescentTransformer

        self.search = PyNNDescentTransformer(  # the settings scanpy chooses
            n_neighbors=n_neighbors,
            random_state=random_state,
            n_jobs=sc.settings.n_jobs,
            n_trees=min(64, 5 + round(n_cells**0.5 / 20.0)),
            n_iters=max(5, round(np.log2(n_cells))),
        )

    def get_params(self, deep: bool = True) -> dict:
        return self.search.get_params(deep)

    def fit(self, x, y=None) -> "_MatrixTransformer":
        self.search.fit(x)
        return self

    def transform(self, x) -> sparse.csr_matrix:
        return sparse.csr_matrix(self.search.transform(x))

    def fit_transform(self, x, y=None) -> sparse.csr_matrix:
        return sparse.csr_matrix(self.search.fit_transform(x))
