import numpy as np
import pytest
import torch
from conftest import TINY

import scgan
from scgan._anndata import get_counts
from scgan.models.began import BEGANConfig, BEGANImputer, Discriminator, Generator
from scgan.models.began._data import detection_rate, expressed_share

SETTINGS = TINY["began"]


@pytest.mark.parametrize("n_categories", [[], [3], [3, 2]])
@pytest.mark.parametrize(("noise", "neighbourhood"), [(False, False), (True, True)])
def test_module_shapes(n_categories, noise, neighbourhood):
    groups, side, batch = 5, 4, 7
    x = torch.rand(batch, groups, side * side)
    codes = (
        torch.stack([torch.randint(n, (batch,)) for n in n_categories], 1)
        if n_categories
        else torch.zeros(batch, 0, dtype=torch.long)
    )
    G = Generator(groups, side, n_categories, noise=noise, neighbourhood=neighbourhood)
    D = Discriminator(groups, side, n_categories)
    y = G(x, codes, torch.rand_like(x) if neighbourhood else None)
    assert y.shape == x.shape
    assert ((y >= 0) & (y <= 1)).all()
    assert D(y, codes).shape == x.shape
    assert D.reconstruction_error(y, codes).shape == (batch, groups)


def test_groups_are_independent():
    """A loss on one group's output moves no parameter, and sees no input, of another group."""
    groups, side = 3, 4
    G = Generator(groups, side, [4, 2], neighbourhood=True)
    x = torch.rand(6, groups, side * side, requires_grad=True)
    around = torch.rand_like(x, requires_grad=True)
    codes = torch.stack([torch.randint(4, (6,)), torch.randint(2, (6,))], 1)
    G(x, codes, around)[:, 0].sum().backward()
    assert x.grad[:, 1:].abs().sum() == 0 and around.grad[:, 1:].abs().sum() == 0
    for name, p in G.named_parameters():
        if p.grad is None:
            continue
        grad = p.grad
        if "conv.weight" in name or "conv.bias" in name:  # grouped conv: out channels by group
            grad = grad.reshape(groups, -1)
        elif grad.shape[0] != groups:
            pytest.fail(f"parameter {name} is not split by group")
        assert grad[1:].abs().sum() == 0, name


def _fit(adata, **settings):
    counts = get_counts(adata)
    codes = adata.obs["cell_type"].cat.codes.to_numpy()[:, None]
    config = BEGANConfig(**(SETTINGS | settings))
    return BEGANImputer(config, device="cpu", random_state=0).fit(counts, codes), counts, codes


def test_history_and_k_in_range(sim_batches):
    model, _, _ = _fit(sim_batches)
    history = model.history_
    groups = model.generator_.groups
    for name in ("real", "fake", "k_t", "M", "reconstruction", "adversarial"):
        assert history[name].shape[1] == groups
        assert np.isfinite(history[name]).all()
    assert ((history["k_t"] >= 0) & (history["k_t"] <= 1)).all()
    assert 0 <= model.best_epoch_ < SETTINGS["epochs"]
    params = model.params()
    assert 0 <= params["dropout_q_used"] <= 100 and params["dropout_s_used"] > 0


def test_imputation_averages_all_repeats(sim_batches):
    model, counts, codes = _fit(sim_batches)
    imputation = model.impute(counts, codes)
    mean, std = imputation.mean, imputation.spread
    scaled = model.scaler_.transform(counts)
    library = counts.sum(axis=1).A1
    images = model._images(scaled)
    rows = np.arange(counts.shape[0])
    expressing = scaled.astype(bool).astype(np.float32)
    rate = expressing.mean(axis=0).A1
    share = expressed_share(
        expressing, images.neighbours, rows, model.config.expected_neighbors, rate
    )
    ((_, predicted),) = model._predict(
        model.generator_, images, torch.as_tensor(codes, dtype=torch.long)
    )
    expected = [model.scaler_.inverse(r.astype(np.float64), library) * share for r in predicted]
    logs = [model.scaler_.inverse(r.astype(np.float64) * share, library) for r in predicted]
    assert len(expected) == SETTINGS["n_repeats"]
    expressed = model.expressed_
    np.testing.assert_allclose(mean, np.mean(expected, axis=0) * expressed, rtol=1e-5)
    np.testing.assert_allclose(std, np.std(expected, axis=0) * expressed, rtol=1e-4, atol=1e-6)
    denoised = model.impute(counts, codes, only_zeros=False).mean
    np.testing.assert_allclose(denoised, np.mean(logs, axis=0) * expressed, rtol=1e-5)
    assert (denoised <= mean + 1e-4).all()  # the expected log value lies below: Jensen
    assert (std > 0).any()


def test_expected_count_scales_by_share_of_expressing_neighbours(sim_batches):
    model, counts, _ = _fit(sim_batches, expected_neighbors=4)
    scaled = model.scaler_.transform(counts)
    neighbours = model._images(scaled).neighbours
    assert neighbours.shape == (counts.shape[0], 15)  # max(n_neighbors, expected_neighbors)
    assert not (neighbours == np.arange(counts.shape[0])[:, None]).any()
    expressing = scaled.astype(bool).astype(np.float32)
    rate = expressing.mean(axis=0).A1
    share = expressed_share(expressing, neighbours, np.arange(counts.shape[0]), 4, rate)
    np.testing.assert_array_equal(detection_rate(scaled, block=100), rate)  # as scipy's mean
    dense = scaled.toarray()
    for cell, gene in (np.argwhere(dense == 0)[0], np.argwhere(dense > 0)[0]):
        around = (dense[neighbours[cell, :4], gene] > 0).sum()
        own = dense[cell, gene] > 0
        assert share[cell, gene] == pytest.approx((own + around + rate[gene]) / 6)
    assert (share > 0).all()  # the pseudo-cell: no expected count is exactly zero


def test_adversarial_gradient_is_sized_against_the_reconstruction_gradient():
    from types import SimpleNamespace

    from scgan.models.began._plan import BEGANPlan

    generated = torch.rand(5, 3, 4, requires_grad=True)  # batch × gene parts × genes
    target = torch.rand(5, 3, 4)
    reconstruction = 1000 * ((generated - target) ** 2).mean(dim=(0, 2))
    adversarial = (generated.sin() * torch.arange(1.0, 4.0)[None, :, None]).mean(dim=(0, 2))
    plan = SimpleNamespace(config=SimpleNamespace(adversary=0.3))
    stand_in = BEGANPlan._sized(plan, adversarial, reconstruction, generated)
    (got,) = torch.autograd.grad(stand_in.sum(), generated, retain_graph=True)
    (toward_real,) = torch.autograd.grad(adversarial.sum(), generated, retain_graph=True)
    (toward_data,) = torch.autograd.grad(reconstruction.sum(), generated)
    for part in range(3):
        norm = got[:, part].norm()
        assert norm == pytest.approx(0.3 * toward_data[:, part].norm().item(), rel=1e-5)
        cosine = torch.nn.functional.cosine_similarity(
            got[:, part].flatten(), toward_real[:, part].flatten(), dim=0
        )
        assert cosine == pytest.approx(1.0, abs=1e-5)


def test_without_adversary_only_the_generator_trains(sim_batches):
    model, _, _ = _fit(sim_batches, adversary=0.0)
    assert "k_t" not in model.history_ and "adversarial" not in model.history_
    before = {k: v.clone() for k, v in model.discriminator_.state_dict().items()}
    fresh, _, _ = _fit(sim_batches, adversary=0.0, epochs=1)
    assert all(torch.equal(before[k], v) for k, v in fresh.discriminator_.state_dict().items())


def test_fixed_dropout_and_switches(sim_batches):
    model, _, _ = _fit(sim_batches, dropout_q=40.0, dropout_s=2.0, conditional=False, n_neighbors=0)
    assert model.dropout_ == (40.0, 2.0)
    assert model.n_categories_ == []
    off, _, _ = _fit(sim_batches, artificial_dropout=False)
    assert np.isnan(off.params()["dropout_q_used"])


def test_tiny_run_lowers_heldout_error():
    adata = scgan.datasets.simulate(300, 64, n_cell_types=3, random_state=5)
    masked = scgan.tl.mask_nonzeros(adata, fraction=0.1, random_state=0)
    scgan.pp.impute_dropouts(
        masked, labels_key="cell_type", side=4, n_repeats=2, epochs=8, batch_size=32
    )
    masked.layers["none"] = masked.X.toarray()
    imputed = scgan.tl.score_imputation(masked, layer="scgan_imputed")
    baseline = scgan.tl.score_imputation(masked, layer="none")
    assert imputed["heldout_mae"] < 0.6 * baseline["heldout_mae"]
    assert imputed["heldout_pearson_log1p"] > 0.5


@pytest.mark.parametrize(
    ("setting", "match"),
    [
        ({"side": 1}, "side"),
        ({"dropout_q": 120}, "dropout_q"),
        ({"dropout_s": -1.0}, "dropout_s"),
        ({"mask_rate": 1.0}, "mask_rate"),
        ({"reconstruction": "l3"}, "reconstruction"),
        ({"expected_neighbors": -1}, "expected_neighbors"),
        ({"validation_cells": 0}, "validation_cells"),
        ({"n_repeats": 0}, "n_repeats"),
        ({"n_repeats": "many"}, "n_repeats"),
        ({"max_steps_per_epoch": 0}, "max_steps_per_epoch"),
        ({"max_part_steps_per_epoch": 0}, "max_part_steps_per_epoch"),
    ],
)
def test_config_rejects_bad_settings(setting, match):
    with pytest.raises(ValueError, match=match):
        BEGANConfig(**setting)


def test_history_records_every_loss_term(sim_batches):
    model, _, _ = _fit(sim_batches)
    history = model.history_
    assert {"generator", "adversarial", "discriminator", "real", "fake", "M"} <= set(history)
    # M = L(x) + |…| per step, so also in the epoch means
    assert (history["M"] >= history["real"] - 1e-6).all()


def test_codes_are_required_after_a_conditional_fit(sim_batches):
    model, counts, _ = _fit(sim_batches)
    with pytest.raises(ValueError, match="pass their codes"):
        model.impute(counts, None)
    with pytest.raises(ValueError, match="below"):
        model.impute(counts, np.full((counts.shape[0], 1), 99))


def test_fit_leaves_the_global_rng_alone(sim_batches):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _fit(sim_batches)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_an_empty_hold_out_is_refused(sim_batches):
    with pytest.raises(ValueError, match="no observed counts were held out"):
        _fit(sim_batches, validation_cells=1, validation_fraction=1e-9)


def test_divergence_names_the_step():
    from scgan._train import DivergenceError, optimizer_step

    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    with pytest.raises(DivergenceError, match="generator loss is nan at step 7"):
        optimizer_step(optimizer, weight * float("nan"), what="generator", step=7)


def test_genes_without_counts_are_not_trained_and_stay_zero(sim_batches):
    adata = sim_batches.copy()
    x = adata.X.tolil()
    x[:, [0, 5]] = 0
    adata.X = x.tocsr()
    model, counts, codes = _fit(adata)
    trained = model.parts_[model.parts_ < counts.shape[1]]
    assert not np.isin([0, 5], trained).any()
    assert np.isin(np.flatnonzero(model.expressed_), trained).all()
    assert model.params()["genes_trained"] == counts.shape[1] - 2
    imputation = model.impute(counts, codes, only_zeros=False)
    assert imputation.mean.dtype == np.float32
    assert (imputation.mean[:, [0, 5]] == 0).all() and (imputation.spread[:, [0, 5]] == 0).all()


def _plan(n_cells: int, groups: int, **settings):
    from types import SimpleNamespace

    from scgan.models.began._plan import BEGANPlan, Shard

    plan = BEGANPlan.__new__(BEGANPlan)
    plan.shard = Shard(groups)
    plan.config = BEGANConfig(**(SETTINGS | {"batch_size": 16} | settings))
    plan.images = SimpleNamespace(values=np.zeros((n_cells, 3)), parts=torch.zeros(groups, 4))
    plan.order_generator = torch.Generator().manual_seed(0)
    plan.shuffled, plan.position = None, 0
    return plan


@pytest.mark.parametrize(
    ("n_cells", "groups", "settings", "steps"),
    [
        (40, 3, {}, 2),  # one pass: 2 steps of 16 cells
        (4000, 3, {"max_steps_per_epoch": 7}, 7),
        (4000, 30, {"max_part_steps_per_epoch": 300}, 10),
        (4000, 3000, {"max_part_steps_per_epoch": 300}, 1),
    ],
)
def test_an_epoch_is_capped_by_steps_and_by_parts(n_cells, groups, settings, steps):
    assert _plan(n_cells, groups, **settings).steps_per_epoch() == steps


def test_capped_epochs_walk_through_shuffled_passes():
    plan = _plan(40, 3, max_steps_per_epoch=2)
    seen = [plan._next_rows(16) for _ in range(2)]  # 32 of 40 cells, none twice
    assert len(np.unique(np.concatenate(seen))) == 32
    third = plan._next_rows(16)  # 8 cells left: a new pass starts
    assert plan.position == 16 and len(np.unique(third)) == 16


def test_one_repeat_gives_no_spread(sim_batches):
    model, counts, codes = _fit(sim_batches, n_repeats=1)
    assert model.impute(counts, codes).spread is None


def test_neighbours_of_many_cells_are_approximate_but_close(sim_batches, monkeypatch):
    from scgan import _neighbours as _data
    from scgan._data import LogScaler

    values = LogScaler().fit_transform(sim_batches.X)
    exact = _data.nearest_neighbours(values, 10)
    monkeypatch.setattr(_data, "EXACT_CELLS", 100)  # 240 cells: the approximate search
    approximate = _data.nearest_neighbours(values, 10)
    assert approximate.shape == exact.shape
    assert (approximate != np.arange(len(values.indptr) - 1)[:, None]).all()  # never itself
    found = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approximate, exact, strict=True)])
    assert found > 0.9


def test_many_cells_imputed_after_training_reuse_its_neighbours(sim_batches, monkeypatch):
    from scgan import _neighbours as _data
    from scgan.models.began import _model

    searches = []

    def counted(values, k, **kwargs):
        searches.append(values.shape[0])
        return _data.nearest_neighbours(values, k, **kwargs)

    monkeypatch.setattr(_model, "nearest_neighbours", counted)
    monkeypatch.setattr(_model, "EXACT_CELLS", 100)  # 240 cells count as many
    imputer = scgan.Imputer(labels_key="cell_type", **SETTINGS)
    imputer.fit_impute(sim_batches.copy())
    assert searches == [240]  # one search, in training
    imputer.impute(sim_batches[:120].copy())
    assert searches == [240, 120]  # other cells: their own search
