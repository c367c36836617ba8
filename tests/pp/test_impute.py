import numpy as np
import pytest
from conftest import TINY
from scipy import sparse

import scgan

FAST = TINY["began"]


@pytest.fixture
def adata(sim_batches):
    return sim_batches.copy()


def test_writes_layers_and_uns_and_leaves_x_alone(adata):
    before = adata.X.copy()
    result = scgan.pp.impute_dropouts(adata, labels_key="cell_type", batch_key="batch", **FAST)
    assert result is None
    assert (adata.X != before).nnz == 0
    imputed, std = adata.layers["scgan_imputed"], adata.layers["scgan_imputed_std"]
    assert imputed.shape == std.shape == adata.shape
    assert np.isfinite(imputed).all() and (imputed >= 0).all()
    observed = before.toarray()
    np.testing.assert_array_equal(
        imputed[observed > 0], observed[observed > 0]
    )  # only zeros filled
    assert (std[observed > 0] == 0).all()
    record = adata.uns["scgan_imputed"]
    assert record["labels"] == {
        "key": "cell_type",
        "derived": False,
        "categories": ["type_1", "type_2", "type_3"],
    }
    assert record["batch"]["key"] == "batch"
    assert record["params"]["n_repeats"] == 2 and "dropout_q_used" in record["params"]
    assert {"likelihood", "validation_seen", "validation_blind"} <= set(record["history"])
    assert 0 < record["params"]["validation"]["cells"] <= adata.n_obs
    assert imputed.dtype == std.dtype == np.float32


def test_copy_and_key_added(adata):
    out = scgan.pp.impute_dropouts(
        adata, labels_key="cell_type", key_added="imp", copy=True, **FAST
    )
    assert "imp" in out.layers and "imp" in out.uns
    assert "imp" not in adata.layers and "imp" not in adata.uns


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])  # the formats AnnData stores
def test_input_formats_and_layer(adata, fmt):
    counts = adata.X.toarray()
    adata.layers["counts"] = counts if fmt == "dense" else getattr(sparse, f"{fmt}_matrix")(counts)
    adata.X = np.log1p(counts)  # not counts: must not be read
    scgan.pp.impute_dropouts(adata, layer="counts", labels_key="cell_type", **FAST)
    assert adata.uns["scgan_imputed"]["layer"] == "counts"
    np.testing.assert_array_equal(adata.X, np.log1p(counts))


def test_same_seed_same_result(adata):
    a = scgan.pp.impute_dropouts(adata, labels_key="cell_type", copy=True, random_state=3, **FAST)
    b = scgan.pp.impute_dropouts(adata, labels_key="cell_type", copy=True, random_state=3, **FAST)
    c = scgan.pp.impute_dropouts(adata, labels_key="cell_type", copy=True, random_state=4, **FAST)
    np.testing.assert_array_equal(a.layers["scgan_imputed"], b.layers["scgan_imputed"])
    assert not np.array_equal(a.layers["scgan_imputed"], c.layers["scgan_imputed"])


def test_only_zeros_false_denoises(adata):
    scgan.pp.impute_dropouts(adata, labels_key="cell_type", only_zeros=False, **FAST)
    scgan.pp.impute_dropouts(adata, labels_key="cell_type", key_added="filled", **FAST)
    observed = adata.X.toarray()
    denoised, filled = adata.layers["scgan_imputed"], adata.layers["filled"]
    assert not np.array_equal(denoised[observed > 0], observed[observed > 0])
    zeros = observed == 0
    assert (denoised[zeros] > 0).all() and (filled[zeros] > 0).all()
    # a zero seen is evidence: the denoised value lies below the blind fill on average
    assert denoised[zeros].mean() < filled[zeros].mean()
    np.testing.assert_array_equal(filled[~zeros], observed[~zeros])


def test_labels_are_derived_and_recorded(adata):
    scgan.pp.impute_dropouts(adata, **FAST)
    labels = adata.uns["scgan_imputed"]["labels"]
    assert labels["derived"] and labels["key"] is None
    assert len(labels["codes"]) == adata.n_obs and len(labels["categories"]) >= 2


def test_target_batch_changes_only_the_condition(adata):
    plain = scgan.pp.impute_dropouts(
        adata, labels_key="cell_type", batch_key="batch", copy=True, **FAST
    )
    moved = scgan.pp.impute_dropouts(
        adata, labels_key="cell_type", batch_key="batch", target_batch="batch_1", copy=True, **FAST
    )
    assert moved.uns["scgan_imputed"]["target_batch"] == "batch_1"
    in_b1 = (adata.obs["batch"] == "batch_1").to_numpy()
    np.testing.assert_allclose(
        moved.layers["scgan_imputed"][in_b1], plain.layers["scgan_imputed"][in_b1], rtol=1e-5
    )
    assert not np.allclose(
        moved.layers["scgan_imputed"][~in_b1], plain.layers["scgan_imputed"][~in_b1]
    )


def test_empty_gene_stays_zero(adata):
    dense = adata.X.toarray()
    dense[:, 0] = 0
    adata.X = sparse.csr_matrix(dense)
    with pytest.warns(UserWarning, match=r"gene\(s\) have no counts"):
        scgan.pp.impute_dropouts(adata, labels_key="cell_type", **FAST)
    assert (adata.layers["scgan_imputed"][:, 0] == 0).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"labels_key": "nope"}, KeyError, "nope"),
        ({"batch_key": "batch", "target_batch": "batch_9"}, ValueError, "not a batch"),
        ({"target_batch": "batch_1"}, ValueError, "needs batch_key"),
        ({"method": "nope"}, ValueError, "unknown method"),
        ({"not_a_setting": 1}, TypeError, "no setting"),
        ({"labels_key": "one"}, ValueError, "single category"),
        ({"layer": "missing"}, KeyError, "missing"),
    ],
)
def test_bad_arguments_fail_cleanly(adata, kwargs, error, match):
    adata.obs["one"] = "a"
    snapshot = adata.copy()
    with pytest.raises(error, match=match):
        scgan.pp.impute_dropouts(adata, **(FAST | kwargs))
    assert set(adata.layers) == set(snapshot.layers) and set(adata.uns) == set(snapshot.uns)
    assert (adata.X != snapshot.X).nnz == 0


@pytest.mark.parametrize(
    ("values", "match"),
    [(-1.0, "negative"), (0.5, "non-integer"), (np.nan, "NaN"), (np.inf, "NaN or infinite")],
)
def test_non_counts_are_refused(adata, values, match):
    dense = adata.X.toarray()
    dense[0, 0] = values
    adata.X = dense
    with pytest.raises(ValueError, match=match):
        scgan.pp.impute_dropouts(adata, **FAST)
    assert "scgan_imputed" not in adata.layers


def test_too_few_cells():
    tiny = scgan.datasets.simulate(8, 20, random_state=0)
    with pytest.raises(ValueError, match="at least 10 cells"):
        scgan.pp.impute_dropouts(tiny, **FAST)


def test_failure_during_training_leaves_adata_unchanged(adata, monkeypatch):
    from scgan._train import DivergenceError

    def diverge(*_, **__):
        raise DivergenceError("training diverged at step 3")

    monkeypatch.setattr("scgan.models.began._shards.train", diverge)
    snapshot = adata.copy()
    with pytest.raises(DivergenceError, match="step 3"):
        scgan.pp.impute_dropouts(adata, labels_key="cell_type", **FAST)
    assert set(adata.layers) == set(snapshot.layers) and set(adata.uns) == set(snapshot.uns)
    assert (adata.X != snapshot.X).nnz == 0


def test_unconditional_model_refuses_target_batch(adata):
    with pytest.raises(ValueError, match="conditional"):
        scgan.pp.impute_dropouts(
            adata, batch_key="batch", target_batch="batch_1", conditional=False, **FAST
        )
    scgan.pp.impute_dropouts(adata, conditional=False, **FAST)  # no labels derived, none needed
    assert adata.uns["scgan_imputed"]["labels"] is None


def test_near_integers_are_not_counts(adata):
    dense = adata.X.toarray()
    dense[0, 0] = 100000.4
    adata.X = dense
    with pytest.raises(ValueError, match="non-integer"):
        scgan.pp.impute_dropouts(adata, **FAST)
