from typing import Literal

import anndata as ad
import numpy as np
from sklearn import metrics
from sklearn.cluster import KMeans

from .._anndata import obs_column
from .._cluster import leiden, pca_embedding
from .._data import normalise_log
from ._lisi import lisi


def score_structure(
    adata: ad.AnnData,
    *,
    labels_key: str,
    layer: str | None = None,
    batch_key: str | None = None,
    cluster_method: Literal["leiden", "kmeans"] = "leiden",
    resolution: float = 1.0,
    n_pcs: int = 30,
    n_neighbors: int = 15,
    random_state: int = 0,
) -> dict[str, float]:
    """Score how well (imputed) counts keep cell types apart and mix batches.

    The counts are library-size normalised (to 1e4), ``log1p``-transformed and
    reduced to ``n_pcs`` principal components. On that embedding:

    - ``ari``, ``nmi``: agreement of clusters (Leiden on a kNN graph at
      ``resolution``, or k-means with as many clusters as labels) with the
      labels;
    - ``silhouette_labels``: mean silhouette width of the labels, in [-1, 1];
    - with ``batch_key``: ``ilisi``, the median batch LISI (perplexity 30)
      scaled to [0, 1] by ``(median - 1) / (n_batches - 1)`` (1 = perfectly
      mixed), and ``batch_asw``, the batch silhouette score of scib
      (``1 - |s|`` per cell, averaged within each label, then over labels;
      1 = perfectly mixed).

    Parameters
    ----------
    adata
        Cells × genes.
    labels_key
        ``obs`` column with the known cell types.
    layer
        Counts to score (``X`` when ``None``), e.g. an imputed layer.
    batch_key
        ``obs`` column with batches, for the mixing scores.
    cluster_method
        ``"leiden"`` (scanpy, igraph flavour) or ``"kmeans"``.
    resolution
        Leiden resolution.
    n_pcs, n_neighbors
        Size of the embedding and of the kNN graph.
    random_state
        Seed of PCA, the graph and clustering.

    Returns
    -------
    Metric name → value.
    """
    labels = obs_column(adata, labels_key)
    embedding = _embedding(adata, layer, n_pcs, random_state)
    clusters = _cluster(embedding, labels, cluster_method, resolution, n_neighbors, random_state)
    scores = {
        "ari": float(metrics.adjusted_rand_score(labels, clusters)),
        "nmi": float(metrics.normalized_mutual_info_score(labels, clusters)),
        "silhouette_labels": float(metrics.silhouette_score(embedding, labels)),
    }
    if batch_key is not None:
        batches = obs_column(adata, batch_key)
        n_batches = len(np.unique(batches))
        if n_batches > 1:
            scores["ilisi"] = float((np.median(lisi(embedding, batches)) - 1) / (n_batches - 1))
            scores["batch_asw"] = batch_asw(embedding, batches, labels)
    return scores


def batch_asw(embedding: np.ndarray, batches: np.ndarray, labels: np.ndarray) -> float:
    """scib's batch ASW: mean over labels of the mean of ``1 - |silhouette(batch)|``.

    Labels seen in one batch only, or with no two cells in the same batch, are
    skipped (silhouettes are undefined there), as in scib.
    """
    per_label = []
    for label in np.unique(labels):
        in_label = labels == label
        n_batches = len(np.unique(batches[in_label]))
        if n_batches < 2 or n_batches == in_label.sum():
            continue
        widths = metrics.silhouette_samples(embedding[in_label], batches[in_label])
        per_label.append(np.mean(1 - np.abs(widths)))
    return float(np.mean(per_label)) if per_label else float("nan")


def _embedding(adata: ad.AnnData, layer: str | None, n_pcs: int, random_state: int) -> np.ndarray:
    counts = adata.X if layer is None else adata.layers[layer]
    return pca_embedding(normalise_log(counts), n_pcs, random_state)


def _cluster(
    embedding: np.ndarray,
    labels: np.ndarray,
    method: str,
    resolution: float,
    n_neighbors: int,
    random_state: int,
) -> np.ndarray:
    if method == "kmeans":
        n_clusters = len(np.unique(labels))
        return KMeans(n_clusters, n_init=10, random_state=random_state).fit_predict(embedding)
    if method != "leiden":
        msg = f"cluster_method must be 'leiden' or 'kmeans', got {method!r}"
        raise ValueError(msg)
    return leiden(
        embedding, resolution=resolution, n_neighbors=n_neighbors, random_state=random_state
    )
