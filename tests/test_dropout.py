import numpy as np
import pytest
import torch
from scipy import sparse

from scgan.models.began._dropout import (
    apply_dropout,
    calibrate_quantile,
    dropout_probability,
    fit_dropout_curve,
    group_mean_fill,
)


def test_probability_falls_as_expression_rises():
    values = torch.linspace(0, 5, 101)[None, None, :]
    p = dropout_probability(values, q=50, s=2.0)[0, 0]
    assert (torch.diff(p) < 0).all()


def test_midpoint_sits_at_the_percentile():
    rng = np.random.default_rng(0)
    values = torch.tensor(rng.gamma(2.0, 1.0, (40, 2, 50)), dtype=torch.float32)
    for q in (20, 60):
        p = dropout_probability(values, q=q, s=3.0)
        for g in range(2):
            threshold = torch.quantile(values[:, g].flatten(), q / 100)
            nearest = (values[:, g] - threshold).abs().argmin()
            assert p[:, g].flatten()[nearest] == pytest.approx(0.5, abs=0.02)


def test_percentile_ignores_padding():
    values = torch.tensor([[[1.0, 2.0, 3.0, 0.0]]])
    valid = torch.tensor([[True, True, True, False]])
    p = dropout_probability(values, q=50, s=5.0, valid=valid)
    assert p[0, 0, 1] == pytest.approx(0.5)  # the median of 1, 2, 3 (the pad is left out)


def test_dropout_zeroes_and_keeps_gradient():
    y = torch.full((200, 1, 30), 0.5, requires_grad=True)
    log_y = torch.linspace(0, 3, 30).expand(200, 1, 30)
    uniform = torch.rand(y.shape, generator=torch.Generator().manual_seed(0))
    dropped = apply_dropout(y, log_y, q=50, s=2.0, uniform=uniform)
    zero_rate = (dropped == 0).float().mean(dim=(0, 1))
    assert zero_rate[:5].mean() > 0.7 > 0.3 > zero_rate[-5:].mean()
    dropped.sum().backward()
    assert ((y.grad == 1) == (dropped != 0)).all()


def test_auto_hits_the_target_zero_rate():
    rng = np.random.default_rng(1)
    proxy = rng.gamma(2.0, 0.7, (300, 80))
    for target in (0.3, 0.6):
        q = calibrate_quantile(proxy.ravel(), np.ones(proxy.size), target, s=2.0)
        rate = dropout_probability(
            torch.tensor(proxy, dtype=torch.float32)[:, None, :], q, 2.0
        ).mean()
        assert float(rate) == pytest.approx(target, abs=0.005)


def test_unreachable_target_returns_an_end():
    proxy = np.linspace(0, 1, 100)
    assert calibrate_quantile(proxy, np.ones(100), 0.999, s=0.1) == 100.0


def test_weighted_values_count_as_repeated_ones():
    rng = np.random.default_rng(3)
    values, weights = rng.gamma(2.0, 0.7, 50), rng.integers(1, 6, 50)
    repeated = np.repeat(values, weights)
    q = calibrate_quantile(values, weights.astype(float), 0.4, s=2.0)
    assert q == pytest.approx(calibrate_quantile(repeated, np.ones(len(repeated)), 0.4, s=2.0))


def test_group_mean_fill_is_the_dense_fill_as_values_and_counts():
    rng = np.random.default_rng(4)
    log_values = np.where(rng.random((40, 12)) < 0.5, 0.0, rng.gamma(2.0, 1.0, (40, 12)))
    groups = rng.integers(0, 3, 40)
    values, weights = group_mean_fill(sparse.csr_matrix(log_values), groups)
    filled = log_values.copy()
    for g in range(3):
        block = filled[groups == g]
        filled[groups == g] = np.where(block == 0, block.mean(axis=0), block)
    expected = np.sort(filled.ravel())
    got = np.repeat(values, weights.astype(int))
    np.testing.assert_allclose(np.sort(got), expected, rtol=1e-12)


def test_fit_recovers_a_logistic_curve():
    rng = np.random.default_rng(2)
    mean_log = rng.uniform(0, 4, 400)
    p = 1 / (1 + np.exp(2.0 * (mean_log - 1.5)))
    zero = rng.random((3000, 400)) < p
    values = np.where(
        zero, 0.0, mean_log / (1 - p + 1e-9)
    )  # columns have the chosen zero fractions
    mid, s = fit_dropout_curve(values)
    assert s > 0
    zero_fraction = (values == 0).mean(0)
    fitted = 1 / (1 + np.exp(s * (values.mean(0) - mid)))
    assert np.abs(fitted - zero_fraction).mean() < 0.05
