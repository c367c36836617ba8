"""Scale: scgan's default imputation beside MAGIC and scVI at the sizes users bring.

Cases (``--case``): ``simC_G`` is ``simulate(C, G, n_cell_types=8)`` with
the cell types given (``sim3k_20k``: 3 000 cells × 20 000 genes; also
``sim3k_2k``, ``sim30k_1k``, ``sim30k_2k``, ``sim30k_20k``, ``sim100k_2k``);
``pbmc3k`` is 10x PBMC 3k with all its 32 738 genes and ``pbmc3k_2k`` its
2 000 most variable (scanpy's ``seurat_v3``), both with labels derived by
clustering; ``pbmc68k`` is ``scgan.datasets.pbmc68k()`` with its cell types.

Each method runs in its own process, one after the other, on the same data
(written once to an ``.h5ad`` in ``--cache``), with scgan's default threads
(``scanpy.settings.n_jobs``, 1) and one thread for MAGIC and scVI. scVI is
trained for ``--scvi-epochs`` epochs and its default training (scvi-tools'
``min(round(20 000 / cells × 400), 400)`` epochs) is estimated from that.
``--busy`` runs everything beside one CPU-busy process per core.
``--n-jobs`` and ``--devices`` are passed to scgan (its row names them).
``peak GB`` is the process's peak resident memory, ``data GB`` its resident
memory once the data are read, ``output GB`` the float32 layers written.

    python benchmarks/scale.py --case sim30k_1k [--methods scgan magic scvi] [--busy]
                               [--n-jobs N] [--devices N]

Prints a markdown table and writes it to ``--out`` (default: ``scale_<case>.md``
in the system's temporary folder).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anndata as ad
import numpy as np
import scanpy as sc
import torch

import scgan

CASES = {
    "sim3k_2k": (3_000, 2_000),
    "sim3k_20k": (3_000, 20_000),
    "sim30k_1k": (30_000, 1_000),
    "sim30k_2k": (30_000, 2_000),
    "sim30k_20k": (30_000, 20_000),
    "pbmc3k": None,
    "pbmc3k_2k": None,
    "pbmc68k": None,
    "sim100k_2k": (100_000, 2_000),
}
METHODS = ("scgan", "magic", "scvi")


def main() -> None:
    args = _parse()
    if args.worker:
        print(json.dumps(_work(args)))
        return
    data = _write_data(args.case, Path(args.cache))
    busy = _start_busy() if args.busy else []
    try:
        rows = [_run_child(args, data, method) for method in args.methods]
    finally:
        for process in busy:
            process.kill()
    table = _table(args.case, rows, "busy" if args.busy else "idle")
    print(table)
    out = Path(args.out or Path(tempfile.gettempdir()) / f"scale_{args.case}.md")
    out.write_text(table + "\n")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, required=True)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--busy", action="store_true", help="beside one busy process per core")
    parser.add_argument("--scvi-epochs", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, help="scgan's threads (default: its own)")
    parser.add_argument("--devices", type=int, default=1, help="scgan's processes")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "scgan_scale"))
    parser.add_argument("--out", help="where to write the table")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    return parser.parse_args()


def _write_data(case: str, cache: Path) -> Path:
    """The case's data as an ``.h5ad`` in ``cache`` (made once)."""
    path = cache / f"{case}.h5ad"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    if case == "pbmc68k":
        adata = scgan.datasets.pbmc68k()
        adata.obs["cell_type"] = adata.obs["bulk_labels"]
    elif case.startswith("pbmc3k"):
        adata = scgan.datasets.pbmc3k()
        if case == "pbmc3k_2k":
            sc.pp.filter_genes(adata, min_counts=1)
            sc.pp.highly_variable_genes(adata, n_top_genes=2000, flavor="seurat_v3")
            adata = adata[:, adata.var["highly_variable"]].copy()
    else:
        cells, genes = CASES[case]
        adata = scgan.datasets.simulate(cells, genes, n_cell_types=8, random_state=0)
        del adata.layers["true_counts"]
    partial = path.with_suffix(".partial")
    adata.write_h5ad(partial)
    partial.rename(path)
    return path


def _start_busy() -> list[subprocess.Popen]:
    loop = [sys.executable, "-c", "while True: pass"]
    return [subprocess.Popen(loop) for _ in range(len(os.sched_getaffinity(0)))]


def _run_child(args: argparse.Namespace, data: Path, method: str) -> dict:
    command = [sys.executable, __file__, "--case", args.case, "--worker", method]
    command += ["--data", str(data), "--scvi-epochs", str(args.scvi_epochs)]
    command += ["--devices", str(args.devices)]
    command += ["--n-jobs", str(args.n_jobs)] if args.n_jobs else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"method": method, "error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _work(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)  # MAGIC and scVI; scgan sets its own (scanpy's n_jobs)
    adata = ad.read_h5ad(args.data)
    data_gb = _memory_gb("VmRSS")
    start = time.perf_counter()
    row = {"method": args.worker, "cells": adata.n_obs, "genes": adata.n_vars}
    if args.worker == "scgan":
        labels = "cell_type" if "cell_type" in adata.obs else None
        settings = {"n_jobs": args.n_jobs, "devices": args.devices}
        scgan.pp.impute_dropouts(adata, labels_key=labels, progress=False, **settings)
        params = adata.uns["scgan_imputed"]["params"]
        if args.n_jobs or args.devices > 1:
            row["method"] = f"scgan n_jobs={args.n_jobs}, devices={args.devices}"
        layers = [k for k in adata.layers if k.startswith("scgan_imputed")]
        row |= {
            "epochs": params["epochs_run"],
            "genes trained": params["genes_trained"],
            "repeats": params["n_repeats_used"],
            "output GB": sum(adata.layers[k].nbytes for k in layers) / 2**30,
        }
    elif args.worker == "magic":
        imputed = scgan.tl.BASELINES["magic"](adata.X)
        row["output GB"] = imputed.nbytes / 2**30
    else:
        scgan.tl.BASELINES["scvi"](adata.X, max_epochs=args.scvi_epochs)
        default = min(round(20_000 / adata.n_obs * 400), 400)
        per_epoch = (time.perf_counter() - start) / args.scvi_epochs
        row |= {"epochs": args.scvi_epochs, "scVI default (s, est.)": per_epoch * default}
    row["seconds"] = time.perf_counter() - start
    return row | {"peak GB": _memory_gb("VmHWM"), "data GB": data_gb}


def _memory_gb(field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak) of this process, from ``/proc`` (Linux).

    Unlike ``getrusage``'s maximum, ``VmHWM`` starts afresh in a new program,
    so the parent's peak does not show in the child's.
    """
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 2**20  # kB


def _table(case: str, rows: list[dict], condition: str) -> str:
    magic = next((r["seconds"] for r in rows if r["method"] == "magic" and "seconds" in r), None)
    scvi = next((r for r in rows if "scVI default (s, est.)" in r), None)
    keys = ["method", "cells", "genes", "seconds", "× MAGIC", "× scVI default", "epochs"]
    keys += ["scVI default (s, est.)", "genes trained", "repeats", "peak GB", "data GB"]
    keys += ["output GB", "error"]
    lines = [f"### {case} ({condition})", ""]
    lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        if "seconds" in row and magic:
            row["× MAGIC"] = row["seconds"] / magic
        if "seconds" in row and scvi and row["method"] == "scgan":
            row["× scVI default"] = row["seconds"] / scvi["scVI default (s, est.)"]
        lines.append("| " + " | ".join(_cell(row.get(k)) for k in keys) + " |")
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


if __name__ == "__main__":
    main()
