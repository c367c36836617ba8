"""Reference imputers, each with one call shape: ``fn(counts, *, labels, batches, random_state)``.

Every baseline takes a CSR matrix of raw counts (cells × genes), keeps it
sparse, and returns a dense float32 matrix of imputed counts on each cell's
own library size (MAGIC is handed a dense matrix: magic-impute's own need).
Only scVI uses ``batches``; the argument keeps the shape common with
scgan's own imputers (:func:`scgan.tl.gan_method`).
"""

from typing import Protocol

import numpy as np
from scipy import sparse
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.extmath import randomized_svd

from .._data import TARGET_SUM, as_csr, library_size, normalise_log, put_observed, row_chunks
from .._neighbours import nearest_neighbours


class Imputer(Protocol):
    def __call__(
        self,
        counts: sparse.csr_matrix,
        *,
        labels: np.ndarray | None,
        batches: np.ndarray | None,
        random_state: int,
    ) -> np.ndarray: ...


def no_imputation(counts, *, labels=None, batches=None, random_state=0):
    """The input, unchanged."""
    return as_csr(counts).toarray()


def celltype_mean(counts, *, labels=None, batches=None, random_state=0):
    """Fill each zero with its cell type's mean normalised expression, scaled to the cell's library."""
    if labels is None:
        msg = "the 'celltype_mean' baseline needs cell-type labels; pass labels_key="
        raise ValueError(msg)
    x = as_csr(counts, np.float64)
    lib = library_size(x)
    fraction = sparse.csr_matrix(x.multiply(1.0 / np.where(lib > 0, lib, 1.0)[:, None]))
    out = np.empty(x.shape, np.float32)
    for label in np.unique(labels):
        cells = labels == label
        out[cells] = np.outer(lib[cells], np.asarray(fraction[cells].mean(axis=0)).ravel())
    return put_observed(out, x)


def knn_smoothing(
    counts, *, labels=None, batches=None, random_state=0, k=15, n_pcs=10, dither=0.03
):
    """kNN-smoothing (Wagner et al. 2018): sum each cell's counts with its k nearest neighbours.

    Neighbours (the cell itself included) are found step-wise (1, 3, 7, … up
    to ``k``) on the PCA of Freeman–Tukey transformed, median-normalised
    smoothed counts; the summed profile is rescaled to the cell's own library
    size. The transform is ``1`` at a zero, so the PCA is taken of its sparse
    part (centring removes the constant).
    """
    x = as_csr(counts, np.float64)
    n_cells = x.shape[0]
    rng = np.random.default_rng(random_state)
    smoothed = x
    n_steps = int(np.ceil(np.log2(k + 1)))
    for step in range(1, n_steps + 1):
        k_step = min(2**step - 1, k, n_cells - 1)
        lib = library_size(smoothed)
        normed = sparse.csr_matrix(
            smoothed.multiply(np.median(lib) / np.where(lib > 0, lib, 1.0)[:, None])
        )
        normed.data = np.sqrt(normed.data) + np.sqrt(normed.data + 1) - 1
        n_comps = min(n_pcs, min(normed.shape) - 1)
        scores = PCA(n_comps, svd_solver="arpack", random_state=random_state).fit_transform(normed)
        scores += rng.uniform(0, dither, scores.shape) * np.ptp(scores, axis=0)
        _, neighbours = NearestNeighbors(n_neighbors=k_step + 1).fit(scores).kneighbors(scores)
        rows = np.repeat(np.arange(n_cells), k_step + 1)
        summing = sparse.csr_matrix(
            (np.ones(rows.size), (rows, neighbours.ravel())), (n_cells,) * 2
        )
        smoothed = summing @ x
    totals = library_size(smoothed)
    scale = library_size(x) / np.where(totals > 0, totals, 1.0)
    return sparse.csr_matrix(smoothed.multiply(scale[:, None]), dtype=np.float32).toarray()


def knn_hurdle(counts, *, labels=None, batches=None, random_state=0, k=50, n_pcs=30):
    """A rule with no learning: a cell's neighbourhood's share of expressing cells × their value.

    For cell ``i`` and gene ``j``, over the cell and its ``k`` nearest
    neighbours (``n_pcs`` principal components of the log-normalised counts):
    ``V`` is the mean of the non-zero ``log1p(normalize_total(·, 1e4))``
    values (the gene's mean non-zero value where none), ``w = (number
    expressing + the gene's detection rate) / (k + 2)``, and the output is
    ``expm1(w · V)`` at the cell's own library size: the neighbourhood's mean
    log-normalised value, a hurdle model (share × value). Every entry is
    replaced. The yardstick of what learning adds.
    """
    log_norm = normalise_log(counts)
    n_cells = log_norm.shape[0]
    expressing = log_norm.copy()
    expressing.data[:] = 1.0
    detected = np.asarray(expressing.sum(axis=0)).ravel()
    rate = detected / n_cells
    gene_value = np.asarray(log_norm.sum(axis=0)).ravel() / np.maximum(detected, 1)
    others = nearest_neighbours(
        log_norm.astype(np.float32), k, n_pcs=n_pcs, random_state=random_state
    )
    around = np.hstack([np.arange(n_cells)[:, None], others])
    size = around.shape[1]
    pick = sparse.csr_matrix(
        (np.ones(around.size), around.ravel(), np.arange(0, around.size + 1, size)),
        shape=(n_cells, n_cells),
    )
    scale = (library_size(counts) / TARGET_SUM).astype(np.float32)
    out = np.empty(log_norm.shape, np.float32)
    for rows in row_chunks(n_cells, 1024):
        total = (pick[rows] @ log_norm).toarray()
        n_expressing = (pick[rows] @ expressing).toarray()
        value = np.where(n_expressing > 0, total / np.maximum(n_expressing, 1), gene_value)
        share = (n_expressing + rate) / (size + 1)
        out[rows] = np.expm1(share * value) * scale[rows, None]
    return out


def alra(counts, *, labels=None, batches=None, random_state=0, max_rank=100, quantile=0.001):
    """ALRA (Linderman et al. 2022): thresholded low-rank approximation of log-normalised data.

    The rank is chosen by ALRA's spectral-gap rule (the last gap between
    singular values more than 6 sd above the noise gaps); each gene's
    approximation is zeroed below the magnitude of its ``quantile``-th
    smallest value, rescaled to the mean and sd of the observed non-zeros,
    and observed values it zeroed are restored.
    """
    log_norm = normalise_log(counts)
    max_rank = min(max_rank, min(log_norm.shape) - 1)
    u, s, vt = randomized_svd(log_norm, max_rank, n_iter=10, random_state=random_state)
    rank = _alra_rank(s)
    low = ((u[:, :rank] * s[:rank]) @ vt[:rank]).astype(np.float32)
    thresholds = np.abs(np.quantile(low, quantile, axis=0))
    low[low <= thresholds] = 0
    _match_nonzero_moments(low, sparse.csc_matrix(log_norm))
    low[low < 0] = 0
    observed = log_norm.tocoo()
    zeroed = low[observed.row, observed.col] == 0
    low[observed.row[zeroed], observed.col[zeroed]] = observed.data[zeroed]
    np.expm1(low, out=low)
    np.maximum(low, 0, out=low)
    low *= (library_size(counts) / 1e4).astype(np.float32)[:, None]
    return low


def magic(counts, *, labels=None, batches=None, random_state=0):
    """MAGIC (van Dijk et al. 2018) through the ``magic-impute`` package, on sqrt-normalised data."""
    try:
        import magic as magic_impute
    except ImportError as err:
        msg = (
            "the 'magic' baseline needs magic-impute: from scgan's checkout, pip install "
            "'.[benchmark]' and pip install --no-deps magic-impute==3.0.0 scprep==1.2.3"
        )
        raise ImportError(msg) from err
    x = as_csr(counts, np.float64)
    lib = library_size(x)
    root = sparse.csr_matrix(x.multiply(1e4 / np.where(lib > 0, lib, 1.0)[:, None]))
    root.data = np.sqrt(root.data)
    operator = magic_impute.MAGIC(random_state=random_state, verbose=0, n_jobs=1)
    smoothed = operator.fit_transform(root.toarray())
    return (np.maximum(smoothed, 0) ** 2 * (lib / 1e4)[:, None]).astype(np.float32)


def scvi(counts, *, labels=None, batches=None, random_state=0, max_epochs=None, target_batch=None):
    """scVI (Lopez et al. 2018) through ``scvi-tools``: its denoised expression times library size.

    With ``batches`` scVI is conditioned on them, and ``target_batch`` gives
    every cell's expression as if measured in that batch (its
    ``transform_batch``).
    """
    batches = None if batches is None else np.asarray(batches).astype(str)
    target = None if target_batch is None else str(target_batch)
    _check_target(target, batches)
    try:
        import scvi as scvi_tools
    except ImportError as err:
        msg = "the 'scvi' baseline needs scvi-tools: pip install 'scgan[scvi]'"
        raise ImportError(msg) from err
    import anndata as ad

    scvi_tools.settings.seed = random_state
    adata = ad.AnnData(sparse.csr_matrix(counts, dtype=np.float32))
    if batches is not None:
        adata.obs["batch"] = batches
    scvi_tools.model.SCVI.setup_anndata(adata, batch_key=None if batches is None else "batch")
    model = scvi_tools.model.SCVI(adata)
    model.train(max_epochs=max_epochs, accelerator="cpu", enable_progress_bar=False)
    lib = library_size(counts)
    expression = model.get_normalized_expression(
        library_size=1.0,
        transform_batch=target,
        return_numpy=True,
    )
    return (expression * lib[:, None]).astype(np.float32)


def _check_target(target_batch: str | None, batches: np.ndarray | None) -> None:
    """Refuse a ``target_batch`` without batches or outside them."""
    if target_batch is None:
        return
    if batches is None:
        msg = "target_batch needs the batches (batch_key)"
        raise ValueError(msg)
    if target_batch not in set(batches):
        msg = f"target_batch={target_batch!r} is not a batch; choose one of {sorted(set(batches))}"
        raise ValueError(msg)


BASELINES: dict[str, Imputer] = {
    "none": no_imputation,
    "celltype_mean": celltype_mean,
    "knn_smoothing": knn_smoothing,
    "knn_hurdle": knn_hurdle,
    "alra": alra,
    "magic": magic,
    "scvi": scvi,
}
"""Baseline name → imputer with the common call shape."""


def _alra_rank(singular_values: np.ndarray, noise_start: int = 80, n_sds: float = 6.0) -> int:
    """ALRA's ``choose_k``: the noise gaps are those from singular value ``noise_start - 1`` on.

    With fewer than ``noise_start + 1`` singular values (small data), the
    second half of the gaps is taken as noise, where ALRA's R code stops.
    """
    gaps = singular_values[:-1] - singular_values[1:]
    noise = gaps[noise_start - 2 if len(gaps) >= noise_start else len(gaps) // 2 :]
    z = (gaps - noise.mean()) / noise.std(ddof=1)
    above = np.flatnonzero(z > n_sds)
    return int(above.max()) + 1 if above.size else 1


def _match_nonzero_moments(low: np.ndarray, reference: sparse.csc_matrix) -> None:
    """Shift and scale each gene's non-zeros in ``low``, in place, to the mean and sd of ``reference``'s."""
    for j in range(low.shape[1]):
        mine = low[:, j] != 0
        theirs = reference.data[reference.indptr[j] : reference.indptr[j + 1]]
        theirs = theirs[theirs != 0]
        if mine.sum() < 2 or len(theirs) < 2:
            continue
        values = low[mine, j].astype(np.float64)
        sd_mine, sd_theirs = values.std(ddof=1), theirs.std(ddof=1)
        if sd_mine == 0:
            continue
        scale = sd_theirs / sd_mine
        low[mine, j] = values * scale + theirs.mean() - values.mean() * scale
