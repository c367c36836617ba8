import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY

import scgan
from scgan.models.scigans._model import ScIGANsConfig, ScIGANsImputer, _nearest_median
from scgan.models.scigans._module import Discriminator, Generator

FAST = TINY["scigans"]


@pytest.mark.parametrize("side", [5, 11, 16])
def test_module_shapes(side):
    G, D = Generator(side, 3, latent_dim=8), Discriminator(side, 3)
    one_hot = torch.eye(3)[[0, 1, 2, 1]]
    image = G(torch.randn(4, 8), one_hot)
    assert image.shape == (4, 1, side, side)
    assert ((image >= 0) & (image <= 1)).all()
    assert D(image, one_hot).shape == image.shape


def test_impute_fills_only_zeros_and_keeps_shape(sim_batches):
    adata = sim_batches.copy()
    scgan.pp.impute_dropouts(adata, method="scigans", labels_key="cell_type", **FAST)
    imputed = adata.layers["scgan_imputed"]
    observed = adata.X.toarray()
    assert imputed.shape == adata.shape
    assert np.isfinite(imputed).all() and (imputed >= 0).all()
    np.testing.assert_array_equal(imputed[observed > 0], observed[observed > 0])
    assert (imputed[observed == 0] > 0).any()
    params = adata.uns["scgan_imputed"]["params"]
    assert params["image_side"] == int(np.ceil(np.sqrt(adata.n_vars)))
    assert set(adata.uns["scgan_imputed"]["history"]) >= {"real", "fake", "k_t", "M"}
    assert len(adata.uns["scgan_imputed"]["history"]["M"]) == FAST["epochs"]


def test_all_zero_cell_stays_zero_without_nan(sim_batches):
    counts = sim_batches.X.toarray()
    counts[0] = 0
    labels = sim_batches.obs["cell_type"].cat.codes.to_numpy()[:, None]
    model = ScIGANsImputer(ScIGANsConfig(**FAST), device="cpu").fit(counts, labels)
    imputation = model.impute(counts, labels)
    imputed, spread = imputation.mean, imputation.spread
    assert np.isfinite(imputed).all() and np.isfinite(spread).all()
    assert (imputed[0] == 0).all()


def test_cells_are_matched_to_their_own_class(sim_batches, monkeypatch):
    counts = sim_batches.X.toarray()
    labels = sim_batches.obs["cell_type"].cat.codes.to_numpy()[:, None]
    model = ScIGANsImputer(ScIGANsConfig(**FAST), device="cpu").fit(counts, labels)
    # generated cells of class c are the constant c + 1, so a fill reveals its class
    constant = lambda label, n, generator: np.full((n, model.side_**2), label + 1.0)  # noqa: E731
    monkeypatch.setattr(model, "_generate", constant)
    imputed = model.impute(counts, labels).mean
    maxima = counts.max(axis=1)
    zeros = counts == 0
    for cell in range(len(counts)):
        fill = imputed[cell][zeros[cell]] / maxima[cell]
        np.testing.assert_allclose(fill, labels[cell, 0] + 1.0)


def test_nearest_median_uses_only_nonzero_genes():
    cells = np.array([[1.0, 0.0, 0.0]])
    generated = np.array([[1.0, 9.0, 9.0], [0.0, 0.0, 0.0], [1.0, 5.0, 7.0]])
    median, std = _nearest_median(cells, generated, k=2)
    # distance over gene 0 only: generated 0 and 2 tie at 0, generated 1 is at 1
    np.testing.assert_allclose(median, [[1.0, 7.0, 8.0]])
    np.testing.assert_allclose(std, [[0.0, 2.0, 1.0]])


def test_batches_are_ignored_and_target_batch_refused(sim_batches):
    adata = sim_batches.copy()
    with pytest.warns(UserWarning, match="does not use batches"):
        scgan.pp.impute_dropouts(
            adata, method="scigans", labels_key="cell_type", batch_key="batch", **FAST
        )
    with pytest.raises(ValueError, match="target_batch"):
        scgan.pp.impute_dropouts(
            adata, method="scigans", batch_key="batch", target_batch="batch_1", **FAST
        )


def test_same_seed_same_result(sim_batches):
    runs = [
        scgan.pp.impute_dropouts(
            sim_batches, method="scigans", labels_key="cell_type", copy=True, **FAST
        ).layers["scgan_imputed"]
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*runs)


def test_read_scigans_round_trip(tmp_path, sim_batches):
    adata = sim_batches[:30, :20].copy()
    table = adata.to_df().T
    table.index.name = "Gene_ID"
    matrix, labels = tmp_path / "counts.txt", tmp_path / "labels.txt"
    table.to_csv(matrix, sep="\t")
    adata.obs["cell_type"].to_csv(labels, sep="\t", header=False, index=False)
    read = scgan.datasets.read_scigans(matrix, labels)
    np.testing.assert_array_equal(read.X.toarray(), adata.X.toarray())
    assert list(read.obs_names) == list(adata.obs_names)
    assert list(read.var_names) == list(adata.var_names)
    assert list(read.obs["label"]) == list(adata.obs["cell_type"].astype(str))
    back = pd.read_csv(matrix, sep="\t", index_col=0)
    assert back.shape == (20, 30)


def test_read_scigans_checks_label_count(tmp_path):
    matrix, labels = tmp_path / "m.txt", tmp_path / "l.txt"
    matrix.write_text("gene\tc1\tc2\ng1\t1\t0\n")
    labels.write_text("a\n")
    with pytest.raises(ValueError, match="one label per cell"):
        scgan.datasets.read_scigans(matrix, labels)


def test_config_rejects_k_above_generated_and_single_cell_batches():
    with pytest.raises(ValueError, match="cannot exceed"):
        ScIGANsConfig(k=20, n_generated=10)
    with pytest.raises(ValueError, match="batch normalisation needs 2 cells"):
        ScIGANsConfig(batch_size=1)


def test_denoising_is_refused(sim_batches):
    with pytest.raises(ValueError, match="only fills zeros"):
        scgan.pp.impute_dropouts(
            sim_batches.copy(), method="scigans", labels_key="cell_type", only_zeros=False, **FAST
        )
