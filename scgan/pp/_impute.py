"""``scgan.pp.impute_dropouts``: fit an imputer on an AnnData and impute the same cells in one call."""

from pathlib import Path

import anndata as ad

from .._imputer import Imputer
from .._keys import IMPUTED
from ..models import DEFAULT_METHOD
from ..models._registry import methods_doc


def _with_methods(function):
    """Fill the ``{methods}`` list of the docstring from the registry of backends."""
    function.__doc__ = function.__doc__.replace("{methods}", methods_doc())
    return function


@_with_methods
def impute_dropouts(
    adata: ad.AnnData,
    *,
    method: str = DEFAULT_METHOD,
    layer: str | None = None,
    labels_key: str | None = None,
    batch_key: str | None = None,
    target_batch: str | None = None,
    key_added: str = IMPUTED,
    only_zeros: bool = True,
    n_draws: int = 0,
    n_repeats: int | None = None,
    random_state: int = 0,
    device: str = "auto",
    config=None,
    copy: bool = False,
    progress: bool | None = None,
    n_jobs: int | None = None,
    devices: int = 1,
    write_to: str | Path | None = None,
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
    adata
        Cells × genes with raw counts (dense or any scipy sparse format).
    method
        Backend name (``scgan.models.BACKENDS``):

        {methods}

        Only ``"began"`` uses batches; GAIN and MisGAN use no labels.
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
        ``batch_key``; ``"began"`` only): batch-effect-aware imputation.
        Combine with ``only_zeros=False`` to move the observed counts too;
        with ``only_zeros=True`` they keep their own batch's effect.
    key_added
        Name of the output layer and ``uns`` entry.
    only_zeros
        Keep observed counts and fill only the zeros; ``False`` returns the
        imputer's estimate everywhere (denoising; for ``"began"`` each
        entry's expected ``log1p``-normalised value of a fresh measurement
        at the cell's own depth, as a count).
    n_draws
        Also write this many multiple imputations, ``layers[key_added +
        '_draw_1']`` and on: counts drawn from the model's negative binomial
        for each entry (``"began"`` only).
    n_repeats
        Number of random gene partitions averaged (``"began"`` only; its
        default, ``"auto"``, if ``None``: 3 up to 4 096 expressed genes, 1
        beyond).
    random_state
        Seed; on the CPU the same seed gives the same result.
    device
        ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
    config
        A backend config object (e.g. :class:`scgan.models.BEGANConfig`);
        ``settings`` override its fields.
    copy
        Return a new AnnData instead of writing into ``adata``.
    progress
        Show a progress bar while training (steps per second and the time
        left; after each epoch the epoch, the validation loss and, with a
        game, ``k_t`` and ``M``): ``None`` shows it on a terminal and in a
        Jupyter notebook.
    n_jobs
        CPU threads: ``None`` follows ``scanpy.settings.n_jobs`` (1 unless
        set), ``-1`` uses every core; never more than the cores available.
    devices
        Train on this many CUDA GPUs, or CPU processes with ``device="cpu"``
        (``"began"`` only; see :class:`scgan.Imputer`): each trains its share
        of the gene parts, with the result of one device.
    write_to
        Write the layers and the record into this ``.h5ad`` file (a copy of
        ``adata``'s) a block of rows at a time, not into ``adata``, which may
        then be backed (``read_h5ad(path, backed="r")``): for data sets
        whose imputation does not fit in memory.
    **settings
        Any field of the backend's config, e.g. ``side``, ``epochs``,
        ``batch_size``, ``lr_generator``, ``adversary``, ``gamma``,
        ``lambda_k``, ``dropout_q``, ``dropout_s`` (see :class:`scgan.models.BEGANConfig`;
        for the other backends :class:`~scgan.models.ScIGANsConfig`,
        :class:`~scgan.models.GAINConfig`, :class:`~scgan.models.MisGANConfig`).

    Returns
    -------
    ``None``, or the new AnnData when ``copy=True``. Writes
    ``layers[key_added]`` (imputed counts, each cell on its own count scale),
    ``layers[key_added + '_std']`` (for ``"began"`` the standard deviation
    of a count under the model, for ``"scigans"`` the spread over the
    generated neighbours; 0 where observed counts are kept; GAIN and MisGAN
    write no spread), the draws asked for, and ``uns[key_added]`` (the
    settings used, the label and batch sources, the training history and,
    for ``"began"``, ``['params']['validation']``: the denoising score the
    model reached on molecules held out of its training counts). Layers are float32. ``X`` and other layers are left
    as they are; if anything fails, ``adata`` is unchanged.

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
