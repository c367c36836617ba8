"""Bad input gets a message that says what to do, and ``adata`` is exactly as before."""

import anndata
import numpy as np
import pandas as pd
import pytest
from conftest import TINY
from scipy import sparse

import scgan
from scgan._train import DivergenceError

FAST = TINY["began"]


@pytest.fixture
def adata(sim_batches):
    adata = sim_batches.copy()
    adata.layers["counts"] = adata.X.copy()
    adata.obsm["X_test"] = np.zeros((adata.n_obs, 2))
    return adata


def assert_unchanged(adata, snapshot):
    """Every part of ``adata`` equals the snapshot: matrices, layers, annotations, uns keys."""
    assert adata.shape == snapshot.shape
    for name in ("X", *snapshot.layers):
        before = snapshot.X if name == "X" else snapshot.layers[name]
        after = adata.X if name == "X" else adata.layers[name]
        before = before.toarray() if sparse.issparse(before) else before
        after = after.toarray() if sparse.issparse(after) else after
        np.testing.assert_array_equal(after, before)
    assert set(adata.layers) == set(snapshot.layers)
    pd.testing.assert_frame_equal(adata.obs, snapshot.obs)
    pd.testing.assert_frame_equal(adata.var, snapshot.var)
    assert set(adata.uns) == set(snapshot.uns) and set(adata.obsm) == set(snapshot.obsm)


def _set_entry(value):
    def change(adata):
        dense = adata.X.toarray()
        dense[0, 0] = value
        adata.X = dense

    return change


def _log_transform(adata):
    adata.X = np.log1p(adata.X.toarray())


def _missing_label(adata):
    labels = adata.obs["cell_type"].astype(object)
    labels.iloc[3] = None
    adata.obs["cell_type"] = labels


CASES = {
    "negative": (_set_entry(-1.0), {}, ValueError, "negative.*layer='counts'"),
    "non-integer": (_set_entry(0.5), {}, ValueError, "non-integer.*layer='counts'"),
    "log-transformed": (_log_transform, {}, ValueError, "log-transformed.*layer='counts'"),
    "NaN": (_set_entry(np.nan), {}, ValueError, "NaN"),
    "inf": (_set_entry(np.inf), {}, ValueError, "infinite"),
    "missing labels_key": (None, {"labels_key": "nope"}, KeyError, "obs\\['nope'\\] not found"),
    "missing batch_key": (None, {"batch_key": "nope"}, KeyError, "available columns"),
    "labels with missing values": (
        _missing_label,
        {"labels_key": "cell_type"},
        ValueError,
        "1 missing values; fill or drop",
    ),
    "single label": (
        lambda a: a.obs.__setitem__("one", "x"),
        {"labels_key": "one"},
        ValueError,
        "single category",
    ),
    "single batch": (
        lambda a: a.obs.__setitem__("one", "x"),
        {"batch_key": "one"},
        ValueError,
        "single category",
    ),
    "batches with missing values": (
        lambda a: a.obs.__setitem__(
            "gap", [None] + ["b1", "b2"] * ((a.n_obs - 1) // 2) + ["b1"] * ((a.n_obs - 1) % 2)
        ),
        {"batch_key": "gap"},
        ValueError,
        "obs\\['gap'\\] has 1 missing values",
    ),
    "target_batch not in data": (
        None,
        {"batch_key": "batch", "target_batch": "batch_9"},
        ValueError,
        "not a batch in the data; batches: \\['batch_1', 'batch_2'\\]",
    ),
    "target_batch without batch_key": (
        None,
        {"target_batch": "batch_1"},
        ValueError,
        "needs batch_key",
    ),
    "missing layer": (None, {"layer": "raw"}, KeyError, "available layers"),
    "repeated gene names": (
        lambda a: setattr(a, "var_names", [a.var_names[0], *a.var_names[:-1]]),
        {},
        ValueError,
        r"gene names repeat \(e.g. \['gene_0'\]\).*var_names_make_unique",
    ),
    "no counts at all": (
        lambda a: setattr(a, "X", sparse.csr_matrix(a.shape)),
        {},
        ValueError,
        "hold no non-zero value",
    ),
}


@pytest.mark.filterwarnings("ignore:Variable names are not unique")  # anndata's, for one case
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_and_adata_unchanged(adata, case):
    change, kwargs, error, match = CASES[case]
    if change is not None:
        change(adata)
    snapshot = adata.copy()
    with pytest.raises(error, match=match):
        scgan.pp.impute_dropouts(adata, **(FAST | kwargs))
    assert_unchanged(adata, snapshot)


def test_too_few_cells_is_refused(adata):
    small = adata[:8].copy()
    snapshot = small.copy()
    with pytest.raises(ValueError, match=r"only 8 cell\(s\): imputation needs at least 10"):
        scgan.pp.impute_dropouts(small, **FAST)
    assert_unchanged(small, snapshot)


def test_views_and_backed_anndata_are_refused(adata, tmp_path):
    view = adata[:100]
    with pytest.raises(ValueError, match=r"adata = adata\.copy\(\)"):
        scgan.pp.impute_dropouts(view, **FAST)
    assert view.is_view and "scgan_imputed" not in view.layers
    path = tmp_path / "data.h5ad"
    adata.write_h5ad(path)
    backed = anndata.read_h5ad(path, backed="r")
    with pytest.raises(ValueError, match="to_memory"):
        scgan.pp.impute_dropouts(backed, **FAST)
    backed.file.close()


@pytest.mark.parametrize("method", sorted(TINY))
def test_empty_cells_and_genes_give_zeros_not_nan(adata, method):
    dense = adata.X.toarray()
    dense[0, :] = 0
    dense[:, 0] = 0
    adata.X = sparse.csr_matrix(dense)
    with pytest.warns(UserWarning, match="have no counts and stay zero") as warned:
        scgan.pp.impute_dropouts(adata, method=method, labels_key="cell_type", **TINY[method])
    assert {w.filename for w in warned} == {__file__}  # the warnings point at the user's line
    imputed = adata.layers["scgan_imputed"]
    assert np.isfinite(imputed).all() and (imputed[0] == 0).all() and (imputed[:, 0] == 0).all()
    spread = adata.layers.get("scgan_imputed_std")  # GAIN and MisGAN give none
    assert (spread is None) == (method in ("gain", "misgan"))
    assert spread is None or np.isfinite(spread).all()


def test_divergence_stops_with_the_step_and_a_suggestion(adata, monkeypatch):
    from scgan.models.began import _plan

    monkeypatch.setattr(_plan, "poisson_loss", lambda log_mean, y: log_mean * float("nan"))
    snapshot = adata.copy()
    with pytest.raises(DivergenceError, match="at step 0; lower the learning rates"):
        scgan.pp.impute_dropouts(adata, labels_key="cell_type", **FAST)
    assert_unchanged(adata, snapshot)


def test_imputing_too_few_new_cells_is_refused(adata):
    imputer = scgan.Imputer(labels_key="cell_type", **FAST).fit(adata)
    one = adata[:1].copy()
    with pytest.raises(ValueError, match=r"only 1 cell\(s\)"):
        imputer.impute(one)
    assert "scgan_imputed" not in one.layers
