import sys
import types

import matplotlib
import pytest
import torch

import scgan

TINY = {
    "began": {"side": 4, "epochs": 2, "n_repeats": 2, "batch_size": 32},
    "scigans": {"epochs": 2, "n_generated": 20, "k": 3},
    "gain": {"iterations": 30},
    "misgan": {"iterations": 30},
}
"""Settings of every backend small enough for a test (one place: ``from conftest import TINY``)."""

matplotlib.use("Agg")
# One torch thread: on 2-core machines the default (2) collapses when another
# process is busy (see README, "Threads").
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def sim_batches():
    """A small simulated data set with three cell types and two batches (read-only).

    Genes without counts are dropped (tests of that case make their own).
    """
    adata = scgan.datasets.simulate(240, 120, n_cell_types=3, n_batches=2, random_state=3)
    return adata[:, adata.X.getnnz(axis=0) > 0].copy()


@pytest.fixture(scope="session")
def pbmc():
    return scgan.datasets.pbmc68k()


@pytest.fixture
def ipython_shell(monkeypatch):
    """Make IPython report a shell: ``ipython_shell(kernel=True)`` is one inside Jupyter."""

    def pretend(*, kernel: bool) -> None:
        shell = types.SimpleNamespace(**({"kernel": object()} if kernel else {}))
        ipython = types.SimpleNamespace(get_ipython=lambda: shell)
        monkeypatch.setitem(sys.modules, "IPython", ipython)

    return pretend
