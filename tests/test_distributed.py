"""Training on several processes: the same result as one, one clear error, clear refusals."""

import numpy as np
import pytest
import torch
import torch.distributed as dist

import scgan
from scgan import _distributed as distributed
from scgan._cli import main
from scgan._device import available_cores

pytestmark = pytest.mark.slow  # most tests start processes
two_cores = pytest.mark.skipif(available_cores() < 2, reason="needs two CPU cores")
SMALL = {"side": 6, "epochs": 2, "max_steps_per_epoch": 4, "device": "cpu", "progress": False}


def _impute(adata, **settings):
    adata = adata.copy()
    scgan.pp.impute_dropouts(adata, labels_key="cell_type", batch_key="batch", **settings)
    return adata


@two_cores
def test_two_processes_impute_as_one(sim_batches):
    one = _impute(sim_batches, **SMALL)
    two = _impute(sim_batches, devices=2, **SMALL)
    assert one.uns["scgan_imputed"]["params"]["groups"] >= 2  # split by parts, not by cells
    for layer in ("scgan_imputed", "scgan_imputed_std"):
        np.testing.assert_allclose(two.layers[layer], one.layers[layer], rtol=1e-5, atol=1e-5)
    a, b = (h.uns["scgan_imputed"]["history"] for h in (one, two))
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-5, atol=1e-7)


@two_cores
def test_fewer_parts_than_processes_splits_the_cells(sim_batches):
    settings = SMALL | {"n_repeats": 1, "side": 11}  # 120 genes: one part
    one = _impute(sim_batches, **settings)
    two = _impute(sim_batches, devices=2, **settings)
    assert two.uns["scgan_imputed"]["params"]["groups"] == 1
    observed = sim_batches.X.toarray() > 0
    imputed = two.layers["scgan_imputed"]
    np.testing.assert_array_equal(imputed[observed], sim_batches.X.toarray()[observed])
    assert np.isfinite(imputed).all() and (imputed >= 0).all()
    # data parallel: close to one process, not equal (losses are per process)
    correlation = np.corrcoef(imputed[~observed], one.layers["scgan_imputed"][~observed])[0, 1]
    assert correlation > 0.9


def _fail_in_second(process, arrays):
    if process.rank == 1:
        raise ValueError("bad things in the second process")
    dist.barrier()  # the first waits for the second, which never comes
    return {"never": torch.zeros(1)}


@two_cores
def test_a_failure_in_one_process_stops_all_with_one_error():
    with pytest.raises(distributed.DistributedError) as caught:
        distributed.run(_fail_in_second, 2, torch.device("cpu"), 1, {"x": torch.zeros(3)})
    message = str(caught.value)
    assert "process 1 of 2 failed with ValueError: bad things in the second process" in message


@two_cores
def test_command_stops_with_one_line_and_no_output(sim_batches, tmp_path, capsys):
    sim_batches.write_h5ad(tmp_path / "in.h5ad")
    code = main(
        [
            *["impute", str(tmp_path / "in.h5ad"), "-o", str(tmp_path / "out.h5ad")],
            *["--devices", "2", "--device", "cpu", "--labels-key", "cell_type", "--quiet"],
            *["--set", "side=6", "--set", "lr_generator=1e30", "--set", "adversary=1e30"],
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("scgan: error: process ") and "DivergenceError" in err[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.h5ad"]


def test_more_devices_than_the_machine_has_are_refused(sim_batches):
    adata = sim_batches.copy()
    too_many = available_cores() + 1
    with pytest.raises(ValueError, match=f"devices={too_many}, but this machine has"):
        scgan.pp.impute_dropouts(adata, labels_key="cell_type", device="cpu", devices=too_many)
    with pytest.raises(ValueError, match="must be a positive number"):
        scgan.Imputer(device="cpu", devices=0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            scgan.Imputer(device="cuda", devices=2)
    with pytest.raises(ValueError, match="trains on one device; 'began' trains on several"):
        scgan.Imputer("gain", device="cpu", devices=2)
    assert "scgan_imputed" not in adata.layers


def test_command_refuses_too_many_devices(sim_batches, tmp_path, capsys):
    sim_batches.write_h5ad(tmp_path / "in.h5ad")
    too_many = str(available_cores() + 1)
    code = main(
        [
            *["impute", str(tmp_path / "in.h5ad"), "-o", str(tmp_path / "out.h5ad")],
            *["--devices", too_many, "--device", "cpu"],
        ]
    )
    assert code == 1
    assert f"devices={too_many}, but this machine has" in capsys.readouterr().err
