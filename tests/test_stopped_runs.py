"""Runs stopped from outside, in real processes: SIGTERM cleans up, SIGKILL's leftovers go next time.

Each test starts Python (the command, or a script using the API) and sends it
a real signal; nothing here mocks a signal.
"""

import signal
import subprocess
import sys
import textwrap
import time

import anndata
import h5py
import pytest

import scgan
from scgan._cli import main
from scgan._device import available_cores

pytestmark = pytest.mark.slow  # each test starts Python, and most train

LONG = ["--set", "side=4", "--set", "epochs=100000", "--set", "patience=100000"]
FAST = ["--set", "side=4", "--set", "epochs=1", "--set", "n_repeats=1"]
TERMINATED = "scgan: terminated; no output was written"


@pytest.fixture
def files(sim_batches, tmp_path):
    sim_batches.write_h5ad(tmp_path / "in.h5ad")
    return tmp_path


def _command(files, *options):
    args = ["impute", str(files / "in.h5ad"), "-o", str(files / "out.h5ad")]
    return [*args, "--labels-key", "cell_type", "--threads", "1", "--device", "cpu", *options]


def _start_and_signal(files, sig):
    """Start a long ``scgan impute``, send ``sig`` once it trains; its exit status and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scgan", *_command(files, *LONG)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(
            signal.SIGINT, signal.SIG_DFL
        ),  # even from a background job
    )
    deadline = time.monotonic() + 120
    while not _partials(files) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert _partials(files), "the command never started writing"
    time.sleep(2)  # the input is copied; training runs
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def _partials(folder):
    return sorted(p.name for p in folder.iterdir() if ".scgan-partial-" in p.name)


def test_sigterm_ends_the_command_with_one_line_and_no_file(files):
    code, err = _start_and_signal(files, signal.SIGTERM)
    assert code == -signal.SIGTERM
    assert err.strip().splitlines()[-1] == TERMINATED
    assert sorted(p.name for p in files.iterdir()) == ["in.h5ad"]


def test_ctrl_c_ends_the_command_with_one_line_and_no_file(files):
    code, err = _start_and_signal(files, signal.SIGINT)
    assert code == 130
    assert err.strip().splitlines()[-1] == "scgan: interrupted; no output was written"
    assert sorted(p.name for p in files.iterdir()) == ["in.h5ad"]


def test_the_next_run_removes_the_file_a_killed_run_left(files, capsys):
    code, _ = _start_and_signal(files, signal.SIGKILL)
    assert code == -signal.SIGKILL
    (left,) = _partials(files)
    assert left.startswith("out.h5ad.scgan-partial-") and left.endswith(".h5ad")  # says what it is
    assert main(_command(files, *FAST)) == 0
    assert f"removed {files / left}, left by a run that was killed" in capsys.readouterr().err
    assert sorted(p.name for p in files.iterdir()) == ["in.h5ad", "out.h5ad"]


API_SCRIPT = """
import os, signal, sys
import anndata as ad
import scgan

source, target, sig = sys.argv[1], sys.argv[2], getattr(signal, sys.argv[3])
adata = ad.read_h5ad(source, backed="r")
imputer = scgan.Imputer(labels_key="cell_type", random_state=0, device="cpu", progress=False,
                        side=4, epochs=1, n_repeats=1).fit(adata)
blocks = imputer.backend.impute_blocks

def blocks_then_signal(*args, **kwargs):  # the signal arrives once every block is written
    yield from blocks(*args, **kwargs)
    os.kill(os.getpid(), sig)

imputer.backend.impute_blocks = blocks_then_signal
imputer.impute(adata, write_to=target, n_draws=2)
print("not stopped")
"""


def _api_run(files, sig):
    script = files / "run.py"
    script.write_text(textwrap.dedent(API_SCRIPT))
    target = files / "copy.h5ad"
    target.write_bytes((files / "in.h5ad").read_bytes())
    command = [sys.executable, str(script), str(files / "in.h5ad"), str(target), sig]
    return subprocess.run(command, capture_output=True, text=True, timeout=300), target


def _layers(path):
    with h5py.File(path, "r") as file:
        return sorted(file["layers"]) if "layers" in file else []


def test_sigterm_at_the_api_leaves_the_write_to_file_as_it_was(files):
    before = _layers(files / "in.h5ad")
    finished, target = _api_run(files, "SIGTERM")
    assert finished.returncode == -signal.SIGTERM
    assert finished.stderr.strip().splitlines()[-1].startswith("scgan: terminated by SIGTERM")
    assert "not stopped" not in finished.stdout
    assert _layers(target) == before  # no partial layers, no imputation


def test_the_next_write_to_removes_the_layers_a_killed_run_left(files, caplog):
    finished, target = _api_run(files, "SIGKILL")
    assert finished.returncode == -signal.SIGKILL
    assert ".scgan_imputed.partial" in _layers(target)
    adata = anndata.read_h5ad(files / "in.h5ad", backed="r")
    imputer = scgan.Imputer(labels_key="cell_type", side=4, epochs=1, n_repeats=1, progress=False)
    imputer.fit_impute(adata, write_to=target)
    adata.file.close()
    assert not [name for name in _layers(target) if name.endswith(".partial")]
    assert "scgan_imputed" in _layers(target)
    assert "left by a run that was killed" in caplog.text


PLAIN_SCRIPT = """
import numpy as np
import scgan

adata = scgan.datasets.simulate(240, 120, n_cell_types=3, n_batches=2, random_state=3)
adata = adata[:, adata.X.getnnz(axis=0) > 0].copy()
settings = dict(labels_key="cell_type", side=6, epochs=2, max_steps_per_epoch=4, device="cpu",
                progress=False, copy=True)
one = scgan.pp.impute_dropouts(adata, **settings).layers["scgan_imputed"]
two = scgan.pp.impute_dropouts(adata, devices=2, **settings).layers["scgan_imputed"]
np.testing.assert_allclose(two, one, rtol=1e-5, atol=1e-5)
print("two processes impute as one")
"""


@pytest.mark.skipif(available_cores() < 2, reason="needs two CPU cores")
@pytest.mark.parametrize("how", ["file", "stdin"])
def test_two_processes_from_a_script_without_a_main_guard(tmp_path, how):
    script = tmp_path / "plain.py"
    script.write_text(textwrap.dedent(PLAIN_SCRIPT))
    if how == "file":
        command, stdin = [sys.executable, str(script)], None
    else:
        command, stdin = [sys.executable, "-"], script.read_text()
    finished = subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "two processes impute as one"
