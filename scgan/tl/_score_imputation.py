import anndata as ad
import numpy as np
from scipy import sparse, stats

from .._anndata import layer_of
from .._data import as_csr, as_dense, row_chunks, top_genes
from .._keys import MASK_KEY, TRUE_COUNTS


def score_imputation(
    adata: ad.AnnData,
    *,
    layer: str,
    mask_key: str = MASK_KEY,
    true_layer: str = TRUE_COUNTS,
) -> dict[str, float]:
    """Score imputed counts against what was hidden or simulated.

    On the entries hidden by :func:`scgan.tl.mask_nonzeros` (read from
    ``uns[mask_key]``): Pearson and Spearman correlation of ``log1p`` values,
    and mean and median absolute error of counts (``heldout_*``). When
    ``layers[true_layer]`` exists (simulated data), also against the true
    counts on the *dropout entries*, those that are zero in the imputer's input
    but not in the truth (``dropout_*``), Pearson(log1p) over all entries
    (``all_pearson_log1p``), and how realistic the imputed genes are:
    ``variance_ratio``, the median over genes of the variance of ``log1p``
    imputed counts over that of the true counts (1 is best), and
    ``correlation_distance``, the root mean square difference between the
    imputed and true gene–gene Pearson correlations of ``log1p`` counts
    among the 200 genes with the highest true mean (0 is best).

    Imputed counts are compared as they are, on each cell's library in the
    imputer's input, which lacks the hidden counts: count errors include that
    shrinkage (measured in the project's ``docs/research.md``).

    Parameters
    ----------
    adata
        The masked (or simulated) AnnData holding the imputation.
    layer
        Layer with the imputed counts.
    mask_key
        ``uns`` key written by :func:`scgan.tl.mask_nonzeros`.
    true_layer
        Layer with ground-truth counts, if any.

    Returns
    -------
    Metric name → value.
    """
    imputed = layer_of(adata, layer, "impute first or pass the layer holding the imputation")
    scores: dict[str, float] = {}
    if mask_key in adata.uns:
        mask = adata.uns[mask_key]
        rows, cols = np.asarray(mask["rows"]), np.asarray(mask["cols"])
        predicted = np.asarray(imputed[rows, cols], dtype=np.float64).ravel()
        scores |= _compare(predicted, np.asarray(mask["values"], dtype=np.float64), "heldout")
    if true_layer in adata.layers:
        truth = as_csr(adata.layers[true_layer], np.float64)
        source = adata.uns.get(mask_key, {}).get("layer", "X")
        observed = as_csr(adata.X if source == "X" else adata.layers[source])
        expressed = truth.astype(bool)
        rows, cols = (expressed - expressed.multiply(observed.astype(bool))).nonzero()
        predicted = np.asarray(imputed[rows, cols], dtype=np.float64).ravel()
        scores |= _compare(predicted, np.asarray(truth[rows, cols]).ravel(), "dropout")
        scores["all_pearson_log1p"] = _pearson_log1p_all(imputed, truth)
        scores |= _realism(imputed, truth)
    if not scores:
        msg = (
            f"nothing to score against: no uns[{mask_key!r}] and no layers[{true_layer!r}]; "
            "mask entries with scgan.tl.mask_nonzeros first"
        )
        raise ValueError(msg)
    return scores


def _realism(imputed, truth: sparse.csr_matrix, n_genes: int = 200) -> dict[str, float]:
    moments = np.zeros((4, truth.shape[1]))  # Σa, Σa², Σb, Σb² per gene
    for rows in row_chunks(truth.shape[0], 1024):
        a, b = np.log1p(as_dense(imputed[rows])), np.log1p(truth[rows].toarray())
        moments += [a.sum(0), (a * a).sum(0), b.sum(0), (b * b).sum(0)]
    n = truth.shape[0]
    var_imputed = moments[1] / n - (moments[0] / n) ** 2
    var_true = moments[3] / n - (moments[2] / n) ** 2
    varying = var_true > 0
    top = top_genes(truth, n_genes)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr_imputed = np.corrcoef(np.log1p(as_dense(imputed[:, top])), rowvar=False)
        corr_true = np.corrcoef(np.log1p(truth[:, top].toarray()), rowvar=False)
    upper = np.triu_indices(len(top), k=1)
    gap = np.nan_to_num(corr_imputed[upper]) - np.nan_to_num(corr_true[upper])
    return {
        "variance_ratio": float(np.median(var_imputed[varying] / var_true[varying])),
        "correlation_distance": float(np.sqrt(np.mean(gap**2))),
    }


def _compare(predicted: np.ndarray, truth: np.ndarray, prefix: str) -> dict[str, float]:
    error = np.abs(predicted - truth)
    return {
        f"{prefix}_pearson_log1p": _pearson(np.log1p(predicted), np.log1p(truth)),
        f"{prefix}_spearman_log1p": _spearman(predicted, truth),
        f"{prefix}_mae": float(error.mean()),
        f"{prefix}_median_ae": float(np.median(error)),
    }


def _pearson_log1p_all(imputed, truth: sparse.csr_matrix) -> float:
    """Pearson correlation of ``log1p`` over every entry, summed a block of rows at a time."""
    sums = np.zeros(5)  # Σa, Σb, Σa², Σb², Σab
    for rows in row_chunks(truth.shape[0], 1024):
        a = np.log1p(as_dense(imputed[rows]))
        b = np.log1p(truth[rows].toarray())
        sums += [a.sum(), b.sum(), (a * a).sum(), (b * b).sum(), (a * b).sum()]
    n = truth.shape[0] * truth.shape[1]
    mean_a, mean_b = sums[0] / n, sums[1] / n
    var_a, var_b = sums[2] / n - mean_a**2, sums[3] / n - mean_b**2
    if var_a <= 0 or var_b <= 0:
        return float("nan")
    return float((sums[4] / n - mean_a * mean_b) / np.sqrt(var_a * var_b))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; NaN (not an error) when one side is constant."""
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation; NaN (not an error) when one side is constant."""
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)
