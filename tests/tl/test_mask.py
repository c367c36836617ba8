import numpy as np
import pytest
from scipy import sparse

import scgan


@pytest.mark.parametrize("fraction", [0.1, 0.25])
def test_mask_hides_exactly_the_fraction(pbmc, fraction):
    before = pbmc.X.copy()
    masked = scgan.tl.mask_nonzeros(pbmc, fraction=fraction, random_state=1)
    record = masked.uns["scgan_mask"]
    rows, cols = record["rows"], record["cols"]
    assert len(rows) == round(fraction * before.nnz)
    assert len(set(zip(rows, cols, strict=True))) == len(rows)  # no entry twice
    original = before.toarray()
    np.testing.assert_array_equal(record["values"], original[rows, cols])
    after = masked.X.toarray()
    assert (after[rows, cols] == 0).all()
    untouched = np.ones_like(original, dtype=bool)
    untouched[rows, cols] = False
    np.testing.assert_array_equal(after[untouched], original[untouched])
    assert masked.X.nnz == before.nnz - len(rows)
    assert (pbmc.X != before).nnz == 0  # input untouched


def test_mask_is_seeded(pbmc):
    a = scgan.tl.mask_nonzeros(pbmc, random_state=4).uns["scgan_mask"]["rows"]
    b = scgan.tl.mask_nonzeros(pbmc, random_state=4).uns["scgan_mask"]["rows"]
    c = scgan.tl.mask_nonzeros(pbmc, random_state=5).uns["scgan_mask"]["rows"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_mask_reads_and_writes_the_layer(sim_batches):
    adata = sim_batches.copy()
    adata.layers["counts"] = adata.X.copy()
    adata.X = sparse.csr_matrix(np.log1p(adata.X.toarray()))
    masked = scgan.tl.mask_nonzeros(adata, layer="counts")
    assert masked.uns["scgan_mask"]["layer"] == "counts"
    assert masked.layers["counts"].nnz < adata.layers["counts"].nnz
    assert (masked.X != adata.X).nnz == 0


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1e-9])
def test_mask_rejects_bad_fraction(pbmc, fraction):
    with pytest.raises(ValueError, match="fraction"):
        scgan.tl.mask_nonzeros(pbmc, fraction=fraction)
