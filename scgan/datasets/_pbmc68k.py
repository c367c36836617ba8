import anndata as ad
import numpy as np
import scanpy as sc
from scipy import sparse


def pbmc68k() -> ad.AnnData:
    """Raw counts of scanpy's bundled ``pbmc68k_reduced`` (700 cells × 765 genes).

    ``pbmc68k_reduced().raw.X`` holds ``log1p(counts / n_counts * 1e4)``; the
    integer counts are recovered as ``rint(expm1(raw.X) * n_counts / 1e4)``.
    Works offline: the data ship with scanpy.

    Returns
    -------
    AnnData with integer counts (CSR, float32) in ``X``, the cell types in
    ``obs['bulk_labels']`` (10 categories) and the original per-cell library
    size over all genes in ``obs['n_counts']``.

    Examples
    --------
    >>> import scgan
    >>> adata = scgan.datasets.pbmc68k()
    >>> adata.shape
    (700, 765)
    """
    reduced = sc.datasets.pbmc68k_reduced()
    library = reduced.obs["n_counts"].to_numpy(dtype=np.float64)[:, None]
    log_norm = sparse.csr_matrix(reduced.raw.X, dtype=np.float64)
    counts = log_norm.copy()
    counts.data = np.rint(
        np.expm1(counts.data) * np.repeat(library[:, 0], np.diff(counts.indptr)) / 1e4
    )
    counts.eliminate_zeros()
    obs = reduced.obs[["bulk_labels", "n_counts", "phase"]].copy()
    adata = ad.AnnData(X=counts.astype(np.float32), obs=obs, var=reduced.raw.var[[]].copy())
    adata.uns["bulk_labels_colors"] = list(reduced.uns["bulk_labels_colors"])
    return adata
