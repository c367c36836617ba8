import anndata as ad
import numpy as np
import pytest
from scipy import sparse

import scgan


def test_permute_genes_shuffles_each_gene_on_its_own(sim_batches):
    shuffled = scgan.tl.permute_genes(sim_batches, random_state=0)
    before, after = sim_batches.X.toarray(), shuffled.X.toarray()
    np.testing.assert_array_equal(np.sort(before, axis=0), np.sort(after, axis=0))
    assert (before != after).any(axis=0).mean() > 0.9  # nearly every gene moved
    moved = (before != after).any(axis=1).mean()
    assert moved > 0.9  # and the cells no longer keep their profiles
    np.testing.assert_array_equal(
        scgan.tl.permute_genes(sim_batches, random_state=0).X.toarray(), after
    )
    assert list(shuffled.obs["cell_type"]) == list(sim_batches.obs["cell_type"])


def test_false_signal_counts_pairs_over_each_threshold():
    # Spearman: genes 0 and 1 rise together (r = 1); gene 2 has rank differences
    # -3, 1, -2, 1, 3 from them, so r = 1 - 6 * 24 / (5 * 24) = -0.2; gene 3 is
    # constant (its pairs count as uncorrelated); gene 4 copies gene 0 and gene 5
    # brings every cell's total to 100, but they have the lowest mean input
    # counts, so they are not among the top four.
    layer = np.array(
        [[1, 2, 4, 7, 1], [2, 4, 1, 7, 2], [3, 6, 5, 7, 3], [4, 8, 3, 7, 4], [5, 10, 2, 7, 5]],
        dtype=np.float32,
    )
    layer = np.column_stack([layer, 100 - layer.sum(axis=1)])
    observed = np.tile([5.0, 4.0, 3.0, 2.0, 1.0, 0.5], (5, 1))
    adata = ad.AnnData(sparse.csr_matrix(observed, dtype=np.float32))
    adata.layers["out"] = layer
    scores = scgan.tl.score_false_signal(adata, layer="out", n_genes=4)
    # six pairs: (0, 1) = 1, (0, 2) = (1, 2) = -0.2, three with the constant gene
    assert scores == {"spurious_share_0.1": pytest.approx(3 / 6), "spurious_share_0.3": 1 / 6}


def test_library_size_alone_is_no_false_signal():
    profile = np.array([4.0, 3.0, 2.0, 1.0])
    libraries = 2.0 ** np.random.default_rng(0).integers(0, 8, 30)  # shares exact in floats
    adata = ad.AnnData(sparse.csr_matrix(np.tile(profile, (30, 1)), dtype=np.float32))
    adata.layers["out"] = np.outer(libraries, profile)
    scores = scgan.tl.score_false_signal(adata, layer="out")
    assert scores == {"spurious_share_0.1": 0.0, "spurious_share_0.3": 0.0}
