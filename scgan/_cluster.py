"""PCA embeddings and Leiden clusters, shared by the scores and by label derivation."""

import anndata as ad
import numpy as np
import scanpy as sc
import torch


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
    try:
        sc.pp.neighbors(graph, n_neighbors=n_neighbors, use_rep="X_pca", random_state=random_state)
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
