"""Every backend in the registry keeps the contract ``scgan.Imputer`` relies on."""

import itertools

import numpy as np
import pytest
import torch
from conftest import TINY

import scgan
from scgan._anndata import get_counts
from scgan._train import FusedAdam
from scgan.models import BACKENDS, Backend, Imputation

METHODS = sorted(BACKENDS)


def test_every_backend_has_tiny_settings():
    assert set(TINY) == set(BACKENDS)


@pytest.mark.parametrize("method", METHODS)
def test_class_declares_the_contract(method):
    backend = BACKENDS[method]
    assert issubclass(backend, Backend) and backend.name == method
    assert backend.summary and backend.config_class().__class__ is backend.config_class
    for flag in ("uses_labels", "uses_batches", "denoises", "supports_target_batch"):
        assert isinstance(getattr(backend, flag), bool), flag
    if backend.supports_target_batch:
        assert backend.uses_batches


@pytest.fixture(scope="module")
def fitted(sim_batches):
    """Each backend fitted on the small simulated set, with its codes and counts."""
    counts = get_counts(sim_batches)
    codes = np.stack(
        [sim_batches.obs[key].cat.codes.to_numpy() for key in ("cell_type", "batch")], axis=1
    ).astype(np.int64)
    models = {}
    for method in METHODS:
        backend = BACKENDS[method]
        config = backend.config_class(**TINY[method])
        model = backend(config, device="cpu", random_state=0)
        used = codes if backend.uses_batches else codes[:, :1]
        n_categories = [3, 2] if backend.uses_batches else [3]
        if not model.takes_conditions():
            used, n_categories = None, None
        models[method] = (model.fit(counts, used, n_categories), used)
    return counts, models


@pytest.mark.parametrize("method", METHODS)
def test_fit_and_impute_give_counts_of_the_right_shape(fitted, method):
    counts, models = fitted
    model, codes = models[method]
    result = model.impute(counts, codes)
    assert isinstance(result, Imputation)
    assert result.mean.shape == counts.shape and result.mean.dtype == np.float32
    assert np.isfinite(result.mean).all() and (result.mean >= 0).all()
    if result.spread is not None:
        assert result.spread.shape == counts.shape and result.spread.dtype == np.float32


@pytest.mark.parametrize("method", METHODS)
def test_history_has_one_schema(fitted, method):
    """Named terms, each with one value (or one per gene part) per epoch."""
    model = fitted[1][method][0]
    history = model.history_
    assert history and all(isinstance(name, str) for name in history)
    lengths = {len(values) for values in history.values()}
    assert len(lengths) == 1 and lengths.pop() >= 1
    for values in history.values():
        assert np.isfinite(np.asarray(values, dtype=np.float64)).all()
    players = {"discriminator", "generator"}, {"critic", "generator"}, {"likelihood"}
    assert any(terms <= set(history) for terms in players)


@pytest.mark.parametrize("method", METHODS)
def test_state_round_trip_imputes_the_same(fitted, method):
    counts, models = fitted
    model, codes = models[method]
    restored = BACKENDS[method](model.config, device="cpu", random_state=0)
    restored.set_state(model.get_state())
    np.testing.assert_allclose(
        restored.impute(counts, codes).mean, model.impute(counts, codes).mean, rtol=1e-5
    )


@pytest.mark.parametrize("method", METHODS)
def test_flags_are_honoured_by_the_imputer(sim_batches, method):
    backend = BACKENDS[method]
    adata = sim_batches.copy()
    imputer = scgan.Imputer(method, labels_key="cell_type", device="cpu", **TINY[method])
    if not backend.denoises:
        with pytest.raises(ValueError, match="only fills zeros"):
            imputer.fit_impute(adata, only_zeros=False)
    if not backend.supports_target_batch:
        with pytest.raises(ValueError, match="target_batch"):
            imputer.fit_impute(adata, target_batch="batch_1")
    imputer.fit_impute(adata)
    assert (imputer.conditions_.labels is not None) == backend.uses_labels
    assert ("scgan_imputed_std" in adata.layers) == (method in ("began", "scigans"))
    assert adata.layers["scgan_imputed"].dtype == np.float32


@pytest.mark.parametrize("method", METHODS)
def test_only_the_training_loop_steps_optimisers(sim_batches, method, monkeypatch):
    """Every optimiser of every backend is made and stepped by ``scgan._train``, the one loop."""
    import inspect

    callers = []
    for optimiser, name in itertools.product((torch.optim.Adam, FusedAdam), ("__init__", "step")):
        original = getattr(optimiser, name)

        def recorded(self, *args, _original=original, **kwargs):
            outside_torch = (f.filename for f in inspect.stack()[1:] if "/torch/" not in f.filename)
            callers.append(next(outside_torch))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(optimiser, name, recorded)
    counts = get_counts(sim_batches)
    BACKENDS[method](BACKENDS[method].config_class(**TINY[method])).fit(counts)
    assert callers and {
        caller.rsplit("/", 2)[-2:] == ["scgan", "_train.py"] for caller in callers
    } == {True}
