import os

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse


def read_scigans(
    matrix_path: str | os.PathLike, label_path: str | os.PathLike | None = None
) -> ad.AnnData:
    r"""Read scIGANs' input: a tab-separated genes × cells matrix and an optional label file.

    The matrix has a header line of cell names (after a first field naming the
    gene column) and one line per gene, its name first. The label file, as
    scIGANs takes it, holds one label per line, cells in the matrix's order,
    no header.

    Returns
    -------
    AnnData (cells × genes) with the counts (CSR, float32) in ``X`` and, with
    ``label_path``, the labels in ``obs['label']`` (categorical).

    Examples
    --------
    Impute, then write the result back in scIGANs' format (genes × cells):

    >>> adata = scgan.datasets.read_scigans("ercc.txt", "ercc.label.txt")  # doctest: +SKIP
    >>> scgan.pp.impute_dropouts(adata, method="scigans", labels_key="label")  # doctest: +SKIP
    >>> adata.to_df("scgan_imputed").T.to_csv("ercc.imputed.txt", sep="\t")  # doctest: +SKIP
    """
    table = pd.read_csv(matrix_path, sep="\t", index_col=0)
    adata = ad.AnnData(
        sparse.csr_matrix(table.to_numpy(dtype=np.float32).T),
        obs=pd.DataFrame(index=table.columns.astype(str)),
        var=pd.DataFrame(index=table.index.astype(str)),
    )
    if label_path is not None:
        labels = pd.read_csv(label_path, sep="\t", header=None).iloc[:, 0].astype(str)
        if len(labels) != adata.n_obs:
            msg = (
                f"{label_path} has {len(labels)} labels but {matrix_path} has "
                f"{adata.n_obs} cells; give one label per cell, in the matrix's order"
            )
            raise ValueError(msg)
        adata.obs["label"] = pd.Categorical(labels.to_numpy())
    return adata
