import logging

import anndata as ad
import numpy as np

from .._anndata import get_counts, obs_column
from ._baselines import BASELINES

logger = logging.getLogger(__name__)


def impute_baseline(
    adata: ad.AnnData,
    *,
    method: str,
    layer: str | None = None,
    labels_key: str | None = None,
    batch_key: str | None = None,
    target_batch: str | None = None,
    key_added: str | None = None,
    random_state: int = 0,
    copy: bool = False,
) -> ad.AnnData | None:
    """Impute with a reference method, to compare against scgan's imputers.

    Parameters
    ----------
    adata
        Cells × genes with raw counts.
    method
        One of ``"none"``, ``"celltype_mean"`` (needs ``labels_key``),
        ``"knn_hurdle"`` (the rule with no learning that any learned imputer
        must beat), ``"knn_smoothing"``, ``"alra"``, ``"magic"`` (needs ``magic-impute``)
        and ``"scvi"`` (needs ``scvi-tools``).
    layer
        Read counts from ``layers[layer]`` instead of ``X``.
    labels_key
        ``obs`` column with cell types.
    batch_key
        ``obs`` column with batches; only ``"scvi"`` uses them.
    target_batch
        With ``"scvi"`` and ``batch_key``: every cell as if measured in this
        batch (scVI's ``transform_batch``).
    key_added
        Layer to write; ``f"imputed_{method}"`` by default.
    random_state
        Seed.
    copy
        Return a new AnnData instead of writing into ``adata``.

    Returns
    -------
    ``None``, or the new AnnData when ``copy=True``; the imputed counts
    (dense, each cell on its own library size) are in ``layers[key_added]``.
    """
    if method not in BASELINES:
        msg = f"unknown baseline {method!r}; choose one of {sorted(BASELINES)}"
        raise ValueError(msg)
    if target_batch is not None and (method != "scvi" or batch_key is None):
        msg = f"target_batch needs method='scvi' and batch_key, not {method=!r}, {batch_key=!r}"
        raise ValueError(msg)
    counts = get_counts(adata, layer)
    labels = None if labels_key is None else obs_column(adata, labels_key)
    batches = None if batch_key is None else obs_column(adata, batch_key)
    options = {} if target_batch is None else {"target_batch": target_batch}
    imputed = BASELINES[method](
        counts, labels=labels, batches=batches, random_state=random_state, **options
    )
    key_added = key_added or f"imputed_{method}"
    adata = adata.copy() if copy else adata
    adata.layers[key_added] = imputed.astype(np.float32)
    logger.info("added .layers[%r] (baseline %r)", key_added, method)
    return adata if copy else None
