from collections.abc import Sequence

import anndata as ad
import numpy as np
from scipy import sparse, stats

from .._anndata import get_counts, layer_of
from .._data import as_dense, top_genes


def permute_genes(
    adata: ad.AnnData, *, random_state: int = 0, layer: str | None = None
) -> ad.AnnData:
    """Shuffle each gene's counts across cells, independently of every other gene.

    Each gene keeps its distribution but no gene–gene structure is left, so
    any correlation an imputer puts between genes is false signal (Andrews &
    Hemberg 2018); score it with :func:`scgan.tl.score_false_signal`.
    ``adata`` is left as it is; ``obs`` (cell types, batches) is copied
    unchanged.

    Returns
    -------
    A new AnnData with the shuffled counts (CSR, float32) in ``X``.
    """
    counts = get_counts(adata, layer).tocsc()
    rng = np.random.default_rng(random_state)
    rows = np.empty_like(counts.indices)
    for gene in range(counts.shape[1]):
        start, stop = counts.indptr[gene], counts.indptr[gene + 1]
        rows[start:stop] = rng.choice(counts.shape[0], stop - start, replace=False)
    shuffled = sparse.csc_matrix((counts.data, rows, counts.indptr), counts.shape).tocsr()
    shuffled.sort_indices()
    return ad.AnnData(X=shuffled, obs=adata.obs.copy(), var=adata.var[[]].copy())


def score_false_signal(
    adata: ad.AnnData,
    *,
    layer: str,
    n_genes: int = 200,
    thresholds: Sequence[float] = (0.1, 0.3),
) -> dict[str, float]:
    """Share of gene pairs an imputation made correlated, on data with no correlation left.

    Among the ``n_genes`` genes with the highest mean count in ``X`` (the
    imputer's input, from :func:`scgan.tl.permute_genes`), the share of gene
    pairs whose Spearman correlation across cells in ``layers[layer]`` has
    magnitude above each threshold (``spurious_share_<threshold>``). The
    output is first divided by each cell's total, so that library size, which
    shuffling leaves varying from cell to cell, does not count as a signal.
    Pairs with a constant gene count as uncorrelated.

    Returns
    -------
    Metric name → value.
    """
    output = layer_of(adata, layer, "impute the output of scgan.tl.permute_genes first")
    top = top_genes(adata.X, n_genes)
    totals = np.asarray(output.sum(axis=1), dtype=np.float64).ravel()
    shares = as_dense(output[:, top]) / np.where(totals > 0, totals, 1.0)[:, None]
    correlation = np.nan_to_num(spearman_matrix(shares))
    pairs = np.abs(correlation[np.triu_indices(len(top), k=1)])
    return {f"spurious_share_{t:g}": float(np.mean(pairs > t)) for t in thresholds}


def spearman_matrix(values: np.ndarray) -> np.ndarray:
    """Spearman correlation between columns (ties get their mean rank; constant columns NaN)."""
    ranks = stats.rankdata(values, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.corrcoef(ranks, rowvar=False)
