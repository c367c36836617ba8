"""Plots of one imputation: its training history, held-out entries and the dropout curve."""

import anndata as ad
import numpy as np

from .._anndata import get_counts
from .._data import normalise_log
from .._keys import IMPUTED, MASK_KEY
from ..models.began import fit_dropout_curve

PANEL_TITLES = {
    "likelihood": "held-out molecules, Poisson loss",
    "real": "L(x), real cells",
    "fake": "L(G), generated cells",
    "k_t": "k_t",
    "M": "M (convergence)",
    "validation_mae": "validation MAE",
    "validation_seen": "validation loss, seeing the genes",
    "validation_blind": "validation loss, blind",
}
"""History terms of the BEGAN games drawn by :func:`training_history`, in order, with titles."""


def training_history(adata: ad.AnnData, *, key: str = IMPUTED, panel_size=(3.0, 2.4)):
    """Draw the training history recorded in ``uns[key]``: each loss term per epoch.

    For ``began``: the training loss on held-out molecules, the game's L(x),
    L(G), k_t and M when it plays one, and the validation losses; for
    ``scigans`` its game and validation error; for the other backends every
    term. With
    several gene parts the line is their mean and the band their range.

    Returns
    -------
    The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    history = _record(adata, key)["history"]
    names = [name for name in PANEL_TITLES if name in history] or list(history)
    fig, axes = plt.subplots(
        1,
        len(names),
        figsize=(panel_size[0] * len(names), panel_size[1]),
        squeeze=False,
        constrained_layout=True,
    )
    for ax, name in zip(axes.flat, names, strict=True):
        values = np.asarray(history[name], dtype=np.float64)
        values = values.reshape(len(values), -1)
        steps = np.arange(1, len(values) + 1)
        ax.plot(steps, values.mean(axis=1), color="C0")
        if values.shape[1] > 1:
            ax.fill_between(steps, values.min(axis=1), values.max(axis=1), color="C0", alpha=0.2)
        ax.set_title(PANEL_TITLES.get(name, name), fontsize=9)
        ax.set_xlabel("epoch")
    best = adata.uns[key]["params"].get("best_epoch")
    if best is not None:
        for ax in axes.flat:
            ax.axvline(best + 1, color="grey", lw=0.8, ls="--")
    return fig


def held_out(adata: ad.AnnData, *, layer: str = IMPUTED, ax=None):
    """Draw imputed against hidden counts (log1p) for the entries hidden by ``mask_nonzeros``.

    Returns
    -------
    The matplotlib ``Axes`` (a hexbin with the diagonal and Pearson's r in the title).
    """
    import matplotlib.pyplot as plt

    if MASK_KEY not in adata.uns:
        msg = "no hidden entries: mask counts with scgan.tl.mask_nonzeros before imputing"
        raise ValueError(msg)
    if layer not in adata.layers:
        msg = f"layer {layer!r} not found; impute first or pass the layer holding the imputation"
        raise KeyError(msg)
    mask = adata.uns[MASK_KEY]
    rows, cols = np.asarray(mask["rows"]), np.asarray(mask["cols"])
    truth = np.log1p(np.asarray(mask["values"], dtype=np.float64))
    imputed = np.log1p(np.asarray(adata.layers[layer][rows, cols], dtype=np.float64).ravel())
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.2), constrained_layout=True)
    ax.hexbin(truth, imputed, gridsize=40, bins="log", cmap="viridis", mincnt=1)
    top = max(truth.max(), imputed.max())
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--")
    r = np.corrcoef(truth, imputed)[0, 1]
    ax.set_title(f"{len(truth)} held-out counts, Pearson r = {r:.3f}", fontsize=9)
    ax.set_xlabel("hidden count, log1p")
    ax.set_ylabel(f"{layer}, log1p")
    return ax


def dropout_curve(adata: ad.AnnData, *, layer: str | None = None, key: str = IMPUTED, ax=None):
    """Draw each gene's zero fraction against its mean log expression, with the fitted logistic.

    The curve is ``1 / (1 + exp(s (m − mid)))`` fitted across genes; the
    title gives the artificial dropout's ``(q, s)`` used by the imputation in
    ``uns[key]`` (when it played the game that uses one).

    Returns
    -------
    The matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    log_norm = normalise_log(get_counts(adata, layer))
    zero_fraction = 1 - log_norm.getnnz(axis=0) / log_norm.shape[0]
    mean_log = np.asarray(log_norm.mean(axis=0)).ravel()
    mid, s = fit_dropout_curve(log_norm)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.8, 3.0), constrained_layout=True)
    ax.scatter(mean_log, zero_fraction, s=4, alpha=0.5, color="C0", label="genes")
    grid = np.linspace(0, mean_log.max(), 200)
    ax.plot(
        grid, 1 / (1 + np.exp(s * (grid - mid))), color="C3", label=f"fit: mid {mid:.2f}, s {s:.2f}"
    )
    params = adata.uns.get(key, {}).get("params", {})
    if np.isfinite(params.get("dropout_q_used", np.nan)):
        ax.set_title(
            f"artificial dropout: q = {params['dropout_q_used']:.1f}, s = {params['dropout_s_used']:.2f}",
            fontsize=9,
        )
    ax.set_xlabel("mean log1p-normalised expression")
    ax.set_ylabel("zero fraction")
    ax.legend(fontsize=7, frameon=False)
    return ax


def _record(adata: ad.AnnData, key: str) -> dict:
    if key not in adata.uns or "history" not in adata.uns[key]:
        msg = f"no imputation record in uns[{key!r}]; run scgan.pp.impute_dropouts first"
        raise KeyError(msg)
    return adata.uns[key]
