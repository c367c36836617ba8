import numpy as np
import pytest
import torch
from conftest import TINY
from scipy import sparse, stats

import scgan
from scgan._anndata import get_counts
from scgan.models.began import BEGANConfig, BEGANImputer, Discriminator, Generator
from scgan.models.began._data import Context, hold_out_molecules, thin
from scgan.models.began._output import expected_log_count, predictive_spread
from scgan.models.began._plan import predict, read

SETTINGS = TINY["began"]


def _codes(n_categories, batch):
    if not n_categories:
        return torch.zeros(batch, 0, dtype=torch.long)
    return torch.stack([torch.randint(n, (batch,)) for n in n_categories], 1)


@pytest.mark.parametrize("n_categories", [[], [3], [3, 2]])
def test_module_shapes(n_categories):
    groups, side, batch, n_context = 5, 4, 7, 6
    x = torch.rand(batch, groups, side * side)
    codes = _codes(n_categories, batch)
    G = Generator(groups, side, n_categories, n_context)
    D = Discriminator(groups, side, n_categories)
    log_rate = G(x, torch.rand(batch, groups, n_context), codes)
    assert log_rate.shape == x.shape
    assert D(x, codes).shape == x.shape
    assert D.reconstruction_error(x, codes).shape == (batch, groups)


def test_groups_are_independent():
    """A loss on one group's output moves no parameter, and sees no input, of another group."""
    groups, side = 3, 4
    G = Generator(groups, side, [4, 2], n_context=5)
    x = torch.rand(6, groups, side * side, requires_grad=True)
    context = torch.rand(6, groups, 5, requires_grad=True)
    G(x, context, _codes([4, 2], 6))[:, 0].sum().backward()
    assert x.grad[:, 1:].abs().sum() == 0 and context.grad[:, 1:].abs().sum() == 0
    for name, p in G.named_parameters():
        if p.grad is None:
            continue
        if p.grad.shape[0] != groups:
            pytest.fail(f"parameter {name} is not split by group")
        assert p.grad[1:].abs().sum() == 0, name


def test_update_is_the_gamma_posterior_mean():
    G = Generator(1, 2, [], n_context=1)
    with torch.no_grad():
        G.log_prior_size.copy_(torch.log(torch.tensor([[2.0, 2.0, 2.0, 1e6]])))
    prior = torch.log(torch.full((1, 1, 4), 0.01))
    counts = torch.tensor([[[0.0, 5.0, 500.0, 500.0]]])
    library = torch.tensor([[1000.0]])
    rate = G.update(prior, counts, library).exp()[0, 0].detach()
    expected = (2 + counts[0, 0, :3]) / (2 / 0.01 + 1000)
    torch.testing.assert_close(rate[:3], expected)
    assert rate[3] == pytest.approx(0.01, rel=1e-3)  # a huge prior size: the prior wins
    assert rate[2] == pytest.approx(502 / 1200)  # many counts pull towards c / L


def test_held_out_molecules_and_thinning_split_counts():
    rng = np.random.default_rng(0)
    counts = sparse.random(50, 30, density=0.3, random_state=0, format="csr")
    counts.data = np.ceil(counts.data * 20).astype(np.float32)
    cells = np.array([3, 10, 20])
    training, held = hold_out_molecules(counts, cells, 0.3, rng)
    assert held.shape == (3, 30)
    np.testing.assert_array_equal(
        training[cells].toarray() + held.toarray(), counts[cells].toarray()
    )
    others = np.setdiff1d(np.arange(50), cells)
    np.testing.assert_array_equal(training[others].toarray(), counts[others].toarray())
    assert 0.2 < held.sum() / counts[cells].sum() < 0.4
    x = torch.as_tensor(counts.toarray())
    seen, rest = thin(x, torch.full((50, 1), 0.5), torch.Generator().manual_seed(0))
    torch.testing.assert_close(seen + rest, x)
    assert (seen >= 0).all() and (rest >= 0).all() and (seen == seen.round()).all()


def test_a_blind_part_never_sees_its_own_genes():
    """Blind, a part's prediction is the same whatever its own genes' counts (J-invariance)."""
    rng = np.random.default_rng(0)
    counts = sparse.csr_matrix(rng.poisson(2.0, (40, 16)).astype(np.float32))
    context = Context.fit(counts, 3, rng, "cpu")
    parts = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]])
    G = Generator(4, 2, [], context.size)
    x = torch.cat([torch.as_tensor(counts[:5].toarray()), torch.zeros(5, 1)], dim=1)
    changed = x.clone()
    changed[:, :4] = torch.as_tensor(rng.poisson(9.0, (5, 4)), dtype=torch.float32)
    codes = _codes([], 5)
    blind = torch.zeros(5, 4)
    before, _ = predict(G, read(context, parts, x, blind), codes)
    after, _ = predict(G, read(context, parts, changed, blind), codes)
    torch.testing.assert_close(before[:, 0], after[:, 0])
    assert not torch.allclose(before[:, 1:], after[:, 1:])  # the other parts see them
    seeing, _ = predict(G, read(context, parts, changed, torch.ones(5, 4)), codes)
    assert not torch.allclose(seeing[:, 0], after[:, 0])


@pytest.mark.parametrize("mean", [0.0, 0.05, 0.9, 3.0, 9.5, 10.5, 60.0, 800.0])
def test_expected_log_count_is_the_poisson_expectation(mean):
    library = np.array([2000.0])
    got = expected_log_count(np.array([[mean]]), library)[0, 0]
    x = np.arange(0, int(mean + 20 * np.sqrt(mean) + 30))
    exact = (stats.poisson.pmf(x, mean) * np.log1p(x * 1e4 / 2000)).sum()
    assert np.log1p(got * 1e4 / 2000) == pytest.approx(exact, rel=2e-3, abs=1e-9)
    assert got <= mean + 1e-9  # Jensen


def test_predictive_spread_is_the_negative_binomial_one():
    means = np.array([[[1.0, 10.0]], [[3.0, 10.0]]])
    theta = np.array([2.0, 1e4])
    got = predictive_spread(means, theta)[0]
    one = lambda m, t: m + m**2 / t + m**2  # noqa: E731 (second moment)
    second = (one(1.0, 2.0) + one(3.0, 2.0)) / 2
    assert got[0] == pytest.approx(np.sqrt(second - 4.0))
    assert got[1] == pytest.approx(np.sqrt(10.0), rel=1e-3)  # θ large: Poisson


def _fit(adata, **settings):
    counts = get_counts(adata)
    codes = adata.obs["cell_type"].cat.codes.to_numpy()[:, None]
    config = BEGANConfig(**(SETTINGS | settings))
    return BEGANImputer(config, device="cpu", random_state=0).fit(counts, codes), counts, codes


def test_fit_keeps_the_best_epoch_and_reports_validation(sim_batches):
    model, counts, _ = _fit(sim_batches, epochs=4)
    history = model.history_
    assert {"likelihood", "validation_seen", "validation_blind", "validation_loss"} <= set(history)
    assert "k_t" not in history and "adversarial" not in history  # no game by default
    assert history["likelihood"].shape[1] == model.generator_.groups
    best = model.best_epoch_
    assert history["validation_loss"][best] == history["validation_loss"].min()
    report = model.params()["validation"]
    assert report["cells"] == min(counts.shape[0], model.config.validation_cells)
    assert report["molecules"] > 0 and np.isfinite(report["denoising_score"])
    assert np.isfinite(report["denoising_score_zeros_filled"])
    assert report["loss_seen"] == pytest.approx(history["validation_seen"][best])
    assert model.dispersion_.shape == (2, counts.shape[1])
    assert ((model.dispersion_ >= 0.01) & (model.dispersion_ <= 1e4)).all()


def test_the_game_moves_k_and_sets_gamma_from_the_first_epoch(sim_batches):
    model, _, _ = _fit(sim_batches, adversary=0.5, epochs=3)
    history = model.history_
    for name in ("real", "fake", "k_t", "M", "adversarial", "discriminator"):
        assert history[name].shape[1] == model.generator_.groups
        assert np.isfinite(history[name]).all()
    assert ((history["k_t"] >= 0) & (history["k_t"] <= 1)).all()
    assert (history["k_t"][0] == 0).all()  # the first epoch measures γ
    gamma = np.asarray(model.params()["gamma_used"])
    ratio = history["fake"][0] / history["real"][0]
    np.testing.assert_allclose(gamma, ratio, rtol=0.3)
    params = model.params()
    assert 0 <= params["dropout_q_used"] <= 100 and params["dropout_s_used"] > 0


def test_adversarial_gradient_is_sized_against_the_likelihood_gradient():
    from types import SimpleNamespace

    from scgan.models.began._plan import BEGANPlan

    generated = torch.rand(5, 3, 4, requires_grad=True)  # batch × gene parts × genes
    target = torch.rand(5, 3, 4)
    likelihood = 1000 * ((generated - target) ** 2).mean(dim=(0, 2))
    adversarial = (generated.sin() * torch.arange(1.0, 4.0)[None, :, None]).mean(dim=(0, 2))
    plan = SimpleNamespace(config=SimpleNamespace(adversary=0.3))
    stand_in = BEGANPlan._sized(plan, adversarial, likelihood, generated)
    (got,) = torch.autograd.grad(stand_in.sum(), generated, retain_graph=True)
    (toward_real,) = torch.autograd.grad(adversarial.sum(), generated, retain_graph=True)
    (toward_data,) = torch.autograd.grad(likelihood.sum(), generated)
    for part in range(3):
        norm = got[:, part].norm()
        assert norm == pytest.approx(0.3 * toward_data[:, part].norm().item(), rel=1e-5)
        cosine = torch.nn.functional.cosine_similarity(
            got[:, part].flatten(), toward_real[:, part].flatten(), dim=0
        )
        assert cosine == pytest.approx(1.0, abs=1e-5)


def test_without_adversary_the_discriminator_stays_as_built(sim_batches):
    model, _, _ = _fit(sim_batches)
    fresh, _, _ = _fit(sim_batches, epochs=1)
    before = fresh.discriminator_.state_dict()
    assert all(torch.equal(before[k], v) for k, v in model.discriminator_.state_dict().items())


def test_fixed_dropout_and_switches(sim_batches):
    model, _, _ = _fit(sim_batches, adversary=0.1, dropout_q=40.0, dropout_s=2.0, conditional=False)
    assert model.dropout_ == (40.0, 2.0)
    assert model.n_categories_ == []
    off, _, _ = _fit(sim_batches, adversary=0.1, artificial_dropout=False)
    assert np.isnan(off.params()["dropout_q_used"])


def test_a_short_run_predicts_held_out_molecules_and_says_so(pbmc):
    split = scgan.tl.split_molecules(pbmc, random_state=0)
    scgan.pp.impute_dropouts(split, only_zeros=False, side=8, n_repeats=1, epochs=3)
    score = scgan.tl.score_denoising(split, layer="scgan_imputed")["denoising_score"]
    assert score > 0.3  # the input scores 0, MAGIC about 0.44 on the full pbmc68k set
    internal = split.uns["scgan_imputed"]["params"]["validation"]["denoising_score"]
    assert internal == pytest.approx(score, abs=0.05)  # from the training counts alone


@pytest.mark.parametrize(
    ("setting", "match"),
    [
        ({"side": 1}, "side"),
        ({"dropout_q": 120}, "dropout_q"),
        ({"dropout_s": -1.0}, "dropout_s"),
        ({"thinning": (0.5, 1.0)}, "thinning"),
        ({"blind_share": 1.5}, "blind_share"),
        ({"n_components": -1}, "n_components"),
        ({"gamma": 0}, "gamma"),
        ({"validation_cells": 0}, "validation_cells"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"n_repeats": 0}, "n_repeats"),
        ({"n_repeats": "many"}, "n_repeats"),
        ({"max_steps_per_epoch": 0}, "max_steps_per_epoch"),
        ({"max_part_steps_per_epoch": 0}, "max_part_steps_per_epoch"),
    ],
)
def test_config_rejects_bad_settings(setting, match):
    with pytest.raises(ValueError, match=match):
        BEGANConfig(**setting)


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
    _fit(sim_batches, adversary=0.1)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_an_empty_hold_out_is_refused(sim_batches):
    with pytest.raises(ValueError, match="no molecules were held out"):
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
    imputation = model.impute(counts, codes, only_zeros=False, n_draws=2)
    assert imputation.mean.dtype == np.float32
    for values in (imputation.mean, imputation.spread, *imputation.draws):
        assert (values[:, [0, 5]] == 0).all()


def test_draws_are_counts_about_the_expected_count(sim_batches):
    model, counts, codes = _fit(sim_batches, epochs=3)
    imputation = model.impute(counts, codes, n_draws=40)
    draws = imputation.draws
    assert draws.shape == (40, *counts.shape) and draws.dtype == np.float32
    assert (draws >= 0).all() and (draws == np.round(draws)).all()
    rows = np.arange(counts.shape[0])
    means, _ = model._expected_counts(counts, rows, model._codes(codes), seen=False)
    expected = means.mean(axis=0)
    busy = expected > 2
    np.testing.assert_allclose(draws.mean(axis=0)[busy].mean(), expected[busy].mean(), rtol=0.05)
    again = model.impute(counts, codes, n_draws=40).draws
    np.testing.assert_array_equal(again, draws)  # the model's seed makes them repeatable


def _plan(n_cells: int, groups: int, **settings):
    from types import SimpleNamespace

    from scgan.models.began._plan import BEGANPlan, Shard

    plan = BEGANPlan.__new__(BEGANPlan)
    plan.shard = Shard(groups)
    plan.config = BEGANConfig(**(SETTINGS | {"batch_size": 16} | settings))
    plan.data = SimpleNamespace(counts=np.zeros((n_cells, 3)))
    plan.generator_stream = torch.Generator().manual_seed(0)
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


def test_target_batch_moves_rates_by_the_batch_code_and_depth_by_the_batches_medians(sim_batches):
    counts = get_counts(sim_batches)
    obs = sim_batches.obs
    codes = np.stack([obs["cell_type"].cat.codes, obs["batch"].cat.codes], 1).astype(np.int64)
    config = BEGANConfig(**SETTINGS)
    model = BEGANImputer(config, device="cpu", random_state=0).fit(counts, codes)
    library = counts.sum(axis=1).A1
    medians = [np.median(library[codes[:, 1] == b]) for b in (0, 1)]
    np.testing.assert_allclose(model.batch_depth_, medians)
    rows = np.flatnonzero(codes[:, 1] == 0)
    moved = codes.copy()
    moved[:, 1] = 1
    tensor = model._codes
    blind, _ = model._expected_counts(counts, rows, tensor(codes), seen=False, target_batch=1)
    as_if, _ = model._expected_counts(counts, rows, tensor(moved), seen=False)
    np.testing.assert_allclose(blind, as_if, rtol=1e-5)  # blind: the other batch's prediction
    seen, _ = model._expected_counts(counts, rows, tensor(codes), seen=True, target_batch=1)
    own, _ = model._expected_counts(counts, rows, tensor(codes), seen=True)
    assert not np.allclose(seen, own)
    there = np.flatnonzero(codes[:, 1] == 1)  # cells of the target batch stay as they are
    stay, _ = model._expected_counts(counts, there, tensor(codes), seen=True, target_batch=1)
    same, _ = model._expected_counts(counts, there, tensor(codes), seen=True)
    np.testing.assert_allclose(stay, same, rtol=1e-5)
    imputed = model.impute(counts[rows], codes[rows], target_batch=1).mean
    ratio = medians[1] / medians[0]
    mean = np.exp(np.log(blind).mean(axis=0))
    expected = expected_log_count(mean * ratio, library[rows] * ratio) / ratio
    np.testing.assert_allclose(imputed, expected * model.expressed_, rtol=1e-4)
