import numpy as np
import pytest

from scgan import _neighbours
from scgan._data import normalise_log


@pytest.mark.slow  # pynndescent compiles its numba code
def test_neighbours_of_many_cells_are_approximate_but_close(sim_batches, monkeypatch):
    values = normalise_log(sim_batches.X).astype(np.float32)
    exact = _neighbours.nearest_neighbours(values, 10)
    monkeypatch.setattr(_neighbours, "EXACT_CELLS", 100)  # 240 cells: the approximate search
    approximate = _neighbours.nearest_neighbours(values, 10)
    assert approximate.shape == exact.shape
    assert (approximate != np.arange(values.shape[0])[:, None]).all()  # never itself
    found = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approximate, exact, strict=True)])
    assert found > 0.9


@pytest.mark.slow  # pynndescent compiles its numba code
def test_clusters_of_many_cells_use_the_approximate_search(monkeypatch):
    from scgan import _cluster

    monkeypatch.setattr(_neighbours, "EXACT_CELLS", 100)  # 450 cells: pynndescent
    rng = np.random.default_rng(0)
    blobs = np.repeat(np.arange(3), 150)
    embedding = rng.normal(size=(450, 10)).astype(np.float32) + 20 * blobs[:, None]
    clusters = _cluster.leiden(embedding)
    for cluster in np.unique(clusters):  # no cluster mixes two blobs
        assert len(np.unique(blobs[clusters == cluster])) == 1


@pytest.mark.slow  # scanpy's umap connectivities compile numba code
def test_connectivities_are_scanpys(sim_batches):
    import anndata as ad
    import scanpy as sc

    from scgan._cluster import fuzzy_connectivities, pca_embedding

    embedding = pca_embedding(normalise_log(sim_batches.X))
    graph = ad.AnnData(obsm={"X_pca": embedding}, shape=(embedding.shape[0], 0))
    sc.pp.neighbors(graph, n_neighbors=15, use_rep="X_pca")
    ours = fuzzy_connectivities(*_neighbours.knn(embedding, 15))
    assert ours.nnz == graph.obsp["connectivities"].nnz
    assert abs(ours - graph.obsp["connectivities"]).max() < 1e-5
