"""``scgan.pp.impute_dropouts``: the AnnData side of every imputation backend."""

import logging
import warnings

import anndata as ad
import numpy as np
from scipy import sparse

from .._cluster import leiden, pca_embedding
from .._data import get_counts, obs_column
from ..models import make_backend

logger = logging.getLogger(__name__)

MIN_CELLS = 10


def impute_dropouts(
    adata: ad.AnnData,
    *,
    method: str = "began",
    layer: str | None = None,
    labels_key: str | None = None,
    batch_key: str | None = None,
    target_batch: str | None = None,
    key_added: str = "scgan_imputed",
    only_zeros: bool = True,
    n_repeats: int | None = None,
    random_state: int = 0,
    device: str = "auto",
    config=None,
    copy: bool = False,
    **settings,
) -> ad.AnnData | None:
    """Impute dropouts in raw counts with a conditional GAN.

    The default ``method="began"`` is the improved scIGANs of SPEC §2: genes are
    cut into ``n_repeats`` random partitions of ``side²`` genes; for each part a
    generator that sees the real cell (and its cell type, batch and
    neighbourhood) plays a BEGAN game against an autoencoder discriminator that
    sees the generator's output after a logit-percentile artificial dropout, and
    is tied to the cell by a reconstruction term on observed counts. The epoch
    is chosen on held-out observed counts; the repeats' imputations are averaged.

    Parameters
    ----------
    adata
        Cells × genes with raw counts (dense or any scipy sparse format).
    method
        Backend name (see ``scgan.models.BACKENDS``): ``"began"`` (this
        method), ``"scigans"`` (scIGANs as published, for comparison; see
        :class:`scgan.models.ScIGANsImputer`), ``"gain"`` or ``"misgan"`` (the
        tabular imputers :class:`scgan.models.GAINImputer` and
        :class:`scgan.models.MisGANImputer` on log-normalised values with zeros
        as missing). Only ``"began"`` uses batches; GAIN and MisGAN use no labels.
    layer
        Read counts from ``layers[layer]`` instead of ``X``.
    labels_key
        ``obs`` column with cell types. Without it, labels are derived by
        Leiden clustering (resolution 1) of the log-normalised counts' PCA,
        which is logged and recorded in ``uns[key_added]['labels']``.
    batch_key
        ``obs`` column with batches (sequencing technique or sample).
    target_batch
        Impute every cell as if it had been measured in this batch (needs
        ``batch_key``): batch-effect-aware imputation. Combine with
        ``only_zeros=False`` to move the observed counts too; with
        ``only_zeros=True`` they keep their own batch's effect.
    key_added
        Name of the output layer and ``uns`` entry.
    only_zeros
        Keep observed counts and fill only the zeros; ``False`` returns the
        generator's output everywhere (denoising).
    n_repeats
        Number of random gene partitions averaged (the backend's default if
        ``None``).
    random_state
        Seed; on the CPU the same seed gives the same result.
    device
        ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
    config
        A backend config object (e.g. :class:`scgan.models.BEGANConfig`);
        ``settings`` override its fields.
    copy
        Return a new AnnData instead of writing into ``adata``.
    **settings
        Any field of the backend's config, e.g. ``side``, ``epochs``,
        ``batch_size``, ``lr_generator``, ``gamma``, ``lambda_k``, ``alpha``,
        ``dropout_q``, ``dropout_s`` (see :class:`scgan.models.BEGANConfig`;
        for the other backends :class:`~scgan.models.ScIGANsConfig`,
        :class:`~scgan.models.GAINConfig`, :class:`~scgan.models.MisGANConfig`).

    Returns
    -------
    ``None``, or the new AnnData when ``copy=True``. Writes
    ``layers[key_added]`` (imputed counts, each cell on its own count scale),
    ``layers[key_added + '_std']`` (spread over repeats; 0 where observed
    counts are kept) and ``uns[key_added]`` (the settings used, the label and
    batch sources and the training history). ``X`` and other layers are left
    as they are; if anything fails, ``adata`` is unchanged.

    Examples
    --------
    >>> import scgan
    >>> adata = scgan.datasets.simulate(200, 100, random_state=0)
    >>> scgan.pp.impute_dropouts(adata, labels_key="cell_type", side=6, epochs=2)
    >>> adata.layers["scgan_imputed"].shape
    (200, 100)
    """
    counts = get_counts(adata, layer)
    _check_shape(counts)
    if n_repeats is not None:
        settings["n_repeats"] = n_repeats
    imputer = make_backend(
        method, config=config, device=device, random_state=random_state, **settings
    )
    batch_key = _batch_key_for(imputer, method, batch_key, target_batch)
    if not only_zeros and not getattr(imputer, "denoises", True):
        msg = f"method {method!r} only fills zeros; denoising (only_zeros=False) needs 'began'"
        raise ValueError(msg)
    if not (getattr(imputer, "uses_labels", True) and getattr(imputer.config, "conditional", True)):
        if target_batch is not None:
            msg = "target_batch needs a conditional model; do not pass conditional=False"
            raise ValueError(msg)
        conditions, provenance = {"codes": None, "n_categories": None}, {"labels": None}
    else:
        conditions, provenance = _conditions(adata, counts, labels_key, batch_key, random_state)
    target_codes = _target_codes(conditions["codes"], provenance, target_batch)
    logger.info("imputing %d cells × %d genes with %r", *counts.shape, method)
    imputer.fit(counts, conditions["codes"], conditions["n_categories"])
    mean, std = imputer.impute(counts, target_codes, only_zeros=only_zeros)
    if only_zeros:
        observed = counts.toarray()
        mean = np.where(observed > 0, observed, mean)
        std = np.where(observed > 0, 0.0, std)
    record = {
        "method": method,
        "layer": "X" if layer is None else layer,
        "only_zeros": only_zeros,
        "target_batch": target_batch,
        "params": imputer.params(),
        **provenance,
        "history": imputer.history_,
    }

    adata = adata.copy() if copy else adata
    adata.layers[key_added] = mean.astype(np.float32)
    adata.layers[key_added + "_std"] = std.astype(np.float32)
    adata.uns[key_added] = record
    logger.info(
        "added .layers[%r], .layers[%r], .uns[%r]", key_added, key_added + "_std", key_added
    )
    return adata if copy else None


def _batch_key_for(imputer, method: str, batch_key: str | None, target_batch: str | None):
    """``batch_key``, or ``None`` (with a warning) for a backend that does not use batches."""
    if getattr(imputer, "uses_batches", True):
        return batch_key
    if target_batch is not None:
        msg = f"method {method!r} does not use batches, so target_batch cannot apply; use 'began'"
        raise ValueError(msg)
    if batch_key is not None:
        warnings.warn(
            f"method {method!r} does not use batches; batch_key={batch_key!r} is ignored",
            UserWarning,
            stacklevel=3,
        )
    return None


def _check_shape(counts: sparse.csr_matrix) -> None:
    """Refuse too few cells; warn that all-zero cells and genes stay zero."""
    n_cells, _ = counts.shape
    if n_cells < MIN_CELLS:
        msg = f"only {n_cells} cells: imputation needs at least {MIN_CELLS} cells"
        raise ValueError(msg)
    for axis, what, fix in ((1, "cells", "filter_cells"), (0, "genes", "filter_genes")):
        empty = int((counts.getnnz(axis=axis) == 0).sum())
        if empty:
            warnings.warn(
                f"{empty} {what} have no counts and stay zero; to drop them use "
                f"sc.pp.{fix}(adata, min_counts=1)",
                UserWarning,
                stacklevel=3,
            )


def _categories(adata: ad.AnnData, key: str, role: str) -> tuple[np.ndarray, list[str]]:
    values = obs_column(adata, key)
    categories, codes = np.unique(values, return_inverse=True)
    if len(categories) < 2:
        msg = f"obs[{key!r}] has a single category; a {role} needs at least two (or pass None)"
        raise ValueError(msg)
    return codes, [str(c) for c in categories]


def _conditions(adata, counts, labels_key, batch_key, random_state):
    """Integer condition codes (labels, then batch) and a record of where they came from."""
    if labels_key is not None:
        label_codes, label_names = _categories(adata, labels_key, "labels_key")
        labels = {"key": labels_key, "derived": False, "categories": label_names}
    else:
        clusters = leiden(
            pca_embedding(counts, random_state=random_state), random_state=random_state
        )
        label_names, label_codes = np.unique(clusters, return_inverse=True)
        label_names = [str(c) for c in label_names]
        logger.info("no labels_key: derived %d labels by Leiden clustering", len(label_names))
        labels = {"key": None, "derived": True, "categories": label_names, "codes": label_codes}
    columns, n_categories = [label_codes], [len(label_names)]
    provenance = {"labels": labels}
    if batch_key is not None:
        batch_codes, batch_names = _categories(adata, batch_key, "batch_key")
        columns.append(batch_codes)
        n_categories.append(len(batch_names))
        provenance["batch"] = {"key": batch_key, "categories": batch_names}
    codes = np.stack(columns, axis=1).astype(np.int64)
    return {"codes": codes, "n_categories": n_categories}, provenance


def _target_codes(codes: np.ndarray, provenance: dict, target_batch: str | None) -> np.ndarray:
    """Condition codes for imputation: every cell's batch set to ``target_batch`` if given."""
    if target_batch is None:
        return codes
    if "batch" not in provenance:
        msg = "target_batch needs batch_key, the obs column that names the batches"
        raise ValueError(msg)
    names = provenance["batch"]["categories"]
    if str(target_batch) not in names:
        msg = f"target_batch {target_batch!r} is not a batch in the data; batches: {names}"
        raise ValueError(msg)
    target = codes.copy()
    target[:, 1] = names.index(str(target_batch))
    return target
