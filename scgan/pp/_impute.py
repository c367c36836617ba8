"""``scgan.pp.impute_dropouts``: fit an imputer on an AnnData and impute the same cells in one call."""

from pathlib import Path

import anndata as ad

from .._docs import doc_params
from .._imputer import Imputer
from .._keys import IMPUTED
from ..models import DEFAULT_METHOD
from ..models._registry import methods_doc


@doc_params(methods=methods_doc())
def impute_dropouts(
    adata: ad.AnnData,
    *,
    method: str = DEFAULT_METHOD,
    layer: str | None = None,
    labels_key: str | None = None,
    batch_key: str | None = None,
    target_batch: str | None = None,
    only_zeros: bool = True,
    n_draws: int = 0,
    key_added: str = IMPUTED,
    copy: bool = False,
    write_to: str | Path | None = None,
    n_repeats: int | None = None,
    random_state: int = 0,
    device: str = "auto",
    config=None,
    progress: bool | None = None,
    n_jobs: int | None = None,
    devices: int = 1,
    **settings,
) -> ad.AnnData | None:
    """Impute dropouts in raw counts with a conditional generative model.

    The default ``method="began"`` (the documentation's method page has the
    equations): genes are cut into ``n_repeats`` random partitions of
    ``side²`` genes; for each part a generator that sees the real cell (its
    own genes, the whole cell's principal components and library size, its
    cell type and batch) predicts each gene's expected count, trained to
    predict molecules it was not shown (molecular cross-validation, Poisson
    likelihood). Zeros are filled from the rest of the cell; the denoised
    output also weighs each gene's own count. A BEGAN game against an
    autoencoder discriminator, which judges the generator's cells after a
    logit-percentile artificial dropout, is optional (``adversary``; off by
    default: it raised the denoising score but invented gene–gene structure;
    see the ablation in the documentation's benchmarks). The
    epoch is chosen, and the model's gain over the input reported, on
    molecules held out of the training counts; the repeats are averaged.

    Parameters
    ----------
    {doc_adata}
    {doc_data}
    {doc_output}
    n_repeats
        Number of random gene partitions averaged (``"began"`` only; its
        default, ``"auto"``, if ``None``: 3 up to 4 096 expressed genes, 1
        beyond).
    {doc_training}
    {doc_settings}

    Returns
    -------
    {doc_returns}

    See Also
    --------
    scgan.Imputer : the same, trained once and kept: impute new cells, save, load.

    Examples
    --------
    >>> import scgan
    >>> adata = scgan.datasets.simulate(200, 100, random_state=0)
    >>> scgan.pp.impute_dropouts(adata, labels_key="cell_type", side=6, epochs=2)
    >>> adata.layers["scgan_imputed"].shape
    (200, 100)
    """
    if n_repeats is not None:
        settings["n_repeats"] = n_repeats
    imputer = Imputer(
        method,
        layer=layer,
        labels_key=labels_key,
        batch_key=batch_key,
        random_state=random_state,
        device=device,
        config=config,
        progress=progress,
        n_jobs=n_jobs,
        devices=devices,
        **settings,
    )
    return imputer.fit_impute(
        adata,
        target_batch=target_batch,
        only_zeros=only_zeros,
        n_draws=n_draws,
        key_added=key_added,
        copy=copy,
        write_to=write_to,
    )
