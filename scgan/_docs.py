"""Parameter texts shared by :class:`scgan.Imputer`, its methods and :func:`scgan.pp.impute_dropouts`.

A docstring names a text as ``{doc_training}``; :func:`doc_params` fills it
in (after scanpy's ``_docs.py`` and ``doc_params``). Each text is written
as it stands in a dedented docstring.
"""

from inspect import cleandoc

doc_adata = """\
adata
    Cells × genes with raw counts (dense or any scipy sparse format)."""

doc_data = """\
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
    ``obs`` column with batches (sequencing technique or sample)."""

doc_training = """\
random_state
    Seed; on the CPU the same seed gives the same result.
device
    ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
config
    A backend config object (e.g. :class:`scgan.models.BEGANConfig`);
    ``settings`` override its fields.
progress
    Show a progress bar while training (steps per second and the time
    left; after each epoch the epoch, the validation loss and, with a
    game, ``k_t`` and ``M``): ``None`` shows it on a terminal and in a
    Jupyter notebook.
n_jobs
    CPU threads for training and imputing: ``None`` follows
    ``scanpy.settings.n_jobs`` (1 unless set), ``-1`` uses every core.
    Never more than the cores available; torch's own thread count is
    restored afterwards. With several ``devices`` on the CPU they are
    shared among the processes (at least one each).
devices
    Train on this many devices (``"began"`` only): one process per
    CUDA GPU, or per CPU core with ``device="cpu"``, spawned by scgan
    and joined by ``torch.distributed``. Each trains its share of the
    gene parts, which gives the same result as one device (to float32
    rounding); with fewer parts than devices each batch's cells are
    split instead (data parallel: each process normalises its losses
    and picks the dropout percentile on its own cells, so results
    differ slightly). Imputing runs in this process. The processes start
    through scgan's own entry point, so a script needs no
    ``if __name__ == "__main__":`` guard."""

doc_settings = """\
**settings
    Any field of the backend's config, e.g. ``side``, ``epochs``,
    ``batch_size``, ``lr_generator``, ``adversary``, ``gamma``,
    ``lambda_k``, ``dropout_q``, ``dropout_s`` (see :class:`scgan.models.BEGANConfig`;
    for the other backends :class:`~scgan.models.ScIGANsConfig`,
    :class:`~scgan.models.GAINConfig`, :class:`~scgan.models.MisGANConfig`)."""

doc_output = """\
target_batch
    Impute every cell as if it had been measured in this batch (needs
    ``batch_key``; ``"began"`` only): batch-effect-aware imputation.
    Combine with ``only_zeros=False`` to move the observed counts too;
    with ``only_zeros=True`` they keep their own batch's effect.
only_zeros
    Keep observed counts and fill only the zeros; ``False`` returns the
    imputer's estimate everywhere (denoising; for ``"began"`` each
    entry's expected ``log1p``-normalised value of a fresh measurement
    at the cell's own depth, as a count).
n_draws
    Also write this many multiple imputations, ``layers[key_added +
    '_draw_1']`` and on: counts drawn from the model's negative binomial
    for each entry (``"began"`` only).
key_added
    Name of the output layer and ``uns`` entry.
copy
    Return a new AnnData instead of writing into ``adata``.
write_to
    Write the layers and the record into this ``.h5ad`` file (a copy of
    ``adata``'s) a block of rows at a time, not into ``adata``, which may
    then be backed (``read_h5ad(path, backed="r")``): for data sets
    whose imputation does not fit in memory. The layers appear when all
    blocks are in."""

doc_returns = """\
``None``, or the new AnnData when ``copy=True``. Writes
``layers[key_added]`` (imputed counts, each cell on its own count scale),
``layers[key_added + '_std']`` (for ``"began"`` the standard deviation
of a count under the model, for ``"scigans"`` the spread over the
generated neighbours; 0 where observed counts are kept; GAIN and MisGAN
write no spread), the draws asked for, and ``uns[key_added]`` (the
settings used, the label and batch sources, the training history and,
for ``"began"``, ``['params']['validation']``: the denoising score the
model reached on molecules held out of its training counts). Layers are
float32. ``X`` and other layers are left as they are; if anything fails,
``adata`` is unchanged."""


def doc_params(**texts: str):
    """Fill ``{name}`` fields of the decorated object's docstring: this module's texts and ``texts``.

    The docstring is dedented first (:func:`inspect.cleandoc`), so a text
    fills a field at the left margin line for line; a text may itself hold
    fields (e.g. ``{methods}``), filled from ``texts``.
    """
    shared = {k: v for k, v in globals().items() if k.startswith("doc_") and isinstance(v, str)}
    texts = shared | texts

    def fill(obj):
        doc = cleandoc(obj.__doc__)
        for _ in range(2):  # texts within texts
            doc = doc.format_map(texts)
        obj.__doc__ = doc
        return obj

    return fill
