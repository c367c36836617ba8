import logging
from collections.abc import Mapping, Sequence

import anndata as ad
import numpy as np
import pandas as pd

from .._anndata import get_counts, obs_column
from .._keys import MASK_KEY
from .._measure import measure
from ..models import BACKENDS, DEFAULT_METHOD
from ._baselines import BASELINES, Imputer
from ._gan_method import gan_method
from ._mask import mask_nonzeros
from ._score_imputation import score_imputation
from ._score_structure import score_structure

logger = logging.getLogger(__name__)

COLUMNS = ["dataset", "method", "metric", "value", "seconds", "peak_memory_mb"]
DEFAULT_BENCHMARK = ("none", "celltype_mean", "knn_smoothing", "alra", DEFAULT_METHOD)
"""What :func:`benchmark` runs by default (``celltype_mean`` only with ``labels_key``)."""


def benchmark(
    adata: ad.AnnData,
    methods: Sequence[str] | Mapping[str, Imputer] | None = None,
    *,
    dataset: str = "data",
    layer: str | None = None,
    labels_key: str | None = None,
    batch_key: str | None = None,
    mask_fraction: float | None = 0.1,
    random_state: int = 0,
    cluster_method: str = "leiden",
) -> pd.DataFrame:
    """Run imputers on the same data and score each with the same yardstick.

    Unless ``adata`` already carries a mask from :func:`scgan.tl.mask_nonzeros`,
    ``mask_fraction`` of its non-zero counts are hidden first (``None``: no
    masking, e.g. on simulated data scored against the truth). Each method
    imputes the masked counts (in ``X``, or the layer the mask was made on)
    and is timed, with its peak resident memory; then
    :func:`scgan.tl.score_imputation` and, with ``labels_key``,
    :func:`scgan.tl.score_structure` score it. ``adata`` is not changed.

    Parameters
    ----------
    adata
        Cells × genes with raw counts in ``X`` (or ``layers[layer]``).
    methods
        Baseline names (see :func:`scgan.tl.impute_baseline`) and scgan method
        names (``scgan.models.BACKENDS``, run with default settings), or a mapping of name →
        imputer with the common call shape
        ``fn(counts, *, labels, batches, random_state) -> counts`` (see
        :func:`scgan.tl.gan_method` for scgan methods with other settings).
    dataset
        Name written in the ``dataset`` column.
    layer
        Read counts from this layer instead of ``X``. With a mask already in
        ``adata``, the layer it was made on is used.
    labels_key, batch_key
        ``obs`` columns with cell types and batches.
    mask_fraction
        Share of non-zeros to hide, or ``None``.
    random_state
        Seed of the mask, the imputers and the clustering.
    cluster_method
        Passed to :func:`scgan.tl.score_structure`.

    Returns
    -------
    A tidy DataFrame with columns dataset, method, metric, value, seconds and
    peak_memory_mb (one row per method and metric).
    """
    if methods is None:
        methods = [m for m in DEFAULT_BENCHMARK if m != "celltype_mean" or labels_key]
    imputers = _resolve(methods)
    work = adata.copy()
    if MASK_KEY in work.uns:
        layer = _masked_layer(work, layer)
    elif mask_fraction is not None:
        work = mask_nonzeros(work, fraction=mask_fraction, random_state=random_state, layer=layer)
    counts = get_counts(work, layer)
    labels = None if labels_key is None else obs_column(work, labels_key)
    batches = None if batch_key is None else obs_column(work, batch_key)
    rows = []
    for name, imputer in imputers.items():
        logger.info("benchmark %s: running %s", dataset, name)
        with measure() as cost:
            imputed = imputer(counts, labels=labels, batches=batches, random_state=random_state)
        key = f"benchmark_{name}"  # beside the user's layers, never over them
        work.layers[key] = np.asarray(imputed, dtype=np.float32)
        scores = score_imputation(work, layer=key)
        if labels_key is not None:
            scores |= score_structure(
                work,
                layer=key,
                labels_key=labels_key,
                batch_key=batch_key,
                cluster_method=cluster_method,
                random_state=random_state,
            )
        rows += [
            (dataset, name, metric, value, cost.seconds, cost.peak_memory_mb)
            for metric, value in scores.items()
        ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _masked_layer(adata: ad.AnnData, layer: str | None) -> str | None:
    """The layer (``None`` for ``X``) that the mask in ``adata`` hid counts in."""
    masked = adata.uns[MASK_KEY]["layer"]
    masked = None if masked == "X" else masked
    if layer is not None and layer != masked:
        msg = f"the mask in adata was made on {masked or 'X'!r}, not layer={layer!r}"
        raise ValueError(msg)
    return masked


def _resolve(methods: Sequence[str] | Mapping[str, Imputer]) -> dict[str, Imputer]:
    if isinstance(methods, Mapping):
        return dict(methods)
    known = sorted(BASELINES) + sorted(BACKENDS)
    unknown = [m for m in methods if m not in known]
    if unknown:
        msg = f"unknown methods {unknown}; choose from {known} or pass a mapping"
        raise ValueError(msg)
    return {m: BASELINES[m] if m in BASELINES else gan_method(m) for m in methods}
