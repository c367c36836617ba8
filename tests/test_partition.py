import numpy as np
import pytest

from scgan.models.began._partition import gene_partitions, n_parts, resolve_repeats


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


def test_only_the_given_genes_are_cut():
    genes = np.array([0, 3, 4, 8, 9])
    parts = gene_partitions(10, 2, 2, np.random.default_rng(0), genes=genes)
    assert parts.shape == (4, 4)  # 2 parts of 4 per repeat for 5 genes
    for repeat in (parts[:2], parts[2:]):
        assert sorted(repeat[repeat < 10]) == list(genes)
    assert set(parts[parts >= 10]) == {10}


@pytest.mark.parametrize(("n_genes", "expected"), [(256 * 16, 3), (256 * 16 + 1, 1), (100, 3)])
def test_auto_repeats_follow_the_number_of_parts(n_genes, expected):
    assert resolve_repeats("auto", n_genes, 16) == expected
    assert resolve_repeats(2, n_genes, 16) == 2
