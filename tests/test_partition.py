import numpy as np
import pytest

from scgan._partition import gene_partitions, n_parts


@pytest.mark.parametrize(("n_genes", "side"), [(765, 16), (100, 4), (17, 3), (9, 3)])
def test_each_repeat_covers_every_gene_once(n_genes, side):
    parts = gene_partitions(n_genes, side, 3, np.random.default_rng(0))
    per_repeat = n_parts(n_genes, side)
    assert parts.shape == (3 * per_repeat, side * side)
    for r in range(3):
        genes = parts[r * per_repeat : (r + 1) * per_repeat].ravel()
        genes = genes[genes < n_genes]
        assert sorted(genes) == list(range(n_genes))


def test_repeats_are_fresh_permutations():
    parts = gene_partitions(300, 8, 2, np.random.default_rng(0))
    assert not np.array_equal(parts[: len(parts) // 2], parts[len(parts) // 2 :])


def test_padding_is_spread():
    parts = gene_partitions(300, 16, 1, np.random.default_rng(0))  # 2 parts of 256 for 300 genes
    assert [(row < 300).sum() for row in parts] == [150, 150]
