import anndata as ad
import numpy as np

from .._anndata import get_counts
from .._keys import MASK_KEY


def mask_nonzeros(
    adata: ad.AnnData,
    *,
    fraction: float = 0.1,
    random_state: int = 0,
    layer: str | None = None,
) -> ad.AnnData:
    """Hide a fraction of the non-zero counts, for a masked hold-out test.

    Exactly ``round(fraction * nnz)`` non-zero entries, drawn uniformly
    without replacement, are set to zero. ``adata`` is left as it is.

    Parameters
    ----------
    adata
        Cells × genes with raw counts.
    fraction
        Share of the non-zero entries to hide, in (0, 1).
    random_state
        Seed of the draw.
    layer
        Read counts from ``adata.layers[layer]`` instead of ``X``.

    Returns
    -------
    A new AnnData in which ``X`` (or ``layers[layer]``) holds the masked
    counts (CSR). Its ``uns['scgan_mask']`` records ``rows``, ``cols`` and
    ``values`` of the hidden entries, plus ``fraction``, ``random_state`` and
    ``layer``. Everything else is copied as it is: drop other layers that hold
    the same counts, or they leak the hidden values.

    Examples
    --------
    >>> import scgan
    >>> masked = scgan.tl.mask_nonzeros(scgan.datasets.pbmc68k(), fraction=0.1)
    >>> len(masked.uns["scgan_mask"]["rows"])
    17440
    """
    if not 0 < fraction < 1:
        msg = f"fraction must lie strictly between 0 and 1, got {fraction}"
        raise ValueError(msg)
    counts = get_counts(adata, layer).tocoo()
    n_hidden = round(fraction * counts.nnz)
    if n_hidden == 0:
        msg = f"fraction={fraction} of {counts.nnz} non-zero entries hides nothing; raise fraction"
        raise ValueError(msg)
    hidden = np.random.default_rng(random_state).choice(counts.nnz, n_hidden, replace=False)
    hidden.sort()
    rows, cols, values = counts.row[hidden], counts.col[hidden], counts.data[hidden]
    masked_data = counts.data.copy()
    masked_data[hidden] = 0
    counts.data = masked_data
    masked_counts = counts.tocsr()
    masked_counts.eliminate_zeros()
    masked = adata.copy()
    if layer is None:
        masked.X = masked_counts
    else:
        masked.layers[layer] = masked_counts
    masked.uns[MASK_KEY] = {
        "rows": rows.astype(np.int64),
        "cols": cols.astype(np.int64),
        "values": values.astype(np.float32),
        "fraction": float(fraction),
        "random_state": int(random_state),
        "layer": "X" if layer is None else layer,
    }
    return masked
