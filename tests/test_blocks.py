"""Counts read from a file or dask a block of rows at a time; imputations written the same way."""

import shutil

import anndata as ad
import dask.array
import numpy as np
import pytest
from conftest import TINY

import scgan
from scgan._anndata import _read
from scgan.models.began import _model as began_model

FAST = TINY["began"] | {"device": "cpu", "progress": False}


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few rows, so that every path reads and writes many of them."""
    monkeypatch.setattr(_read, "READ_ENTRIES", 37 * 116)
    monkeypatch.setattr(began_model, "CHUNK_ENTRIES", 16 * 116)
    monkeypatch.setattr(began_model, "BLOCK_ENTRIES", 3 * 16 * 116)


@pytest.mark.parametrize("dense", [False, True])
def test_backed_and_dask_counts_are_the_rows_in_memory(sim_batches, tmp_path, small_blocks, dense):
    adata = sim_batches.copy()
    if dense:
        adata.X = adata.X.toarray()
    expected = _read.get_counts(adata)
    adata.write_h5ad(tmp_path / "in.h5ad")
    backed = ad.read_h5ad(tmp_path / "in.h5ad", backed="r")
    assert not isinstance(backed.X, np.ndarray)
    lazy = sim_batches.copy()
    lazy.X = dask.array.from_array(sim_batches.X.toarray(), chunks=(50, -1))
    for source in (backed, lazy):
        counts = _read.get_counts(source)
        assert (counts != expected).nnz == 0 and counts.dtype == np.float32
        assert np.array_equal(counts.indptr, expected.indptr)
    backed.file.close()


def test_written_to_a_file_block_by_block_as_in_memory(sim_batches, tmp_path, small_blocks):
    expected = sim_batches.copy()
    settings = {"labels_key": "cell_type", "batch_key": "batch", **FAST}
    scgan.pp.impute_dropouts(expected, **settings)
    sim_batches.write_h5ad(tmp_path / "in.h5ad")
    shutil.copyfile(tmp_path / "in.h5ad", tmp_path / "out.h5ad")
    backed = ad.read_h5ad(tmp_path / "in.h5ad", backed="r")
    imputer = scgan.Imputer(**settings)
    assert imputer.fit_impute(backed, write_to=tmp_path / "out.h5ad") is None
    written = ad.read_h5ad(tmp_path / "out.h5ad")
    for layer in ("scgan_imputed", "scgan_imputed_std"):
        np.testing.assert_array_equal(written.layers[layer], expected.layers[layer])
    written_record, expected_record = written.uns["scgan_imputed"], expected.uns["scgan_imputed"]
    assert written_record["params"]["best_epoch"] == expected_record["params"]["best_epoch"]
    for name, values in expected_record["history"].items():
        np.testing.assert_array_equal(written_record["history"][name], values)
    assert (written.X != sim_batches.X).nnz == 0

    # new cells with their genes in another order, into the same file: replaced, not added
    shuffled = sim_batches[:, ::-1].copy()
    shuffled.write_h5ad(tmp_path / "shuffled.h5ad")
    shutil.copyfile(tmp_path / "shuffled.h5ad", tmp_path / "shuffled_out.h5ad")
    imputer.impute(shuffled, write_to=tmp_path / "shuffled_out.h5ad")
    imputer.impute(shuffled)
    reread = ad.read_h5ad(tmp_path / "shuffled_out.h5ad")
    np.testing.assert_array_equal(reread.layers["scgan_imputed"], shuffled.layers["scgan_imputed"])
    backed.file.close()


def test_a_backed_adata_needs_a_file_to_write_to(sim_batches, tmp_path):
    sim_batches.write_h5ad(tmp_path / "in.h5ad")
    backed = ad.read_h5ad(tmp_path / "in.h5ad", backed="r")
    settings = {"labels_key": "cell_type", **FAST}
    with pytest.raises(ValueError, match="pass write_to="):
        scgan.pp.impute_dropouts(backed, **settings)
    with pytest.raises(FileNotFoundError, match="is not a file"):
        scgan.pp.impute_dropouts(backed, write_to=tmp_path / "nothing.h5ad", **settings)
    with pytest.raises(ValueError, match="copy=True"):
        scgan.pp.impute_dropouts(backed, write_to=tmp_path / "in.h5ad", copy=True, **settings)
    other = sim_batches[:50].copy()
    other.write_h5ad(tmp_path / "other.h5ad")
    with pytest.raises(ValueError, match="not the 240 × 116 imputed"):
        scgan.pp.impute_dropouts(backed, write_to=tmp_path / "other.h5ad", **settings)
    assert "scgan_imputed" not in ad.read_h5ad(tmp_path / "other.h5ad").layers
    backed.file.close()
