import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats
from sklearn import metrics

import scgan
from scgan.tl._score_structure import _embedding


def _toy_masked(seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.poisson(3.0, (60, 40)).astype(np.float32)
    return scgan.tl.mask_nonzeros(ad.AnnData(sparse.csr_matrix(counts)), fraction=0.2)


def test_heldout_scores_match_scipy():
    masked = _toy_masked()
    rng = np.random.default_rng(1)
    imputed = masked.X.toarray() + rng.gamma(2.0, 1.5, masked.shape)
    masked.layers["imp"] = imputed
    record = masked.uns["scgan_mask"]
    truth, predicted = record["values"], imputed[record["rows"], record["cols"]]
    scores = scgan.tl.score_imputation(masked, layer="imp")
    assert scores["heldout_pearson_log1p"] == pytest.approx(
        stats.pearsonr(np.log1p(predicted), np.log1p(truth)).statistic
    )
    assert scores["heldout_spearman_log1p"] == pytest.approx(
        stats.spearmanr(predicted, truth).statistic
    )
    assert scores["heldout_mae"] == pytest.approx(metrics.mean_absolute_error(truth, predicted))
    assert scores["heldout_median_ae"] == pytest.approx(
        metrics.median_absolute_error(truth, predicted)
    )


def test_perfect_imputation_scores_perfectly():
    masked = _toy_masked()
    full = masked.X.toarray()
    record = masked.uns["scgan_mask"]
    full[record["rows"], record["cols"]] = record["values"]
    masked.layers["perfect"] = full
    scores = scgan.tl.score_imputation(masked, layer="perfect")
    assert scores["heldout_pearson_log1p"] == pytest.approx(1.0)
    assert scores["heldout_mae"] == 0


def test_dropout_scores_use_zero_input_nonzero_truth(sim_batches):
    adata = sim_batches.copy()
    truth = adata.layers["true_counts"].toarray()
    observed = adata.X.toarray()
    adata.layers["imp"] = truth * 0.5 + 1
    scores = scgan.tl.score_imputation(adata, layer="imp")
    dropout = (observed == 0) & (truth > 0)
    expected = stats.pearsonr(np.log1p(truth[dropout] * 0.5 + 1), np.log1p(truth[dropout]))
    assert scores["dropout_pearson_log1p"] == pytest.approx(expected.statistic)
    assert scores["dropout_mae"] == pytest.approx(
        np.abs(truth[dropout] * 0.5 + 1 - truth[dropout]).mean()
    )
    assert "heldout_mae" not in scores  # nothing was masked


def _with_truth(truth: np.ndarray, imputed: np.ndarray) -> ad.AnnData:
    observed = truth.copy()
    observed[[0, 1, 2], [1, 0, 2]] = 0  # three dropouts
    adata = ad.AnnData(sparse.csr_matrix(observed, dtype=np.float32))
    adata.layers["true_counts"] = sparse.csr_matrix(truth, dtype=np.float32)
    adata.layers["imp"] = imputed.astype(np.float32)
    return adata


def test_realism_scores_match_hand_computed_cases():
    truth = np.array([[0, 1, 3], [1, 3, 0], [3, 7, 1], [7, 0, 3]], dtype=np.float64)
    exact = scgan.tl.score_imputation(_with_truth(truth, truth), layer="imp")
    assert exact["variance_ratio"] == pytest.approx(1.0)
    assert exact["correlation_distance"] == pytest.approx(0.0, abs=1e-6)
    # log1p doubled: every gene's variance of log1p values is four times the truth's,
    # and correlations of log1p values do not change
    squared = scgan.tl.score_imputation(_with_truth(truth, (1 + truth) ** 2 - 1), layer="imp")
    assert squared["variance_ratio"] == pytest.approx(4.0, rel=1e-5)
    assert squared["correlation_distance"] == pytest.approx(0.0, abs=1e-5)
    # gene 2 reversed (log1p values 2·mean − x): its two correlations change sign
    logs = np.log1p(truth)
    flipped = logs.copy()
    flipped[:, 2] = 2 * logs[:, 2].mean() - logs[:, 2]
    scores = scgan.tl.score_imputation(_with_truth(truth, np.expm1(flipped)), layer="imp")
    r = np.corrcoef(logs, rowvar=False)
    assert scores["correlation_distance"] == pytest.approx(
        np.sqrt(((2 * r[0, 2]) ** 2 + (2 * r[1, 2]) ** 2) / 3), rel=1e-5
    )


def test_score_imputation_needs_something_to_score():
    adata = ad.AnnData(np.ones((3, 3)), layers={"imp": np.ones((3, 3))})
    with pytest.raises(ValueError, match="mask_nonzeros"):
        scgan.tl.score_imputation(adata, layer="imp")
    with pytest.raises(KeyError, match="missing"):
        scgan.tl.score_imputation(adata, layer="missing")


def test_constant_prediction_gives_nan_not_error():
    masked = _toy_masked()
    masked.layers["zeros"] = np.zeros(masked.shape)
    scores = scgan.tl.score_imputation(masked, layer="zeros")
    assert np.isnan(scores["heldout_pearson_log1p"])
    assert np.isnan(scores["heldout_spearman_log1p"])


def _separated(n_per=40, n_types=3, n_batches=2, seed=0):
    """Counts where each type expresses its own block of genes, batches identical."""
    rng = np.random.default_rng(seed)
    types = np.repeat(np.arange(n_types), n_per)
    rates = np.full((len(types), 30), 0.5)
    for t in range(n_types):
        rates[types == t, t * 10 : t * 10 + 10] = 20.0
    adata = ad.AnnData(rng.poisson(rates).astype(np.float32))
    adata.obs["type"] = pd.Categorical(types.astype(str))
    adata.obs["batch"] = pd.Categorical(rng.integers(n_batches, size=len(types)).astype(str))
    return adata


@pytest.mark.parametrize("method", ["leiden", "kmeans"])
def test_structure_scores_match_sklearn(method):
    adata = _separated()
    scores = scgan.tl.score_structure(
        adata, labels_key="type", batch_key="batch", cluster_method=method, resolution=0.3
    )
    assert scores["ari"] == pytest.approx(1.0)
    assert scores["nmi"] == pytest.approx(1.0)
    embedding = _embedding(adata, None, 30, 0)
    labels = adata.obs["type"].astype(str).to_numpy()
    assert scores["silhouette_labels"] == pytest.approx(metrics.silhouette_score(embedding, labels))
    assert scores["ilisi"] > 0.8  # batches are random: well mixed
    assert scores["batch_asw"] > 0.8


def test_lisi_matches_harmonypy():
    harmonypy = pytest.importorskip("harmonypy", reason="harmonypy is the LISI reference")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(250, 4))
    x[:80] += 2.0
    labels = np.array(["a", "b", "c"])[rng.integers(3, size=250)]
    labels[:80] = "a"
    reference = harmonypy.compute_lisi(x, pd.DataFrame({"l": labels}), ["l"], perplexity=20)[:, 0]
    np.testing.assert_allclose(scgan.tl.lisi(x, labels, perplexity=20), reference, rtol=1e-6)


def test_batch_asw_matches_direct_silhouette():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(90, 3))
    batches = rng.integers(2, size=90).astype(str)
    labels = np.repeat(["p", "q", "r"], 30)
    x[batches == "1"] += 0.7  # some batch effect
    dist = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    per_label = []
    for label in "pqr":
        idx = np.flatnonzero(labels == label)
        d, b = dist[np.ix_(idx, idx)], batches[idx]
        widths = []
        for i in range(len(idx)):
            same = (b == b[i]) & (np.arange(len(idx)) != i)
            a = d[i, same].mean()
            other = d[i, b != b[i]].mean()
            widths.append((other - a) / max(a, other))
        per_label.append(np.mean(1 - np.abs(widths)))
    assert scgan.tl.batch_asw(x, batches, labels) == pytest.approx(np.mean(per_label))
    # a label whose cells are each in a batch of their own has no silhouette: skipped, as in scib
    x, batches = np.vstack([x, rng.normal(size=(3, 3))]), np.append(batches, ["0", "1", "2"])
    labels = np.append(labels, ["s"] * 3)
    assert scgan.tl.batch_asw(x, batches, labels) == pytest.approx(np.mean(per_label))


def test_structure_reports_missing_labels(sim_batches):
    with pytest.raises(KeyError, match="nope"):
        scgan.tl.score_structure(sim_batches, labels_key="nope")
    adata = sim_batches.copy()
    adata.obs["cell_type"] = adata.obs["cell_type"].astype(object)
    adata.obs.iloc[0, adata.obs.columns.get_loc("cell_type")] = None
    with pytest.raises(ValueError, match="missing values"):
        scgan.tl.score_structure(adata, labels_key="cell_type")


# --- score_table: the GAIN and MisGAN papers' protocols ---------------------------------------


@pytest.fixture
def truth():
    rng = np.random.default_rng(0)
    return rng.normal(size=(400, 3)) @ rng.normal(size=(3, 3)) * 5 + 10


def test_frechet_is_zero_for_the_data_and_sees_a_shift(truth):
    nothing = np.zeros(truth.shape, bool)
    assert scgan.tl.score_table(truth, truth, ~nothing)["frechet"] == pytest.approx(0, abs=1e-9)
    shifted = truth.copy()
    shifted[:, 1] += 0.1 * np.ptp(truth[:, 1])  # 0.1 of the column's range
    assert scgan.tl.score_table(shifted, truth, ~nothing)["frechet"] == pytest.approx(0.01)


def test_frechet_of_independent_columns_is_the_gap_in_spread():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(100_000, 2))
    narrow = truth * np.array([0.5, 1.0])  # first column keeps its mean, half its spread
    span = np.ptp(truth[:, 0])
    expected = (0.5 * truth[:, 0].std(ddof=1) / span) ** 2  # (σ_a − σ_b)² on the scaled column
    everything = np.ones(truth.shape, bool)
    assert scgan.tl.score_table(narrow, truth, everything)["frechet"] == pytest.approx(
        expected, rel=1e-3
    )


def test_rmse_scores_the_missing_entries_on_the_scaled_columns(truth):
    missing = np.zeros(truth.shape, dtype=bool)
    missing[:10, 0] = True
    imputed = truth.copy()
    imputed[missing] += 0.2 * np.ptp(truth[:, 0])
    imputed[~missing] += 1.0  # observed entries are not scored
    assert scgan.tl.score_table(imputed, truth, missing)["rmse"] == pytest.approx(0.2)
