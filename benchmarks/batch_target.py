"""Batch-effect-aware imputation on the simulated three-batch set, with its baselines.

The sim3batch part of ``single_cell.py --preset full`` for the batch question
alone: raw counts, the cell-type mean, MAGIC, the BEGAN imputer, and the BEGAN
imputer returning every cell as if measured in batch 1 (``target_batch``,
``only_zeros=False``). Prints the table and writes ``results/batch_target.md``.

    python benchmarks/batch_target.py [--threads 1]
"""

import argparse
from pathlib import Path

import scanpy as sc
import torch

import scgan

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # the baselines
    sc.settings.n_jobs = args.threads  # scgan follows scanpy's setting
    simulated = scgan.datasets.simulate(1500, 1000, n_cell_types=5, n_batches=3, random_state=0)
    methods = {name: scgan.tl.BASELINES[name] for name in ("none", "celltype_mean", "magic")}
    methods["began"] = scgan.tl.gan_method("began")
    methods["began→batch_1 (denoised)"] = scgan.tl.gan_method(
        "began", target_batch="batch_1", only_zeros=False
    )
    df = scgan.tl.benchmark(
        simulated, methods, dataset="sim3batch", labels_key="cell_type", batch_key="batch"
    )
    keep = ["dropout_pearson_log1p", "ari", "silhouette_labels", "ilisi", "batch_asw"]
    table = df[df.metric.isin(keep)].pivot_table(
        index="method", columns="metric", values="value", sort=False
    )[keep]
    text = (
        f"# Batch-aware imputation, sim3batch (seed 0)\n\n```\n{table.round(3).to_string()}\n```\n"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "batch_target.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
