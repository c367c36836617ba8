"""Each plot renders and shows what it says."""

import io

import matplotlib.pyplot as plt
import pytest
from conftest import TINY

import scgan

FAST = TINY["began"]


@pytest.fixture(scope="module")
def imputed(sim_batches):
    masked = scgan.tl.mask_nonzeros(sim_batches, fraction=0.1, random_state=0)
    scgan.pp.impute_dropouts(masked, labels_key="cell_type", **FAST)
    return masked


def _renders(fig) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.tell() > 1000
    plt.close(fig)


def test_training_history_has_the_began_panels(imputed):
    fig = scgan.pl.training_history(imputed)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "held-out molecules, Poisson loss",
        "validation loss, seeing the genes",
        "validation loss, blind",
    ]
    assert len(fig.axes[0].lines[0].get_xdata()) == FAST["epochs"]
    _renders(fig)


def test_training_history_of_other_backends(sim_batches):
    adata = sim_batches.copy()
    scgan.pp.impute_dropouts(adata, method="gain", iterations=300)
    fig = scgan.pl.training_history(adata)
    assert [ax.get_title() for ax in fig.axes] == ["discriminator", "generator", "mse"]
    history = adata.uns["scgan_imputed"]["history"]
    assert len(history["mse"]) == 150  # one value per epoch: 300 steps, ⌈240 / 128⌉ = 2 per epoch
    _renders(fig)


def test_held_out_plot(imputed):
    ax = scgan.pl.held_out(imputed)
    n_hidden = len(imputed.uns["scgan_mask"]["rows"])
    assert ax.get_title().startswith(f"{n_hidden} held-out counts, Pearson r = ")
    assert ax.collections  # the hexbin
    _renders(ax.figure)


def test_dropout_curve_plot(imputed, sim_batches):
    ax = scgan.pl.dropout_curve(imputed)
    assert ax.get_title() == ""  # no game, no artificial dropout
    assert len(ax.collections[0].get_offsets()) == imputed.n_vars
    _renders(ax.figure)
    game = sim_batches.copy()
    scgan.pp.impute_dropouts(game, labels_key="cell_type", adversary=0.1, **FAST)
    assert scgan.pl.dropout_curve(game).get_title().startswith("artificial dropout: q = ")


def test_plots_say_what_is_missing(sim_batches):
    with pytest.raises(KeyError, match=r"run scgan\.pp\.impute_dropouts first"):
        scgan.pl.training_history(sim_batches)
    with pytest.raises(ValueError, match="mask_nonzeros"):
        scgan.pl.held_out(sim_batches)
