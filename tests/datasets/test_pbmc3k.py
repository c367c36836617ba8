import importlib.util

import numpy as np
import pytest
from scipy import sparse

import scgan


@pytest.mark.skipif(
    importlib.util.find_spec("desc") is None,
    reason="needs the desc wheel's data (scripts/setup.sh installs it)",
)
def test_pbmc3k_is_the_raw_10x_matrix():
    adata = scgan.datasets.pbmc3k()
    assert adata.shape == (2700, 32738) and sparse.isspmatrix_csr(adata.X)
    assert np.all(adata.X.data == np.rint(adata.X.data)) and adata.X.nnz == 2_286_884


def test_pbmc3k_says_how_to_get_its_data(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install --no-deps desc"):
        scgan.datasets.pbmc3k()
