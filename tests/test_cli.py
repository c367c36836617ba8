"""The ``scgan`` command line: outputs, refusals, one-line errors, atomic writes."""

import hashlib
import json
import subprocess
import sys

import anndata
import numpy as np
import pandas
import pytest

import scgan
from scgan._cli import main

FAST = ["--set", "side=4", "--set", "epochs=2", "--set", "n_repeats=1", "--threads", "1"]


@pytest.fixture
def files(sim_batches, tmp_path):
    sim_batches.write_h5ad(tmp_path / "in.h5ad")
    sim_batches[:60].copy().write_h5ad(tmp_path / "new.h5ad")
    return tmp_path


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_impute_writes_output_and_model_and_leaves_input_alone(files, capsys):
    source = files / "in.h5ad"
    before = _digest(source)
    args = ["impute", str(source), "-o", str(files / "out.h5ad"), "--labels-key", "cell_type"]
    assert main([*args, "--save-model", str(files / "model"), "--n-draws", "2", *FAST]) == 0
    assert _digest(source) == before
    out = anndata.read_h5ad(files / "out.h5ad")
    assert "scgan_imputed" in out.layers
    assert "scgan_imputed_std" in out.layers  # the count's spread under the model
    assert {"scgan_imputed_draw_1", "scgan_imputed_draw_2"} <= set(out.layers)
    assert out.layers["scgan_imputed"].dtype == np.float32
    log = capsys.readouterr().err
    assert "added .layers['scgan_imputed']" in log and "wrote" in log
    new_out = files / "new_out.tsv"
    assert (
        main(
            [
                "impute",
                str(files / "new.h5ad"),
                "-o",
                str(new_out),
                "--model",
                str(files / "model"),
                "--quiet",
            ]
        )
        == 0
    )
    assert capsys.readouterr().err == ""  # --quiet: no log lines, no bar
    table = np.loadtxt(new_out, delimiter="\t", skiprows=1, usecols=range(1, 61))
    assert table.shape == (out.n_vars, 60)  # genes × cells, scIGANs' layout


def test_existing_output_is_refused_without_force(files, capsys):
    target = files / "out.h5ad"
    target.write_text("keep me")
    args = ["impute", str(files / "in.h5ad"), "-o", str(target), *FAST]
    assert main(args) == 1
    assert (
        capsys.readouterr().err.strip()
        == f"scgan: error: {target} exists; pass --force to overwrite it"
    )
    assert target.read_text() == "keep me"
    assert main([*args, "--force", "--quiet"]) == 0
    assert anndata.read_h5ad(target).n_obs > 0


def test_input_is_never_the_output(files, capsys):
    source = files / "in.h5ad"
    before = _digest(source)
    assert main(["impute", str(source), "-o", str(source), "--force"]) == 1
    assert "never overwrites its input" in capsys.readouterr().err
    assert _digest(source) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--labels-key", "nope"], "obs['nope'] not found"),
        (["--layer", "nope"], "layer 'nope' not found"),
        (["--set", "epochz=2"], "has no setting ['epochz']"),
        (["--target-batch", "batch_1"], "needs batch_key"),
    ],
)
def test_bad_input_exits_with_one_line(files, capsys, extra, message):
    code = main(["impute", str(files / "in.h5ad"), "-o", str(files / "out.h5ad"), *extra, *FAST])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("scgan: error: ") and message in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not (files / "out.h5ad").exists()


def test_missing_input_and_non_counts(files, capsys, sim_batches):
    assert main(["impute", str(files / "nothing.h5ad"), "-o", str(files / "o.h5ad")]) == 1
    assert "not found" in capsys.readouterr().err
    logged = sim_batches.copy()
    logged.X = np.log1p(logged.X.toarray())
    logged.write_h5ad(files / "log.h5ad")
    assert main(["impute", str(files / "log.h5ad"), "-o", str(files / "o.h5ad")]) == 1
    assert "pass layer='counts'" in capsys.readouterr().err


def test_crash_while_writing_leaves_no_file(files, monkeypatch):
    from scgan._anndata import _write

    write_blocks = _write._write_blocks

    def crash(layers, blocks, *args):
        write_blocks(layers, [next(iter(blocks))], *args)  # one block in, then the disk fills
        raise OSError("disk full")

    monkeypatch.setattr(_write, "_write_blocks", crash)
    assert main(["impute", str(files / "in.h5ad"), "-o", str(files / "out.h5ad"), *FAST]) == 1
    assert sorted(p.name for p in files.iterdir()) == ["in.h5ad", "new.h5ad"]

    def crash_whole(self, path, **kwargs):
        path.write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(pandas.DataFrame, "to_csv", crash_whole)
    assert main(["impute", str(files / "in.h5ad"), "-o", str(files / "out.tsv"), *FAST]) == 1
    assert sorted(p.name for p in files.iterdir()) == ["in.h5ad", "new.h5ad"]


def test_scigans_text_input_with_label_file(tmp_path, sim_batches):
    small = sim_batches[:40, :30].copy()
    small.to_df().T.to_csv(tmp_path / "counts.txt", sep="\t")
    (tmp_path / "labels.txt").write_text("\n".join(small.obs["cell_type"].astype(str)) + "\n")
    args = ["impute", str(tmp_path / "counts.txt"), "--labels", str(tmp_path / "labels.txt")]
    out = tmp_path / "out.h5ad"
    code = main([*args, "-o", str(out), "--method", "scigans", "--set", "epochs=1", "--quiet"])
    assert code == 0
    result = anndata.read_h5ad(out)
    assert result.uns["scgan_imputed"]["labels"]["key"] == "label"


def test_benchmark_command_writes_scores(tmp_path, sim_batches, capsys):
    sim_batches.write_h5ad(tmp_path / "in.h5ad")
    out = tmp_path / "scores.csv"
    args = ["benchmark", str(tmp_path / "in.h5ad"), "-o", str(out), "--labels-key", "cell_type"]
    methods = ["--methods", "none", "celltype_mean", "--protocols", "masked", "denoising"]
    assert main([*args, *methods, "--quiet"]) == 0
    scores = out.read_text()
    assert scores.startswith("dataset,protocol,method,metric,value,seconds,peak_memory_mb")
    assert "denoising_score" in scores and "spurious_share" not in scores
    assert "celltype_mean" in capsys.readouterr().out


def test_quiet_benchmark_shows_no_bar_where_one_would_show(
    tmp_path, sim_batches, capsys, ipython_shell
):
    ipython_shell(kernel=True)  # as inside Jupyter: bars on by default
    sim_batches.write_h5ad(tmp_path / "in.h5ad")
    args = ["benchmark", str(tmp_path / "in.h5ad"), "--protocols", "masked", "--methods", "began"]
    args += ["--labels-key", "cell_type", "-o", str(tmp_path / "scores.csv")]
    assert main([*args, "--quiet"]) == 0
    assert "step/s" not in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    assert "step/s" in capsys.readouterr().err


def test_threads_reach_scgan_and_everything_is_restored(files, monkeypatch):
    import logging

    import scanpy
    import torch

    from scgan._device import available_cores

    logger = logging.getLogger("scgan")
    before = (torch.get_num_threads(), logger.level, list(logger.handlers))
    n_jobs = scanpy.settings.n_jobs
    seen = []
    fit = scgan.Imputer._train
    monkeypatch.setattr(
        scgan.Imputer,
        "_train",
        lambda self, *a: (
            seen.append((scanpy.settings.n_jobs, torch.get_num_threads())) or fit(self, *a)
        ),
    )
    torch.set_num_threads(2)
    try:
        args = ["impute", str(files / "in.h5ad"), "-o", str(files / "out.h5ad")]
        assert main([*args, "--labels-key", "cell_type", *FAST, "--threads", "-1"]) == 0
        assert seen == [(-1, available_cores())]
        assert (torch.get_num_threads(), logger.level, logger.handlers) == (2, *before[1:])
        assert scanpy.settings.n_jobs == n_jobs
    finally:
        torch.set_num_threads(before[0])


def test_saved_model_options_and_other_folders_are_refused(files, capsys):
    source, out = str(files / "in.h5ad"), str(files / "out.h5ad")
    (files / "model").mkdir()
    assert main(["impute", source, "-o", out, "--model", str(files / "model"), *FAST]) == 1
    assert "--model uses the saved model's settings; drop --set" in capsys.readouterr().err
    (files / "results").mkdir()
    (files / "results" / "notes.txt").write_text("keep me")
    args = ["impute", source, "-o", out, "--save-model", str(files / "results"), "--force"]
    assert main(args) == 1
    assert "not a folder holding only a saved scgan model" in capsys.readouterr().err
    assert (files / "results" / "notes.txt").read_text() == "keep me"
    assert not (files / "out.h5ad").exists()  # refused before training


@pytest.mark.slow  # starts the command in a new Python
def test_help_documents_every_option():
    text = subprocess.run(
        [sys.executable, "-m", "scgan", "impute", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in (
        "--method",
        "--layer",
        "--labels-key",
        "--batch-key",
        "--target-batch",
        "--device",
        "--seed",
        "--save-model",
        "--force",
        "--quiet",
    ):
        assert option in text
    assert scgan.__version__


def test_a_model_of_an_earlier_format_is_refused_in_one_line(files, capsys):
    source, out = str(files / "in.h5ad"), str(files / "out.h5ad")
    args = ["impute", source, "-o", out, "--labels-key", "cell_type", *FAST]
    assert main([*args, "--save-model", str(files / "model")]) == 0
    settings = files / "model" / "scgan.json"
    old = {"format": 1, "scgan_version": "0.1.0"}  # what scgan 0.1.0 wrote
    settings.write_text(json.dumps(json.loads(settings.read_text()) | old))
    capsys.readouterr()
    again = ["impute", source, "-o", str(files / "again.h5ad"), "--model", str(files / "model")]
    assert main(again) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("scgan: error: ") and "saved by scgan 0.1.0 (model format 1)" in line
    assert not (files / "again.h5ad").exists()
