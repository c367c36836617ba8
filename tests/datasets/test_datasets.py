import numpy as np
import pytest

import scgan


def test_pbmc68k_counts(pbmc):
    assert pbmc.shape == (700, 765)
    values = pbmc.X.data
    assert (values > 0).all()
    np.testing.assert_array_equal(values, np.rint(values))
    assert pbmc.obs["bulk_labels"].nunique() == 10
    # log-normalising the recovered counts with the original library sizes gives raw.X back
    raw = scgan.datasets._pbmc68k.sc.datasets.pbmc68k_reduced().raw.X.toarray()
    lib = pbmc.obs["n_counts"].to_numpy()[:, None]
    np.testing.assert_allclose(np.log1p(pbmc.X.toarray() / lib * 1e4), raw, atol=0.05)


def test_simulate_is_reproducible():
    a = scgan.datasets.simulate(150, 80, n_batches=2, random_state=7)
    b = scgan.datasets.simulate(150, 80, n_batches=2, random_state=7)
    c = scgan.datasets.simulate(150, 80, n_batches=2, random_state=8)
    assert (a.X != b.X).nnz == 0
    assert (a.layers["true_counts"] != b.layers["true_counts"]).nnz == 0
    assert (a.obs == b.obs).all().all()
    assert (a.X != c.X).nnz > 0


def test_simulate_contents(sim_batches):
    adata = sim_batches
    assert adata.shape[0] == 240 and adata.shape[1] <= 120
    assert set(adata.obs["cell_type"].cat.categories) == {"type_1", "type_2", "type_3"}
    assert adata.obs["batch"].nunique() == 2
    observed, true = adata.X.toarray(), adata.layers["true_counts"].toarray()
    assert (observed <= true).all()
    assert ((observed == true) | (observed == 0)).all()  # dropout only zeroes counts
    assert 0 < ((true > 0) & (observed == 0)).sum()
    assert adata.uns["scgan_simulation"]["random_state"] == 3


def test_dropout_rate_falls_as_expression_rises():
    adata = scgan.datasets.simulate(1000, 400, random_state=0)
    observed, true = adata.X.toarray(), adata.layers["true_counts"].toarray()
    expressed = true > 0
    log_mean = np.log(true.mean(axis=0) + 1e-3)
    bins = np.quantile(log_mean, np.linspace(0, 1, 6))
    which = np.clip(np.digitize(log_mean, bins[1:-1]), 0, 4)
    rates = [
        ((observed[:, which == b] == 0) & expressed[:, which == b]).sum()
        / expressed[:, which == b].sum()
        for b in range(5)
    ]
    assert all(np.diff(rates) < 0), rates
    assert rates[0] > 0.5 > rates[-1]


def test_simulate_batches_shift_expression():
    adata = scgan.datasets.simulate(2000, 200, n_cell_types=1, n_batches=2, random_state=1)
    true = adata.layers["true_counts"].toarray()
    norm = true / true.sum(axis=1, keepdims=True)
    b1 = norm[adata.obs["batch"] == "batch_1"].mean(axis=0)
    b2 = norm[adata.obs["batch"] == "batch_2"].mean(axis=0)
    expressed = (adata.var["gene_mean"] > 2).to_numpy() & (b1 > 0) & (b2 > 0)
    ratio = np.log(b1[expressed] / b2[expressed])
    assert ratio.std() > 0.2  # log-normal batch factors with sd 0.3 on each batch


def test_simulate_rejects_bad_parameters():
    with pytest.raises(ValueError, match="dropout_steepness"):
        scgan.datasets.simulate(10, 10, dropout_steepness=-1)
    with pytest.raises(ValueError, match="n_cells"):
        scgan.datasets.simulate(0, 10)
    with pytest.raises(TypeError):
        scgan.datasets.simulate(10, 10, not_a_parameter=1)
