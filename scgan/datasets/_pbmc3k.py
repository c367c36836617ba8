import importlib.util
from pathlib import Path

import anndata as ad
import numpy as np
from scipy import sparse

INSTALL = "pip install --no-deps desc==2.1.1"


def pbmc3k() -> ad.AnnData:
    """10x Genomics' PBMC 3k raw counts, all genes (2 700 cells × 32 738 genes).

    The matrix ships inside the ``desc`` package's wheel (MIT licence); install
    it without its dependencies (``pip install --no-deps desc==2.1.1``, done
    by the project's ``scripts/setup.sh``). Its code is never imported: only
    the data file is read. No cell types come with it.

    Returns
    -------
    AnnData with integer counts (CSR, float32) in ``X``; ``var`` holds
    ``gene_ids`` and the gene symbols are its index.

    Examples
    --------
    >>> import scgan
    >>> adata = scgan.datasets.pbmc3k()
    >>> adata.shape
    (2700, 32738)
    """
    spec = importlib.util.find_spec("desc")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        msg = f"pbmc3k() reads its counts from the desc package: {INSTALL}"
        raise ImportError(msg)
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "pbmc.h5ad"
    if not path.is_file():
        msg = f"{path} not found; reinstall the data with {INSTALL}"
        raise FileNotFoundError(msg)
    stored = ad.read_h5ad(path)
    var = stored.var[["gene_ids"]].copy()
    return ad.AnnData(X=sparse.csr_matrix(stored.X, dtype=np.float32), obs=stored.obs[[]], var=var)
