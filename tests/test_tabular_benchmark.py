"""The metrics of ``benchmarks/tabular.py`` (the GAIN and MisGAN papers' protocols)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "tabular.py"


@pytest.fixture(scope="module")
def tabular():
    spec = importlib.util.spec_from_file_location("tabular_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def truth():
    rng = np.random.default_rng(0)
    return rng.normal(size=(400, 3)) @ rng.normal(size=(3, 3)) * 5 + 10


def test_frechet_is_zero_for_the_data_and_sees_a_shift(tabular, truth):
    assert tabular.frechet(truth, truth) == pytest.approx(0, abs=1e-9)
    shifted = truth.copy()
    shifted[:, 1] += 0.1 * np.ptp(truth[:, 1])  # 0.1 of the column's range
    assert tabular.frechet(shifted, truth) == pytest.approx(0.01)


def test_frechet_of_independent_columns_is_the_gap_in_spread(tabular):
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(100_000, 2))
    narrow = truth * np.array([0.5, 1.0])  # first column keeps its mean, half its spread
    span = np.ptp(truth[:, 0])
    expected = (0.5 * truth[:, 0].std(ddof=1) / span) ** 2  # (σ_a − σ_b)² on the scaled column
    assert tabular.frechet(narrow, truth) == pytest.approx(expected, rel=1e-3)


def test_rmse_scores_the_missing_entries_on_the_scaled_columns(tabular, truth):
    missing = np.zeros(truth.shape, dtype=bool)
    missing[:10, 0] = True
    imputed = truth.copy()
    imputed[missing] += 0.2 * np.ptp(truth[:, 0])
    imputed[~missing] += 1.0  # observed entries are not scored
    assert tabular.rmse(imputed, truth, missing) == pytest.approx(0.2)
