import numpy as np
import pytest
import torch
from conftest import TINY

import scgan
from scgan._device import resolve_device

FAST = TINY["began"]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_auto_picks_what_is_there():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_cuda_without_gpu_says_what_to_do(sim_batches):
    adata = sim_batches.copy()
    with pytest.raises(ValueError, match="no CUDA GPU"):
        scgan.pp.impute_dropouts(adata, labels_key="cell_type", device="cuda", **FAST)
    assert "scgan_imputed" not in adata.layers


@needs_cuda
def test_cuda_run_matches_the_cpu_contract(sim_batches):
    adata = sim_batches.copy()
    scgan.pp.impute_dropouts(
        adata, labels_key="cell_type", batch_key="batch", device="cuda", **FAST
    )
    imputed = adata.layers["scgan_imputed"]
    assert adata.uns["scgan_imputed"]["params"]["device"].startswith("cuda")
    assert imputed.shape == adata.shape and np.isfinite(imputed).all() and (imputed >= 0).all()
    observed = adata.X.toarray()
    np.testing.assert_array_equal(imputed[observed > 0], observed[observed > 0])


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_two_gpus_impute_as_one(sim_batches):
    settings = {"labels_key": "cell_type", "device": "cuda", "side": 6, "epochs": 2}
    one, two = sim_batches.copy(), sim_batches.copy()
    scgan.pp.impute_dropouts(one, **settings)
    scgan.pp.impute_dropouts(two, devices=2, **settings)
    np.testing.assert_allclose(
        two.layers["scgan_imputed"], one.layers["scgan_imputed"], rtol=1e-3, atol=1e-3
    )
