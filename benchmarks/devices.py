"""Devices: scgan on 1 and 2 processes, and ``scgan impute`` on a million cells read from a file.

``--case scaling`` (default): ``simulate(--cells, --genes, n_cell_types=8)``
imputed with ``devices=1`` (1 thread), ``devices=2`` (two processes of
1 thread) and ``devices=1, n_jobs=2`` (one process of 2 threads), each in
its own process on the same ``.h5ad``; ``max |Δ|`` is the largest difference
from ``devices=1``'s imputed layer. With CUDA GPUs add ``--device cuda``.

``--case million``: ``scgan impute`` (the command, ``.h5ad`` to ``.h5ad``,
reading and writing a block of rows at a time) on ``simulate(1_000_000,
1_000)`` written as an ``.h5ad`` (made once in ``--cache``).

``peak GB`` is the imputing process's peak resident memory (``VmHWM``; with
``devices=2`` that of the calling process, each spawned one holds its share).

    python benchmarks/devices.py [--case scaling --cells 3000 --genes 20000]
    python benchmarks/devices.py --case million

Prints a markdown table and writes it to ``--out`` (default: ``devices_<case>.md``
in the system's temporary folder).
"""

import argparse
import json
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anndata as ad
import numpy as np

import scgan

RUNS = {  # name: (devices, n_jobs)
    "devices=1": (1, 1),
    "devices=2": (2, 1),
    "devices=1, n_jobs=2": (1, 2),
}


def main() -> None:
    args = _parse()
    if args.worker:
        print(json.dumps(_work(args)))
        return
    if args.command_line:
        _command_line(args.command_line)
        return
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    if args.case == "million":
        data = _write_data(cache, 1_000_000, 1_000)
        rows = [_million(data, cache)]
        title = f"scgan impute, {data.name}"
    else:
        data = _write_data(cache, args.cells, args.genes)
        rows = [_run_child(args, data, name, cache) for name in RUNS]
        _compare(rows, cache)
        title = f"{data.stem} on {args.device}"
    table = _table(title, rows)
    print(table)
    out = Path(args.out or Path(tempfile.gettempdir()) / f"devices_{args.case}.md")
    out.write_text(table + "\n")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["scaling", "million"], default="scaling")
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "scgan_devices"))
    parser.add_argument("--out", help="where to write the table")
    parser.add_argument("--worker", choices=RUNS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--command-line", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser.parse_args()


def _write_data(cache: Path, cells: int, genes: int) -> Path:
    """``simulate(cells, genes)`` as an ``.h5ad`` in ``cache`` (made once, in its own process)."""
    path = cache / f"sim{cells}_{genes}.h5ad"
    if not path.exists():
        code = (
            "import sys, scgan; a = scgan.datasets.simulate(int(sys.argv[1]), int(sys.argv[2]), "
            "n_cell_types=8, random_state=0); del a.layers['true_counts']; "
            "a.write_h5ad(sys.argv[3])"
        )
        partial = path.with_suffix(".partial.h5ad")
        subprocess.run([sys.executable, "-c", code, str(cells), str(genes), partial], check=True)
        partial.rename(path)
    return path


def _run_child(args: argparse.Namespace, data: Path, name: str, cache: Path) -> dict:
    command = [sys.executable, __file__, "--worker", name, "--data", str(data)]
    command += ["--device", args.device, "--cache", str(cache)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"run": name, "error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _work(args: argparse.Namespace) -> dict:
    devices, n_jobs = RUNS[args.worker]
    adata = ad.read_h5ad(args.data)
    start = time.perf_counter()
    scgan.pp.impute_dropouts(
        adata,
        labels_key="cell_type",
        device=args.device,
        devices=devices,
        n_jobs=n_jobs,
        progress=False,
    )
    seconds = time.perf_counter() - start
    params = adata.uns["scgan_imputed"]["params"]
    np.save(Path(args.cache) / f"{args.worker}.npy", adata.layers["scgan_imputed"])
    return {
        "run": args.worker,
        "cells": adata.n_obs,
        "genes": adata.n_vars,
        "parts": params["groups"],
        "epochs": params["epochs_run"],
        "seconds": seconds,
        "peak GB": _memory_gb(),
    }


def _compare(rows: list[dict], cache: Path) -> None:
    """``max |Δ|`` from ``devices=1``'s layer and the speed-up over it, per row."""
    base = next((r for r in rows if r["run"] == "devices=1" and "seconds" in r), None)
    if base is None:
        return
    reference = np.load(cache / "devices=1.npy")
    for row in rows:
        if "seconds" in row:
            row["speed-up"] = base["seconds"] / row["seconds"]
            row["max |Δ|"] = float(np.abs(np.load(cache / f"{row['run']}.npy") - reference).max())


def _million(data: Path, cache: Path) -> dict:
    """``scgan impute`` on ``data`` in a child process that reports its peak memory."""
    out = cache / "million_imputed.h5ad"
    command = [sys.executable, __file__, "--command-line", "impute", str(data), "-o", str(out)]
    command += ["--labels-key", "cell_type", "--quiet", "--force"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    row = {"run": "scgan impute", "seconds": seconds}
    if done.returncode:
        return row | {"error": done.stderr.strip().splitlines()[-1]}
    written = ad.read_h5ad(out, backed="r")
    row |= {"cells": written.n_obs, "genes": written.n_vars}
    row |= {"output GB": out.stat().st_size / 2**30, "input GB": data.stat().st_size / 2**30}
    written.file.close()
    out.unlink()
    return row | json.loads(done.stdout.strip().splitlines()[-1])


def _command_line(argv: list[str]) -> None:
    """Run ``python -m scgan argv`` in this process, then print its peak memory."""
    sys.argv = ["scgan", *argv]
    try:
        runpy.run_module("scgan", run_name="__main__")
    except SystemExit as done:
        if done.code:
            raise
    print(json.dumps({"peak GB": _memory_gb()}))


def _memory_gb() -> float:
    """The calling process's peak resident memory (``VmHWM``, Linux), which a child does not inherit."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 2**20  # kB


def _table(title: str, rows: list[dict]) -> str:
    keys = ["run", "cells", "genes", "parts", "epochs", "seconds", "speed-up", "max |Δ|"]
    keys += ["peak GB", "input GB", "output GB", "error"]
    keys = [k for k in keys if any(k in row for row in rows)]
    lines = [f"### {title}", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_cell(row.get(k)) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


if __name__ == "__main__":
    main()
