"""Speed and memory of ``scgan.pp.impute_dropouts`` with default settings.

On the CPU: pbmc68k (700 × 765, labels given) with 1 and 2 torch threads.
``peak_rss_mb`` is the process's peak resident memory so far (it includes
the earlier rows).
With a CUDA GPU: the same, then cells per second of training and the wall
time for ``simulate(100_000, 2_000)``, with mixed precision (bfloat16) on
and off. Prints a markdown table.

    python benchmarks/speed.py [--threads 1 2] [--gpu-cells 100000 --gpu-genes 2000]
"""

import argparse
import resource
import time

import torch

import scgan


def run(adata, device: str, labels_key: str, threads: int = 1, **settings) -> dict:
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    scgan.pp.impute_dropouts(
        adata, labels_key=labels_key, device=device, n_jobs=threads, **settings
    )
    seconds = time.perf_counter() - start
    epochs = adata.uns["scgan_imputed"]["params"]["epochs_run"]
    row = {
        "cells": adata.n_obs,
        "genes": adata.n_vars,
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "epochs_run": epochs,
        "cells_per_second": adata.n_obs * epochs / seconds,
    }
    if device == "cuda":
        row["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--gpu-cells", type=int, default=100_000)
    parser.add_argument("--gpu-genes", type=int, default=2_000)
    args = parser.parse_args()
    rows = []
    for threads in args.threads:
        rows.append(
            {
                "device": f"cpu ({threads} thread)",
                **run(scgan.datasets.pbmc68k(), "cpu", "bulk_labels", threads),
            }
        )
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        rows.append({"device": name, **run(scgan.datasets.pbmc68k(), "cuda", "bulk_labels")})
        big = scgan.datasets.simulate(
            args.gpu_cells, args.gpu_genes, n_cell_types=8, random_state=0
        )
        for mixed in (True, False):
            row = run(big, "cuda", "cell_type", mixed_precision=mixed)
            rows.append({"device": f"{name} (bf16 {'on' if mixed else 'off'})", **row})
    else:
        print("no CUDA GPU: GPU rows skipped")
    keys = list(dict.fromkeys(k for row in rows for k in row))
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for row in rows:
        cells = [
            f"{row[k]:.1f}" if isinstance(row.get(k), float) else str(row.get(k, "")) for k in keys
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
