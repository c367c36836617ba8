import numpy as np
import pytest

import scgan
from scgan._anndata import get_counts

OPTIONAL = {"magic": "magic", "scvi": "scvi"}
KWARGS = {"scvi": {"max_epochs": 2}}


@pytest.mark.parametrize("method", sorted(scgan.tl.BASELINES))
def test_baseline_returns_counts_of_input_shape(sim_batches, method):
    if method in OPTIONAL:
        pytest.importorskip(OPTIONAL[method], reason=f"{method} needs its optional package")
    masked = scgan.tl.mask_nonzeros(sim_batches, fraction=0.1)
    counts = get_counts(masked)
    labels = masked.obs["cell_type"].astype(str).to_numpy()
    imputer = scgan.tl.BASELINES[method]
    out = imputer(counts, labels=labels, random_state=0, **KWARGS.get(method, {}))
    assert out.shape == masked.shape
    assert np.isfinite(out).all()
    assert (out >= 0).all()
    if method != "none":
        record = masked.uns["scgan_mask"]
        assert out[record["rows"], record["cols"]].mean() > 0  # hidden entries get filled


def test_celltype_mean_fills_only_zeros(sim_batches):
    counts = get_counts(sim_batches)
    labels = sim_batches.obs["cell_type"].astype(str).to_numpy()
    out = scgan.tl.BASELINES["celltype_mean"](counts, labels=labels, random_state=0)
    observed = counts.toarray()
    np.testing.assert_array_equal(out[observed > 0], observed[observed > 0])
    # a zero is filled with its type's mean fraction times the cell's library
    lib = observed.sum(axis=1)
    cells = labels == labels[0]
    gene = np.flatnonzero(observed[0] == 0)[0]
    expected = (observed[cells, gene] / lib[cells]).mean() * lib[0]
    assert out[0, gene] == pytest.approx(expected)


def test_celltype_mean_needs_labels(sim_batches):
    with pytest.raises(ValueError, match="labels_key"):
        scgan.tl.BASELINES["celltype_mean"](get_counts(sim_batches), labels=None, random_state=0)


def test_impute_baseline_follows_scanpy_contract(sim_batches):
    adata = sim_batches.copy()
    before = adata.X.copy()
    assert scgan.tl.impute_baseline(adata, method="alra") is None
    assert "imputed_alra" in adata.layers
    assert (adata.X != before).nnz == 0
    copy = scgan.tl.impute_baseline(adata, method="none", key_added="raw_again", copy=True)
    assert "raw_again" in copy.layers and "raw_again" not in adata.layers
    with pytest.raises(ValueError, match="unknown baseline"):
        scgan.tl.impute_baseline(adata, method="nope")


def test_impute_baseline_hands_batches_and_target_to_the_baseline(sim_batches, monkeypatch):
    calls = []

    def record(counts, *, labels, batches, random_state, **options):
        calls.append((batches, options))
        return counts.toarray()

    monkeypatch.setitem(scgan.tl.BASELINES, "scvi", record)
    adata = sim_batches.copy()
    target = str(adata.obs["batch"].iloc[0])
    scgan.tl.impute_baseline(adata, method="scvi", batch_key="batch", target_batch=target)
    batches, options = calls[0]
    np.testing.assert_array_equal(batches, adata.obs["batch"].astype(str).to_numpy())
    assert options == {"target_batch": target}
    layers = set(adata.layers)
    for method, batch_key in (("alra", "batch"), ("scvi", None)):
        with pytest.raises(ValueError, match="target_batch needs method='scvi' and batch_key"):
            scgan.tl.impute_baseline(adata, method=method, batch_key=batch_key, target_batch=target)
        assert set(adata.layers) == layers


def test_alra_is_seeded(sim_batches):
    counts = get_counts(sim_batches)
    a = scgan.tl.BASELINES["alra"](counts, labels=None, random_state=0)
    b = scgan.tl.BASELINES["alra"](counts, labels=None, random_state=0)
    np.testing.assert_array_equal(a, b)


def test_alra_rank_takes_the_noise_gaps_of_alras_r_code():
    from scgan.tl._baselines import _alra_rank

    rng = np.random.default_rng(0)
    gaps = np.abs(rng.normal(0.01, 0.002, 99))
    gaps[0], gaps[5], gaps[78] = 1.0, 0.039, 0.03  # gap 79 (1-based) is ALRA's first noise gap
    singular_values = 3.0 - np.concatenate([[0.0], np.cumsum(gaps)])

    def choose_k(s):  # ALRA's R code, 1-based: noise_svals <- 80:100; diffs[noise_svals - 1]
        diffs = s[:-1] - s[1:]
        noise = diffs[np.arange(80, 101) - 1 - 1]
        z = (diffs - noise.mean()) / noise.std(ddof=1)
        return int(np.flatnonzero(z > 6).max()) + 1

    assert _alra_rank(singular_values) == choose_k(singular_values) == 1  # 6 without gap 79


def test_knn_smoothing_sums_cells_of_the_same_type():
    rng = np.random.default_rng(0)
    types = np.repeat(np.arange(3), 40)
    rates = np.full((len(types), 30), 0.5)
    for t in range(3):
        rates[types == t, t * 10 : t * 10 + 10] = 20.0
    counts = rng.poisson(rates).astype(np.float64)
    smoothed = scgan.tl.BASELINES["knn_smoothing"](counts, k=15)
    block_share = np.stack([smoothed[:, t * 10 : t * 10 + 10].sum(1) for t in range(3)], 1)
    assert (block_share.argmax(axis=1) == types).all()
    # summing 16 cells of one type averages out noise: within-type spread shrinks
    own = [smoothed[types == t, t * 10 : t * 10 + 10] for t in range(3)]
    raw = [counts[types == t, t * 10 : t * 10 + 10] for t in range(3)]
    assert np.mean([o.std(0).mean() for o in own]) < 0.5 * np.mean([r.std(0).mean() for r in raw])


def test_knn_hurdle_is_the_neighbourhood_share_times_its_value(sim_batches):
    from scgan._data import normalise_log
    from scgan._neighbours import nearest_neighbours

    counts = get_counts(sim_batches)
    out = scgan.tl.BASELINES["knn_hurdle"](counts, labels=None, random_state=0, k=5)
    log_norm = normalise_log(counts).toarray()
    others = nearest_neighbours(normalise_log(counts).astype(np.float32), 5)
    rate = (log_norm > 0).mean(axis=0)
    library = counts.toarray().sum(axis=1)
    for cell, gene in [(0, 0), (3, 7), (10, 2)]:
        values = log_norm[np.r_[cell, others[cell]], gene]
        expressing = values[values > 0]
        value = (
            expressing.mean()
            if len(expressing)
            else log_norm[:, gene].sum() / (log_norm[:, gene] > 0).sum()
        )
        share = (len(expressing) + rate[gene]) / 7
        expected = np.expm1(share * value) * library[cell] / 1e4
        assert out[cell, gene] == pytest.approx(expected, rel=1e-5)


def test_scvi_moves_the_other_batches_to_the_target(sim_batches):
    pytest.importorskip("scvi", reason="scvi needs its optional package")
    scvi = scgan.tl.BASELINES["scvi"]
    counts = get_counts(sim_batches)
    batches = sim_batches.obs["batch"].astype(str).to_numpy()
    target = batches[0]
    own = scvi(counts, batches=batches, max_epochs=2)
    moved = scvi(counts, batches=batches, max_epochs=2, target_batch=target)
    in_target = batches == target
    np.testing.assert_allclose(moved[in_target], own[in_target], rtol=1e-5)
    assert not np.allclose(moved[~in_target], own[~in_target])


def test_scvi_refuses_a_target_outside_the_batches(sim_batches):
    scvi = scgan.tl.BASELINES["scvi"]
    counts = get_counts(sim_batches)
    batches = sim_batches.obs["batch"].astype(str).to_numpy()
    with pytest.raises(ValueError, match="choose one of"):
        scvi(counts, batches=batches, target_batch="no such batch")
    with pytest.raises(ValueError, match="needs the batches"):
        scvi(counts, target_batch=batches[0])
