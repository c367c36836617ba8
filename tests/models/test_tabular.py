import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import scgan
from scgan.models import GAINImputer, MisGANImputer
from scgan.models._blocks import gradient_penalty
from scgan.models.tabular._base import Table

FAST = {
    GAINImputer: {"iterations": 60, "batch_size": 32},
    MisGANImputer: {"iterations": 20, "batch_size": 16},
}
IMPUTERS = list(FAST)


def _make(cls, **kw):
    return cls(**(FAST[cls] | {"device": "cpu"} | kw))


def _rows(model, x):
    """The scaled rows of ``x`` and their mask, as the model trains on them."""
    return [torch.as_tensor(a) for a in model._scaled(x)]


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)) @ rng.normal(size=(6, 6)) + 3
    missing = x.copy()
    missing[rng.random(x.shape) < 0.2] = np.nan
    return x, missing


@pytest.mark.parametrize("cls", IMPUTERS)
def test_observed_entries_unchanged_and_missing_filled(cls, table):
    _, x = table
    imputed = _make(cls).fit_transform(x)
    observed = ~np.isnan(x)
    np.testing.assert_array_equal(imputed[observed], x[observed])
    assert np.isfinite(imputed).all()
    # imputations stay inside the observed range of each column (min–max scaling, sigmoid)
    assert (imputed >= np.nanmin(x, 0) - 1e-9).all() and (imputed <= np.nanmax(x, 0) + 1e-9).all()


@pytest.mark.parametrize("cls", IMPUTERS)
def test_fit_on_one_matrix_transform_another(cls, table):
    _, x = table
    model = _make(cls).fit(x[:80])
    shifted = x[80:] + 100.0  # far outside the training range
    out = model.transform(shifted)
    observed = ~np.isnan(shifted)
    np.testing.assert_array_equal(out[observed], shifted[observed])
    # missing entries come from the training columns' scaling, not the new rows'
    low, high = np.nanmin(x[:80], axis=0), np.nanmax(x[:80], axis=0)
    filled = np.where(observed, np.nan, out)
    assert ((filled >= low - 1e-9) | observed).all() and ((filled <= high + 1e-9) | observed).all()
    with pytest.raises(ValueError, match="columns"):
        model.transform(x[80:, :5])


@pytest.mark.parametrize("cls", IMPUTERS)
def test_all_missing_column_is_refused(cls, table):
    _, x = table
    x = x.copy()
    x[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"columns \[2\] have no observed value"):
        _make(cls).fit(x)


@pytest.mark.parametrize("cls", IMPUTERS)
def test_fewer_rows_than_the_batch(cls, table):
    _, x = table
    out = _make(cls, batch_size=256).fit_transform(x[:10])
    assert not np.isnan(out).any()


@pytest.mark.parametrize("cls", IMPUTERS)
def test_same_seed_same_result(cls, table):
    _, x = table
    a = _make(cls, random_state=3).fit_transform(x)
    b = _make(cls, random_state=3).fit_transform(x)
    c = _make(cls, random_state=4).fit_transform(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("cls", IMPUTERS)
def test_sklearn_params_and_pipeline(cls, table):
    _, x = table
    model = _make(cls)
    assert model.get_params()["batch_size"] == FAST[cls]["batch_size"]
    model.set_params(batch_size=8)
    assert clone(model).batch_size == 8
    pipeline = make_pipeline(clone(model), StandardScaler())
    assert pipeline.fit_transform(x).shape == x.shape


@pytest.mark.parametrize(
    ("cls", "setting"),
    [
        (GAINImputer, {"batch_size": 0}),
        (MisGANImputer, {"batch_size": -1}),
        (MisGANImputer, {"n_critic": 0}),
        (MisGANImputer, {"n_draws": 0}),
    ],
)
def test_settings_below_one_are_refused(table, cls, setting):
    _, x = table
    name, value = next(iter(setting.items()))
    with pytest.raises(ValueError, match=f"{name}={value}: must be at least 1"):
        _make(cls, **setting).fit(x)


@pytest.mark.parametrize("cls", IMPUTERS)
def test_one_dimensional_input_is_refused(cls, table):
    _, x = table
    with pytest.raises(ValueError, match="expected a 2-D array"):
        _make(cls).fit(x[:, 0])


def test_inf_is_refused(table):
    _, x = table
    x = x.copy()
    x[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        _make(GAINImputer).fit(x)


@pytest.mark.parametrize("hint", ["paper", "reference"])
def test_hint_distribution(hint):
    torch.manual_seed(0)
    model = GAINImputer(hint=hint, hint_rate=0.9)
    mask = (torch.rand(400, 250) < 0.7).float()
    h = model.hint_matrix(mask)
    if hint == "paper":
        assert set(torch.unique(h).tolist()) == {0.0, 0.5, 1.0}
        assert (h[h != 0.5] == mask[h != 0.5]).all()  # a revealed entry tells the truth
        assert (h == 0.5).float().mean().item() == pytest.approx(0.1, abs=0.005)
    else:
        assert set(torch.unique(h).tolist()) == {0.0, 1.0}
        assert (h <= mask).all()
        kept = h[mask == 1].mean().item()
        assert kept == pytest.approx(0.9, abs=0.005)


def test_gradient_penalty_zero_for_unit_linear_critic():
    critic = torch.nn.Linear(5, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.ones(1, 5) / np.sqrt(5))  # gradient: a unit vector
    real, fake = torch.randn(32, 5), torch.randn(32, 5)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        critic.weight.mul_(3)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(4.0, rel=1e-5)


@pytest.mark.parametrize("imputer_input", ["complement", "separate"])
def test_misgan_generators_each_follow_their_own_objective(table, imputer_input):
    """One backward pass gives G_m, G_x and G_i the gradients of their eq. 10 objectives.

    G_i's includes the reference code's mismatch loss on the observed entries (γ).
    """
    _, x = table
    settings = {"alpha": 0.3, "beta": 0.7, "gamma": 0.4, "imputer_input": imputer_input}
    model = _make(MisGANImputer, iterations=0, **settings).fit(x)
    nets = model.nets_
    data, mask = _rows(model, x[:16])
    generators = {name: nets[name] for name in ("data_gen", "mask_gen", "imputer")}
    plan = model._plan(Table.from_dense(data, mask, "cpu"))
    plan.nets = nets
    torch.manual_seed(5)
    loss = plan.loss("generator", (data, mask), None).loss
    got = {
        name: torch.autograd.grad(loss, list(g.parameters()), retain_graph=True)
        for name, g in generators.items()
    }

    torch.manual_seed(5)  # the same noise, drawn in the same order
    fake_data = nets["data_gen"](model._noise(16))
    fake_mask = nets["mask_gen"](model._noise(16))
    output = model._imputer_output(data, mask)
    imputed = data * mask + output * (1 - mask)
    mismatch = (((output - data) * mask) ** 2).sum(1) / mask.sum(1)
    data_loss = -nets["data_critic"](model._mask(fake_data, fake_mask)).mean()
    objectives = {
        "mask_gen": -nets["mask_critic"](fake_mask).mean() + 0.3 * data_loss,
        "data_gen": data_loss + 0.7 * nets["impute_critic"](fake_data).mean(),
        "imputer": -nets["impute_critic"](imputed).mean() + 0.4 * mismatch.mean(),
    }
    for name, objective in objectives.items():
        params = list(generators[name].parameters())
        expected = torch.autograd.grad(objective, params, retain_graph=True)
        for mine, want in zip(got[name], expected, strict=True):
            torch.testing.assert_close(mine, want)


@pytest.mark.parametrize("imputer_input", ["complement", "separate"])
def test_misgan_imputer_sees_what_its_input_setting_says(table, imputer_input):
    """Ĝ_i gets ``x ⊙ m + ω ⊙ (1 − m)`` (paper) or ``x ⊙ m``, ``m`` and ``ω`` side by side."""
    _, x = table
    model = _make(MisGANImputer, imputer_input=imputer_input).fit(x)
    data, mask = _rows(model, x)
    torch.manual_seed(1)
    output = model._imputer_output(data, mask)
    torch.manual_seed(1)
    omega = torch.rand_like(data)
    inputs = {
        "complement": data * mask + omega * (1 - mask),
        "separate": torch.cat([data * mask, mask, omega], dim=1),
    }
    torch.testing.assert_close(output, model.nets_["imputer"](inputs[imputer_input]))
    imputed = model.transform(x)
    observed = ~np.isnan(x)
    np.testing.assert_array_equal(imputed[observed], x[observed])
    assert not np.isnan(imputed).any()


def test_misgan_state_rebuilds_the_networks_it_was_fitted_with(table):
    _, x = table
    fitted = _make(MisGANImputer, imputer_input="separate", latent_dim=16).fit(x)
    restored = MisGANImputer(device="cpu").set_state(fitted.get_state())
    assert (restored.imputer_input, restored.latent_dim) == ("separate", 16)
    np.testing.assert_array_equal(restored.transform(x), fitted.transform(x))


def test_misgan_unknown_imputer_input_is_refused(table):
    _, x = table
    with pytest.raises(ValueError, match="imputer_input='mask'; choose one of"):
        _make(MisGANImputer, imputer_input="mask").fit(x)


@pytest.mark.parametrize(
    ("method", "settings"), [("gain", {"iterations": 50}), ("misgan", {"iterations": 10})]
)
def test_impute_dropouts_backends(sim_batches, method, settings):
    adata = sim_batches.copy()
    scgan.pp.impute_dropouts(adata, method=method, **settings)
    imputed = adata.layers["scgan_imputed"]
    observed = adata.X.toarray()
    assert np.isfinite(imputed).all() and (imputed >= 0).all()
    np.testing.assert_array_equal(imputed[observed > 0], observed[observed > 0])
    assert (imputed[observed == 0] > 0).all()
    record = adata.uns["scgan_imputed"]
    assert record["labels"] is None and record["params"]["iterations"] == settings["iterations"]
