import matplotlib
import pytest
import torch

import scgan

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
