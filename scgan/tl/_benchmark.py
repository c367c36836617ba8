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
from ._denoising import score_denoising, split_molecules
from ._false_signal import permute_genes, score_false_signal
from ._gan_method import gan_method
from ._mask import mask_nonzeros
from ._score_imputation import score_imputation
from ._score_structure import score_structure

logger = logging.getLogger(__name__)

COLUMNS = ["dataset", "protocol", "method", "metric", "value", "seconds", "peak_memory_mb"]
DEFAULT_BENCHMARK = ("none", "celltype_mean", "knn_hurdle", "knn_smoothing", "alra", DEFAULT_METHOD)
"""What :func:`benchmark` runs by default (``celltype_mean`` only with ``labels_key``)."""
PROTOCOLS = ("masked", "denoising", "false_signal")
"""The tests :func:`benchmark` can run, each on its own copy of the data."""
DENOISED = " denoised"
"""Suffix of a method name that runs an scgan backend with ``only_zeros=False``."""


def benchmark(
    adata: ad.AnnData,
    methods: Sequence[str] | Mapping[str, Imputer] | None = None,
    *,
    dataset: str = "data",
    layer: str | None = None,
    labels_key: str | None = None,
    batch_key: str | None = None,
    protocols: Sequence[str] = PROTOCOLS,
    mask_fraction: float | None = 0.1,
    random_state: int = 0,
    cluster_method: str = "leiden",
    progress: bool | None = None,
) -> pd.DataFrame:
    """Run imputers on the same data and score each with the same yardsticks.

    Each protocol prepares its own copy of the data, runs every method on it
    (timed, with its peak resident memory) and scores the output:

    - ``"masked"``: unless ``adata`` already carries a mask from
      :func:`scgan.tl.mask_nonzeros`, ``mask_fraction`` of the non-zero counts
      are hidden (``None``: none, e.g. on simulated data scored against the
      truth); scored by :func:`scgan.tl.score_imputation` and, with
      ``labels_key``, :func:`scgan.tl.score_structure`;
    - ``"denoising"``: Open Problems' denoising task, the counts split by
      :func:`scgan.tl.split_molecules` and scored by
      :func:`scgan.tl.score_denoising`;
    - ``"false_signal"``: each gene shuffled across cells by
      :func:`scgan.tl.permute_genes` and scored by
      :func:`scgan.tl.score_false_signal`.

    ``adata`` is not changed.

    Parameters
    ----------
    adata
        Cells × genes with raw counts in ``X`` (or ``layers[layer]``).
    methods
        Baseline names (see :func:`scgan.tl.impute_baseline`), scgan method
        names (``scgan.models.BACKENDS``, run with default settings; add
        ``" denoised"``, e.g. ``"began denoised"``, for ``only_zeros=False``),
        or a mapping of name → imputer with the common call shape
        ``fn(counts, *, labels, batches, random_state) -> counts`` (see
        :func:`scgan.tl.gan_method` for scgan methods with other settings).
    dataset
        Name written in the ``dataset`` column.
    layer
        Read counts from this layer instead of ``X``. With a mask already in
        ``adata``, the layer it was made on is used.
    labels_key, batch_key
        ``obs`` columns with cell types and batches, passed to every method
        (on shuffled genes too: the cells keep their annotation); of the
        baselines, ``"scvi"`` is conditioned on the batches.
    protocols
        Which of :data:`PROTOCOLS` to run, in this order.
    mask_fraction
        Share of non-zeros to hide under ``"masked"``, or ``None``.
    random_state
        Seed of the mask, the split, the shuffle, the imputers and the clustering.
    cluster_method
        Passed to :func:`scgan.tl.score_structure`.
    progress
        Progress bars of the scgan methods named in ``methods``: ``None`` on a
        terminal and in a Jupyter notebook (as :func:`scgan.pp.impute_dropouts`).

    Returns
    -------
    A tidy DataFrame with columns dataset, protocol, method, metric, value,
    seconds and peak_memory_mb (one row per protocol, method and metric).
    """
    if methods is None:
        methods = [m for m in DEFAULT_BENCHMARK if m != "celltype_mean" or labels_key]
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown or not protocols:
        msg = f"protocols must be some of {list(PROTOCOLS)}, got {list(protocols)}"
        raise ValueError(msg)
    imputers = _resolve(methods, progress)
    rows = []
    for protocol in protocols:
        work, layer_used = _prepare(protocol, adata, layer, mask_fraction, random_state)
        counts = get_counts(work, layer_used)
        labels = None if labels_key is None else obs_column(work, labels_key)
        batches = None if batch_key is None else obs_column(work, batch_key)
        for name, imputer in imputers.items():
            logger.info("benchmark %s, %s: running %s", dataset, protocol, name)
            with measure() as cost:
                imputed = imputer(counts, labels=labels, batches=batches, random_state=random_state)
            key = f"benchmark_{name}"  # beside the user's layers, never over them
            work.layers[key] = np.asarray(imputed, dtype=np.float32)
            scores = _score(
                protocol, work, key, labels_key, batch_key, cluster_method, random_state
            )
            del work.layers[key]
            rows += [
                (dataset, protocol, name, metric, value, cost.seconds, cost.peak_memory_mb)
                for metric, value in scores.items()
            ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _prepare(
    protocol: str,
    adata: ad.AnnData,
    layer: str | None,
    mask_fraction: float | None,
    random_state: int,
) -> tuple[ad.AnnData, str | None]:
    """The protocol's copy of the data, and the layer (``None``: ``X``) its methods read."""
    if protocol == "denoising":
        return split_molecules(adata, random_state=random_state, layer=layer), None
    if protocol == "false_signal":
        return permute_genes(adata, random_state=random_state, layer=layer), None
    if MASK_KEY in adata.uns:
        return adata.copy(), _masked_layer(adata, layer)
    if mask_fraction is None:
        return adata.copy(), layer
    return mask_nonzeros(
        adata, fraction=mask_fraction, random_state=random_state, layer=layer
    ), layer


def _score(
    protocol: str,
    work: ad.AnnData,
    key: str,
    labels_key: str | None,
    batch_key: str | None,
    cluster_method: str,
    random_state: int,
) -> dict[str, float]:
    if protocol == "denoising":
        return score_denoising(work, layer=key)
    if protocol == "false_signal":
        return score_false_signal(work, layer=key)
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
    return scores


def _masked_layer(adata: ad.AnnData, layer: str | None) -> str | None:
    """The layer (``None`` for ``X``) that the mask in ``adata`` hid counts in."""
    masked = adata.uns[MASK_KEY]["layer"]
    masked = None if masked == "X" else masked
    if layer is not None and layer != masked:
        msg = f"the mask in adata was made on {masked or 'X'!r}, not layer={layer!r}"
        raise ValueError(msg)
    return masked


def _resolve(
    methods: Sequence[str] | Mapping[str, Imputer], progress: bool | None
) -> dict[str, Imputer]:
    if isinstance(methods, Mapping):
        return dict(methods)
    denoised = [f"{name}{DENOISED}" for name, backend in BACKENDS.items() if backend.denoises]
    known = sorted(BASELINES) + sorted(BACKENDS) + denoised
    unknown = [m for m in methods if m not in known]
    if unknown:
        msg = f"unknown methods {unknown}; choose from {known} or pass a mapping"
        raise ValueError(msg)
    return {m: _named_imputer(m, progress) for m in methods}


def _named_imputer(name: str, progress: bool | None) -> Imputer:
    if name in BASELINES:
        return BASELINES[name]
    if name.endswith(DENOISED):
        return gan_method(name.removesuffix(DENOISED), only_zeros=False, progress=progress)
    return gan_method(name, progress=progress)
