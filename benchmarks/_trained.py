"""One scgan model trained per benchmark input, giving several outputs (public API only)."""

import anndata as ad

import scgan

ABLATIONS = {
    "began": {},
    "began + game": {"adversary": 0.1},
    "began + game, no dropout": {"adversary": 0.1, "artificial_dropout": False},
    "began no context": {"n_components": 0},
}
"""The default beside its ablations: the BEGAN game (with and without the artificial
dropout) and the whole-cell context."""


def trained_outputs(
    settings: dict, outputs: dict[str, dict], *, labelled: bool, batched: bool
) -> dict:
    """Methods for ``scgan.tl.benchmark``: one per entry of ``outputs``, from one model.

    ``outputs`` maps a method name to the keyword arguments of
    :meth:`scgan.Imputer.impute` (e.g. ``{"only_zeros": False}``); the model,
    an :class:`scgan.Imputer` with ``settings``, is trained once for each
    input the benchmark passes (each protocol's copy of the data).
    """
    trained = {}

    def fitted(counts, labels, batches, random_state) -> tuple[scgan.Imputer, ad.AnnData]:
        if trained.get("counts") is not counts:
            adata = ad.AnnData(counts)
            if labelled:
                adata.obs["labels"] = labels
            if batched:
                adata.obs["batch"] = batches
            imputer = scgan.Imputer(
                labels_key="labels" if labelled else None,
                batch_key="batch" if batched else None,
                random_state=random_state,
                progress=False,
                **settings,
            ).fit(adata)
            trained.update(counts=counts, imputer=imputer, adata=adata)
        return trained["imputer"], trained["adata"]

    def method(kwargs: dict):
        def impute(counts, *, labels=None, batches=None, random_state=0):
            imputer, adata = fitted(counts, labels, batches, random_state)
            return imputer.impute(adata, copy=True, **kwargs).layers["scgan_imputed"]

        return impute

    return {name: method(kwargs) for name, kwargs in outputs.items()}
