import anndata as ad
import numpy as np

from .._keys import IMPUTED
from ..models import BACKENDS
from ..pp import impute_dropouts
from ._baselines import Imputer


def gan_method(method: str = "began", *, target_batch: str | None = None, **settings) -> Imputer:
    """One of scgan's imputers in the benchmark's call shape, with fixed settings.

    Parameters
    ----------
    method
        Backend of :func:`scgan.pp.impute_dropouts`.
    target_batch
        Impute as if every cell came from this batch (used when the benchmark
        passes batches). Backends that do not use batches (``scigans``) are
        not given them.
    **settings
        Keyword arguments of :func:`scgan.pp.impute_dropouts` (e.g. ``adversary=0.1``).

    Returns
    -------
    ``fn(counts, *, labels, batches, random_state) -> counts``, e.g. for
    ``scgan.tl.benchmark(adata, {"began game": gan_method(adversary=0.1)})``.
    """

    uses_batches = BACKENDS[method].uses_batches

    def impute(counts, *, labels=None, batches=None, random_state=0) -> np.ndarray:
        batches = batches if uses_batches else None
        adata = ad.AnnData(counts)
        if labels is not None:
            adata.obs["labels"] = labels
        if batches is not None:
            adata.obs["batch"] = batches
        impute_dropouts(
            adata,
            method=method,
            labels_key=None if labels is None else "labels",
            batch_key=None if batches is None else "batch",
            target_batch=target_batch if batches is not None else None,
            random_state=random_state,
            **settings,
        )
        return adata.layers[IMPUTED]

    return impute
