"""Single-cell imputation benchmark: every method on the same data, scored the same way.

Runs on ``scgan.datasets.pbmc68k()`` (10 % of non-zeros hidden, seed 0) and on
one simulated data set with three batches (also 10 % hidden), writes
``results/single_cell.md`` (a markdown table) and ``results/single_cell.png``,
and prints the table.

    python benchmarks/single_cell.py [--threads 1] [--methods none magic ...]
"""

import argparse
import importlib.util
import logging
import time
from pathlib import Path

import pandas as pd
import torch

import scgan

RESULTS = Path(__file__).parent / "results"
PEERS = ["none", "celltype_mean", "knn_smoothing", "alra", "magic", "scvi"]
OPTIONAL = {"magic": "magic", "scvi": "scvi"}  # method -> module it needs


def main() -> None:
    args = _parse()
    torch.set_num_threads(args.threads)
    methods = _available(args.methods)
    datasets = {
        "pbmc68k": (scgan.datasets.pbmc68k(), "bulk_labels", None),
        "sim3batch": (
            scgan.datasets.simulate(
                args.sim_cells, args.sim_genes, n_cell_types=5, n_batches=3, random_state=0
            ),
            "cell_type",
            "batch",
        ),
    }
    start = time.perf_counter()
    tables = [
        scgan.tl.benchmark(
            adata,
            methods,
            dataset=name,
            labels_key=labels,
            batch_key=batch,
            mask_fraction=0.1,
            random_state=args.seed,
        )
        for name, (adata, labels, batch) in datasets.items()
    ]
    df = pd.concat(tables, ignore_index=True)
    RESULTS.mkdir(exist_ok=True)
    df.to_csv(RESULTS / "single_cell.csv", index=False)
    markdown = _markdown(df, args, time.perf_counter() - start)
    (RESULTS / "single_cell.md").write_text(markdown)
    scgan.pl.benchmark(df).savefig(RESULTS / "single_cell.png", dpi=110)
    print(markdown)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=PEERS, help="methods to run")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sim-cells", type=int, default=1500)
    parser.add_argument("--sim-genes", type=int, default=1000)
    return parser.parse_args()


def _available(methods: list[str]) -> list[str]:
    kept = []
    for method in methods:
        module = OPTIONAL.get(method)
        if module and importlib.util.find_spec(module) is None:
            print(f"skipping {method}: its package is not installed (see README)")
            continue
        kept.append(method)
    return kept


def _markdown(df: pd.DataFrame, args: argparse.Namespace, seconds: float) -> str:
    lines = [
        f"# Single-cell imputation benchmark (seed {args.seed}, 10 % of non-zeros hidden)",
        "",
        f"scgan {scgan.__version__}, torch {torch.__version__}, {args.threads} torch thread(s); "
        f"total {seconds:.0f} s.",
    ]
    for dataset, part in df.groupby("dataset", sort=False):
        table = part.pivot_table(index="method", columns="metric", values="value", sort=False)
        cost = part.groupby("method", sort=False)[["seconds", "peak_memory_mb"]].first()
        lines += ["", f"## {dataset}", "", _table(table.join(cost))]
    return "\n".join(lines) + "\n"


def _table(frame: pd.DataFrame) -> str:
    """A markdown table with three decimals (no tabulate dependency)."""
    header = ["method", *frame.columns]
    rows = [[str(i), *(f"{v:.3f}" for v in row)] for i, row in zip(frame.index, frame.to_numpy())]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
