import anndata as ad
import numpy as np

from .._imputer import Imputer as Model
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
        adata, keys = _anndata(counts, labels, batches if uses_batches else None)
        target = target_batch if keys["batch_key"] is not None else None
        impute_dropouts(
            adata, method=method, target_batch=target, random_state=random_state, **keys, **settings
        )
        return adata.layers[IMPUTED]

    return impute


def gan_outputs(outputs: dict[str, dict], method: str = "began", **settings) -> dict[str, Imputer]:
    """Several outputs of one trained model, each in the benchmark's call shape.

    Parameters
    ----------
    outputs
        Method name → keyword arguments of :meth:`scgan.Imputer.impute`
        (``only_zeros``, ``target_batch``), e.g. ``{"began": {}, "began
        denoised": {"only_zeros": False}}``.
    method, **settings
        The model: as for :func:`gan_method`.

    Returns
    -------
    Name → ``fn(counts, *, labels, batches, random_state) -> counts``. The
    model is trained once for each ``counts`` it is given (each protocol's
    copy of the data in :func:`scgan.tl.benchmark`); the other outputs reuse
    it.
    """
    uses_batches = BACKENDS[method].uses_batches
    trained = {}

    def fitted(counts, labels, batches, random_state) -> tuple[Model, ad.AnnData]:
        if trained.get("counts") is not counts:
            adata, keys = _anndata(counts, labels, batches if uses_batches else None)
            model = Model(method, random_state=random_state, **keys, **settings).fit(adata)
            trained.update(counts=counts, model=model, adata=adata)
        return trained["model"], trained["adata"]

    def output(kwargs: dict) -> Imputer:
        def impute(counts, *, labels=None, batches=None, random_state=0) -> np.ndarray:
            model, adata = fitted(counts, labels, batches, random_state)
            return model.impute(adata, copy=True, **kwargs).layers[IMPUTED]

        return impute

    return {name: output(kwargs) for name, kwargs in outputs.items()}


def _anndata(counts, labels, batches) -> tuple[ad.AnnData, dict]:
    """The counts as AnnData with ``labels`` and ``batches`` columns, and the keys to name them."""
    adata = ad.AnnData(counts)
    keys = {"labels_key": None, "batch_key": None}
    if labels is not None:
        adata.obs["labels"], keys["labels_key"] = labels, "labels"
    if batches is not None:
        adata.obs["batch"], keys["batch_key"] = batches, "batch"
    return adata, keys
