import numpy as np
import pytest

import scgan
from scgan._data import get_counts

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


def test_alra_is_seeded(sim_batches):
    counts = get_counts(sim_batches)
    a = scgan.tl.BASELINES["alra"](counts, labels=None, random_state=0)
    b = scgan.tl.BASELINES["alra"](counts, labels=None, random_state=0)
    np.testing.assert_array_equal(a, b)
