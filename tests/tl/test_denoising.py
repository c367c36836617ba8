import anndata as ad
import numpy as np
import pytest
from scipy import sparse

import scgan

TEST_COUNTS = "test_counts"


def test_split_adds_up_to_the_counts_and_drops_genes_without_training_counts():
    counts = np.array([[50, 0, 1], [30, 0, 0], [0, 0, 2]], dtype=np.float32)
    adata = ad.AnnData(sparse.csr_matrix(counts))
    split = scgan.tl.split_molecules(adata, train_fraction=0.5, random_state=1)
    kept = np.asarray(split.X.sum(axis=0)).ravel() > 0
    assert split.n_vars == kept.sum() and "1" not in split.var_names  # gene 1 has no counts
    whole = (split.X + split.layers[TEST_COUNTS]).toarray()
    np.testing.assert_array_equal(whole, counts[:, split.var_names.astype(int)])
    again = scgan.tl.split_molecules(adata, train_fraction=0.5, random_state=1)
    np.testing.assert_array_equal(again.X.toarray(), split.X.toarray())
    assert adata.X.sum() == counts.sum()  # input left alone


def test_split_draws_about_the_training_fraction():
    adata = ad.AnnData(sparse.csr_matrix(np.full((200, 50), 40, dtype=np.float32)))
    split = scgan.tl.split_molecules(adata, random_state=0)
    assert split.X.sum() / adata.X.sum() == pytest.approx(0.9, abs=0.005)


def test_split_refuses_non_integer_counts_and_bad_fractions():
    adata = ad.AnnData(sparse.csr_matrix(np.array([[1.5, 2.0]], dtype=np.float32)))
    with pytest.raises(ValueError, match="raw counts are needed"):
        scgan.tl.split_molecules(adata)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        scgan.tl.split_molecules(adata, train_fraction=1.0)


def _toy(output: np.ndarray) -> ad.AnnData:
    train = np.array([[3.0, 1.0], [1.0, 3.0]])
    adata = ad.AnnData(sparse.csr_matrix(train, dtype=np.float32))
    adata.layers[TEST_COUNTS] = sparse.csr_matrix(np.eye(2, dtype=np.float32))
    adata.layers["out"] = output.astype(np.float32)
    return adata


def test_denoising_scores_match_a_hand_computed_toy_case():
    scores = scgan.tl.score_denoising(_toy(np.ones((2, 2))), layer="out")
    l10k, l5k = np.log1p(1e4), np.log1p(5e3)
    mse_uniform = ((l10k - l5k) ** 2 + l5k**2) / 2  # per cell: one test count, one zero
    mse_train = ((l10k - np.log1p(7.5e3)) ** 2 + np.log1p(2.5e3) ** 2) / 2
    # d = output * sum(test) / sum(train) = output / 4
    eps = 1e-6
    poisson_uniform = (4 * 0.25 - 2 * np.log(0.25 + eps)) / 4
    poisson_train = (2.0 - 2 * np.log(0.75 + eps)) / 4
    poisson_test = (0.5 - 2 * np.log(0.25 + eps)) / 4
    assert scores["denoising_mse"] == pytest.approx(mse_uniform)
    assert scores["denoising_poisson"] == pytest.approx(poisson_uniform)
    mse_score = (mse_train - mse_uniform) / mse_train
    poisson_score = (poisson_train - poisson_uniform) / (poisson_train - poisson_test)
    assert scores["denoising_mse_score"] == pytest.approx(mse_score)
    assert scores["denoising_poisson_score"] == pytest.approx(poisson_score)
    assert scores["denoising_score"] == pytest.approx((mse_score + poisson_score) / 2)


def test_returning_train_scores_zero_and_returning_test_scores_one():
    train = _toy(np.array([[3.0, 1.0], [1.0, 3.0]]))
    assert scgan.tl.score_denoising(train, layer="out")["denoising_score"] == pytest.approx(0)
    test = _toy(np.eye(2))
    assert scgan.tl.score_denoising(test, layer="out")["denoising_score"] == pytest.approx(1)


def test_denoising_needs_the_split():
    adata = _toy(np.ones((2, 2)))
    del adata.layers[TEST_COUNTS]
    with pytest.raises(KeyError, match="split_molecules"):
        scgan.tl.score_denoising(adata, layer="out")
