"""scgan.Imputer: train once, impute new cells, save and load without running code."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import TINY

import scgan

SETTINGS = TINY


@pytest.fixture
def adata(sim_batches):
    return sim_batches.copy()


def _split(adata):
    return adata[:160].copy(), adata[160:].copy()


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        *((method, SETTINGS[method]) for method in sorted(SETTINGS)),
        ("misgan", {"iterations": 30, "gamma": 30.0, "imputer_input": "separate"}),
    ],
)
def test_saved_model_imputes_like_the_fitted_one(adata, tmp_path, method, settings):
    train, new = _split(adata)
    imputer = scgan.Imputer(method, labels_key="cell_type", device="cpu", **settings)
    imputer.fit(train)
    direct = imputer.impute(new, copy=True)
    imputer.save(tmp_path / "model")
    loaded = scgan.Imputer.load(tmp_path / "model", device="cpu")
    again = loaded.impute(new, copy=True)
    np.testing.assert_allclose(
        again.layers["scgan_imputed"], direct.layers["scgan_imputed"], rtol=1e-5, atol=1e-6
    )
    assert loaded.genes_ == list(adata.var_names)
    assert "scgan_imputed" not in new.layers  # copy=True leaves the input alone


def test_impute_dropouts_equals_fit_then_impute(adata):
    settings = SETTINGS["began"]
    by_call = scgan.pp.impute_dropouts(adata, labels_key="cell_type", copy=True, **settings)
    imputer = scgan.Imputer(labels_key="cell_type", **settings).fit(adata)
    by_object = imputer.impute(adata, copy=True)
    np.testing.assert_allclose(
        by_object.layers["scgan_imputed"], by_call.layers["scgan_imputed"], rtol=1e-5
    )


def test_genes_in_another_order_are_matched_and_other_genes_refused(adata):
    train, new = _split(adata)
    imputer = scgan.Imputer(labels_key="cell_type", **SETTINGS["began"]).fit(train)
    reference = imputer.impute(new, copy=True).layers["scgan_imputed"]
    order = np.random.default_rng(0).permutation(new.n_vars)
    shuffled = imputer.impute(new[:, order].copy(), copy=True).layers["scgan_imputed"]
    np.testing.assert_allclose(shuffled, reference[:, order], rtol=1e-5)
    with pytest.raises(ValueError, match=r"1 missing \(e.g. \['gene_0'\]\)"):
        imputer.impute(new[:, 1:].copy())


def test_unseen_categories_are_named(adata):
    train, new = _split(adata)
    imputer = scgan.Imputer(labels_key="cell_type", batch_key="batch", **SETTINGS["began"])
    imputer.fit(train)
    new.obs["cell_type"] = new.obs["cell_type"].astype(str).replace({"type_1": "type_9"})
    with pytest.raises(ValueError, match="not seen in training: \\['type_9'\\]"):
        imputer.impute(new)
    del new.obs["batch"]
    new.obs["cell_type"] = "type_1"
    with pytest.raises(KeyError, match="batch"):
        imputer.impute(new)
    with pytest.raises(KeyError, match="batch"):  # the move starts from each cell's batch
        imputer.impute(new, target_batch="batch_1")


def test_derived_labels_reach_new_cells_by_nearest_centroid(adata, tmp_path):
    train, new = _split(adata)
    imputer = scgan.Imputer(**SETTINGS["began"]).fit(train)
    assert imputer.conditions_.labels["derived"]
    imputer.impute(new)
    codes = new.uns["scgan_imputed"]["labels"]["codes"]
    assert len(codes) == new.n_obs
    # cells of one true type mostly share a derived label
    truth = new.obs["cell_type"].to_numpy()
    purity = np.mean(
        [np.bincount(codes[truth == t]).max() / (truth == t).sum() for t in set(truth)]
    )
    assert purity > 0.8
    imputer.save(tmp_path / "model")
    loaded = scgan.Imputer.load(tmp_path / "model")
    assert np.allclose(loaded.conditions_.centroids, imputer.conditions_.centroids)


def test_save_refuses_to_overwrite_and_unfitted_models(adata, tmp_path):
    imputer = scgan.Imputer(labels_key="cell_type", **SETTINGS["began"])
    with pytest.raises(RuntimeError, match="not trained yet"):
        imputer.save(tmp_path / "model")
    imputer.fit(adata)
    imputer.save(tmp_path / "model")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        imputer.save(tmp_path / "model")
    imputer.save(tmp_path / "model", overwrite=True)
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["scgan.json", "weights.pt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a folder holding only a saved scgan model"):
        imputer.save(tmp_path / "results", overwrite=True)
    assert (tmp_path / "results" / "notes.txt").read_text() == "keep me"


class _Exploit:
    """Unpickling this object would create a file: the weights loader must refuse it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_loading_never_runs_code_from_the_file(adata, tmp_path):
    imputer = scgan.Imputer(labels_key="cell_type", **SETTINGS["began"]).fit(adata)
    imputer.save(tmp_path / "model")
    marker = tmp_path / "pwned"
    with open(tmp_path / "model" / "weights.pt", "wb") as handle:
        pickle.dump({"x": _Exploit(marker)}, handle, protocol=2)
    with pytest.raises(ValueError, match="not a plain weights file"):
        scgan.Imputer.load(tmp_path / "model")
    assert not marker.exists()


def test_load_refuses_other_files(adata, tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved scgan model"):
        scgan.Imputer.load(tmp_path / "nothing")
    scgan.Imputer(labels_key="cell_type", **SETTINGS["began"]).fit(adata).save(tmp_path / "model")
    settings = tmp_path / "model" / "scgan.json"
    settings.write_text(json.dumps(json.loads(settings.read_text()) | {"method": "rnn"}))
    with pytest.raises(ValueError, match="is not a saved scgan model"):
        scgan.Imputer.load(tmp_path / "model")


def test_a_model_of_an_earlier_format_is_refused_naming_both_versions(adata, tmp_path):
    scgan.Imputer(labels_key="cell_type", **SETTINGS["began"]).fit(adata).save(tmp_path / "model")
    settings = tmp_path / "model" / "scgan.json"
    old = {"format": 1, "scgan_version": "0.1.0"}  # what scgan 0.1.0 wrote
    settings.write_text(json.dumps(json.loads(settings.read_text()) | old))
    with pytest.raises(ValueError) as refused:
        scgan.Imputer.load(tmp_path / "model")
    message = str(refused.value)
    assert "saved by scgan 0.1.0 (model format 1)" in message
    assert f"scgan {scgan.__version__} reads format 2" in message
    assert "fit and save the model again" in message


def test_progress_bar_shows_epoch_m_and_k_only_when_asked(adata, capsys):
    settings = SETTINGS["began"]
    scgan.pp.impute_dropouts(adata, labels_key="cell_type", progress=True, **settings)
    bar = capsys.readouterr().err
    assert f"epoch={settings['epochs']}/{settings['epochs']}" in bar
    assert "validation_loss=" in bar and "step/s" in bar  # moves within an epoch
    assert "k_t=" not in bar  # no game by default
    game = settings | {"adversary": 0.1}
    scgan.pp.impute_dropouts(adata, labels_key="cell_type", progress=True, **game)
    assert "M=" in capsys.readouterr().err
    scgan.pp.impute_dropouts(adata, labels_key="cell_type", progress=False, **settings)
    scgan.pp.impute_dropouts(adata, labels_key="cell_type", **settings)  # not a terminal
    err = capsys.readouterr().err
    assert "step/s" not in err and "epoch=" not in err  # no bar; the log lines remain
    assert "added .layers['scgan_imputed']" in err


def test_progress_bar_shows_by_default_in_a_jupyter_kernel(adata, capsys, ipython_shell):
    ipython_shell(kernel=True)
    scgan.pp.impute_dropouts(adata, labels_key="cell_type", **SETTINGS["began"])
    assert "step/s" in capsys.readouterr().err
    ipython_shell(kernel=False)  # IPython in a terminal: stderr decides
    scgan.pp.impute_dropouts(adata, labels_key="cell_type", **SETTINGS["began"])
    assert "step/s" not in capsys.readouterr().err


@pytest.mark.parametrize("method", sorted(SETTINGS))
def test_loading_and_imputing_leave_the_global_rng_alone(adata, tmp_path, method):
    imputer = scgan.Imputer(method, labels_key="cell_type", device="cpu", **SETTINGS[method])
    imputer.fit(adata).save(tmp_path / "model")
    draws = {"n_draws": 2} if method == "began" else {}  # draws use a seeded stream of their own
    layer = "scgan_imputed_draw_1" if draws else "scgan_imputed"
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    loaded = scgan.Imputer.load(tmp_path / "model", device="cpu")
    first = loaded.impute(adata, copy=True, **draws).layers[layer]
    np.testing.assert_array_equal(torch.rand(3), expected)
    np.testing.assert_array_equal(loaded.impute(adata, copy=True, **draws).layers[layer], first)


@pytest.mark.slow  # starts Python
def test_label_derivation_leaves_torch_threads_alone():
    # in a fresh process: building the kNN graph once reset torch's thread count
    code = (
        "import torch; torch.set_num_threads(1); torch.get_num_threads()\n"
        "import scgan\n"
        "from scgan._cluster import leiden, pca_embedding\n"
        "from scgan._data import normalise_log\n"
        "counts = scgan.datasets.simulate(60, 30, random_state=0).X\n"
        "leiden(pca_embedding(normalise_log(counts)))\n"
        "print(torch.get_num_threads())"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split()[-1] == "1"


@pytest.mark.parametrize("n_jobs", [None, 1, -1])
def test_n_jobs_sets_the_threads_while_working_and_restores_them(adata, monkeypatch, n_jobs):
    from scgan._device import available_cores

    imputer = scgan.Imputer(labels_key="cell_type", n_jobs=n_jobs, **SETTINGS["began"])
    seen = []
    fit = imputer.backend.fit
    monkeypatch.setattr(
        imputer.backend, "fit", lambda *args: seen.append(torch.get_num_threads()) or fit(*args)
    )
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        imputer.fit_impute(adata)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    assert seen == [available_cores() if n_jobs == -1 else 1]  # None: scanpy's n_jobs, 1


def test_threads_follow_scanpy_and_never_exceed_the_cores():
    import scanpy

    from scgan._device import available_cores, resolve_threads

    cores, n_jobs = available_cores(), scanpy.settings.n_jobs
    scanpy.settings.n_jobs = -1
    try:
        assert resolve_threads(None) == cores
    finally:
        scanpy.settings.n_jobs = n_jobs
    assert resolve_threads(1000) == cores
    assert resolve_threads(-cores) == 1
    for bad in (0, -cores - 1):
        with pytest.raises(ValueError, match="n_jobs"):
            resolve_threads(bad)


def test_labels_beyond_label_cells_cluster_a_sample_and_place_the_rest(adata, monkeypatch):
    from scgan._anndata import _conditions

    monkeypatch.setattr(_conditions, "LABEL_CELLS", 120)  # of 240 cells
    monkeypatch.setattr(_conditions, "PLACE_ROWS", 50)  # placed in chunks
    codes, names, centroids = _conditions.derive_labels(adata.X, random_state=0)
    again, _, _ = _conditions.derive_labels(adata.X, random_state=0)
    assert len(codes) == adata.n_obs and len(centroids) == len(names) > 1
    np.testing.assert_array_equal(codes, again)
    sample = np.sort(np.random.default_rng(0).choice(adata.n_obs, 120, replace=False))
    rest = np.setdiff1d(np.arange(adata.n_obs), sample)
    placed = _conditions.nearest_centroid(adata.X[rest], centroids)
    np.testing.assert_array_equal(codes[rest], placed)
    log_values = _conditions.normalise_log(adata.X[sample])  # the sample keeps its clusters
    clusters = _conditions.leiden(_conditions.pca_embedding(log_values, random_state=0))
    np.testing.assert_array_equal(codes[sample], np.unique(clusters, return_inverse=True)[1])
    truth = adata.obs["cell_type"].to_numpy()  # the placed cells follow the cell types
    purity = np.mean(
        [np.bincount(codes[truth == t]).max() / (truth == t).sum() for t in set(truth)]
    )
    assert purity > 0.8
