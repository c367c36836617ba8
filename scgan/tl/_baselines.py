"""Reference imputers, each with one call shape: ``fn(counts, *, labels, batches, random_state)``.

Every baseline takes a CSR matrix of raw counts (cells × genes) and returns a
dense float64 matrix of imputed counts on each cell's own library size. None
of them uses ``batches``; the argument keeps the shape common with scgan's own
imputers (:func:`scgan.tl.gan_method`).
"""

from typing import Protocol

import numpy as np
from scipy import sparse
from sklearn.decomposition import PCA
from sklearn.utils.extmath import randomized_svd

from .._data import dense, library_size, normalise_log, to_counts


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
    return dense(counts)


def celltype_mean(counts, *, labels=None, batches=None, random_state=0):
    """Fill each zero with its cell type's mean normalised expression, scaled to the cell's library."""
    if labels is None:
        msg = "the 'celltype_mean' baseline needs cell-type labels; pass labels_key="
        raise ValueError(msg)
    x = dense(counts)
    lib = library_size(x)
    fraction = x / np.where(lib > 0, lib, 1.0)[:, None]
    out = x.copy()
    for label in np.unique(labels):
        cells = labels == label
        fill = np.outer(lib[cells], fraction[cells].mean(axis=0))
        out[cells] = np.where(x[cells] == 0, fill, x[cells])
    return out


def knn_smoothing(
    counts, *, labels=None, batches=None, random_state=0, k=15, n_pcs=10, dither=0.03
):
    """kNN-smoothing (Wagner et al. 2018): sum each cell's counts with its k nearest neighbours.

    Neighbours are found step-wise (1, 3, 7, … up to ``k``) on the PCA of
    Freeman–Tukey transformed, median-normalised smoothed counts; the summed
    profile is rescaled to the cell's own library size.
    """
    x = dense(counts)
    rng = np.random.default_rng(random_state)
    smoothed = x
    n_steps = int(np.ceil(np.log2(k + 1)))
    for step in range(1, n_steps + 1):
        k_step = min(2**step - 1, k)
        lib = library_size(smoothed)
        normed = smoothed / np.where(lib > 0, lib, 1.0)[:, None] * np.median(lib)
        transformed = np.sqrt(normed) + np.sqrt(normed + 1)
        n_comps = min(n_pcs, transformed.shape[0] - 1, transformed.shape[1])
        scores = PCA(n_comps, random_state=random_state).fit_transform(transformed)
        scores += rng.uniform(0, dither, scores.shape) * np.ptp(scores, axis=0)
        sq = np.sum(scores**2, axis=1)
        distances = sq[:, None] + sq[None, :] - 2 * scores @ scores.T
        neighbours = np.argsort(distances, axis=1, kind="stable")[:, : k_step + 1]
        smoothed = x[neighbours].sum(axis=1)
    return _rescale(smoothed, library_size(x))


def alra(counts, *, labels=None, batches=None, random_state=0, max_rank=100, quantile=0.001):
    """ALRA (Linderman et al. 2022): thresholded low-rank approximation of log-normalised data.

    The rank is chosen by ALRA's spectral-gap rule (the last gap between
    singular values more than 6 sd above the noise gaps); each gene's
    approximation is zeroed below the magnitude of its ``quantile``-th
    smallest value, rescaled to the mean and sd of the observed non-zeros,
    and observed values it zeroed are restored.
    """
    x = dense(counts)
    log_norm = normalise_log(x)
    max_rank = min(max_rank, min(log_norm.shape) - 1)
    u, s, vt = randomized_svd(log_norm, max_rank, n_iter=10, random_state=random_state)
    rank = _alra_rank(s)
    low = (u[:, :rank] * s[:rank]) @ vt[:rank]
    thresholds = np.abs(np.quantile(low, quantile, axis=0))
    low[low <= thresholds] = 0
    low = _match_nonzero_moments(low, log_norm)
    low[low < 0] = 0
    restore = (log_norm > 0) & (low == 0)
    low[restore] = log_norm[restore]
    return to_counts(low, library_size(x))


def magic(counts, *, labels=None, batches=None, random_state=0):
    """MAGIC (van Dijk et al. 2018) through the ``magic-impute`` package, on sqrt-normalised data."""
    try:
        import magic as magic_impute
    except ImportError as err:
        msg = (
            "the 'magic' baseline needs magic-impute: pip install --no-deps magic-impute scprep "
            "and pip install 'scgan[benchmark]' (see README)"
        )
        raise ImportError(msg) from err
    x = dense(counts)
    lib = library_size(x)
    root = np.sqrt(x / np.where(lib > 0, lib, 1.0)[:, None] * 1e4)
    operator = magic_impute.MAGIC(random_state=random_state, verbose=0, n_jobs=1)
    smoothed = operator.fit_transform(root)
    return np.maximum(smoothed, 0) ** 2 * (lib / 1e4)[:, None]


def scvi(counts, *, labels=None, batches=None, random_state=0, max_epochs=None):
    """scVI (Lopez et al. 2018) through ``scvi-tools``: its denoised expression times library size."""
    try:
        import scvi as scvi_tools
    except ImportError as err:
        msg = "the 'scvi' baseline needs scvi-tools: pip install 'scgan[scvi]'"
        raise ImportError(msg) from err
    import anndata as ad

    scvi_tools.settings.seed = random_state
    adata = ad.AnnData(sparse.csr_matrix(counts, dtype=np.float32))
    scvi_tools.model.SCVI.setup_anndata(adata)
    model = scvi_tools.model.SCVI(adata)
    model.train(max_epochs=max_epochs, accelerator="cpu", enable_progress_bar=False)
    lib = library_size(counts)
    return model.get_normalized_expression(library_size=1.0, return_numpy=True) * lib[:, None]


BASELINES: dict[str, Imputer] = {
    "none": no_imputation,
    "celltype_mean": celltype_mean,
    "knn_smoothing": knn_smoothing,
    "alra": alra,
    "magic": magic,
    "scvi": scvi,
}
"""Baseline name → imputer with the common call shape."""


def _rescale(profiles: np.ndarray, library: np.ndarray) -> np.ndarray:
    totals = library_size(profiles)
    return profiles * (library / np.where(totals > 0, totals, 1.0))[:, None]


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


def _match_nonzero_moments(low: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Shift and scale each gene's non-zeros in ``low`` to the mean and sd of ``reference``'s."""
    out = low.copy()
    for j in range(low.shape[1]):
        mine, theirs = low[:, j] != 0, reference[:, j] != 0
        if mine.sum() < 2 or theirs.sum() < 2:
            continue
        sd_mine, sd_theirs = low[mine, j].std(ddof=1), reference[theirs, j].std(ddof=1)
        if sd_mine == 0:
            continue
        scale = sd_theirs / sd_mine
        out[mine, j] = (
            low[mine, j] * scale + reference[theirs, j].mean() - low[mine, j].mean() * scale
        )
    return out
