"""Single-cell imputation benchmark: every method on the same data, scored the same way.

``--preset quick`` (the default, the README's first command): scgan's BEGAN
imputer (both outputs of one model: zeros filled and denoised) beside the
fast baselines on ``scgan.datasets.pbmc68k()`` with 10 % of non-zeros
hidden (seed 0).

``--preset full``: also scVI, the ablations of the BEGAN imputer (the BEGAN
game, no whole-cell context, no conditioning, one repeat), and a simulated
data set with three batches on which the imputers see the batches and ``began→batch_1 (denoised)`` returns every cell, observed counts
included, as if measured in batch 1 (``target_batch``, ``only_zeros=False``).

``--preset peers``: the fast baselines, the BEGAN imputer and the other GAN
backends on both data sets: the reproduced scIGANs (``--scigans-epochs``,
default 200 as released; 0 leaves it out), GAIN and MisGAN
(``--tabular-iterations``, default theirs; 0 leaves them out; MisGAN also
as in its paper, ``gamma=0, imputer_input="complement"``). Prints the
ratio of scIGANs' wall time to the BEGAN imputer's.

Writes ``results/<preset>.md`` (markdown), ``results/<preset>.csv`` and
``results/<preset>.png``, and prints the table.

    python benchmarks/single_cell.py [--preset quick|full|peers] [--threads 1]
"""

import argparse
import importlib.util
import logging
import time
from pathlib import Path

import pandas as pd
import scanpy as sc
import torch

import scgan

RESULTS = Path(__file__).parent / "results"
QUICK = ["none", "celltype_mean", "knn_hurdle", "knn_smoothing", "alra", "magic"]
OPTIONAL = {"magic": "magic", "scvi": "scvi"}  # method -> module it needs
ABLATIONS = {
    "began + game": {"adversary": 0.1},
    "began no context": {"n_components": 0},
    "began no conditions": {"conditional": False},
    "began 1 repeat": {"n_repeats": 1},
}

# GAIN, MisGAN with scgan's defaults (the reference code's options) and as in its paper
TABULAR = {
    "gain": ("gain", {}),
    "misgan": ("misgan", {}),
    "misgan as in its paper": ("misgan", {"gamma": 0.0, "imputer_input": "complement"}),
}


def main() -> None:
    args = _parse()
    torch.set_num_threads(args.threads)  # the baselines
    sc.settings.n_jobs = args.threads  # scgan follows scanpy's setting
    full = args.preset == "full"
    peers = _available([*QUICK, "scvi"] if full else QUICK)
    methods = {name: scgan.tl.BASELINES[name] for name in peers}
    methods |= scgan.tl.gan_outputs({"began": {}, "began denoised": {"only_zeros": False}})
    if full:
        methods |= {name: scgan.tl.gan_method("began", **kw) for name, kw in ABLATIONS.items()}
    if args.preset == "peers":
        methods |= _peers(args)
    datasets = {"pbmc68k": (scgan.datasets.pbmc68k(), "bulk_labels", None, methods)}
    if full or args.preset == "peers":
        simulated = scgan.datasets.simulate(1500, 1000, n_cell_types=5, n_batches=3, random_state=0)
        to_batch_1 = scgan.tl.gan_method("began", target_batch="batch_1", only_zeros=False)
        with_target = methods | ({"began→batch_1 (denoised)": to_batch_1} if full else {})
        datasets["sim3batch"] = (simulated, "cell_type", "batch", with_target)
    start = time.perf_counter()
    tables = [
        scgan.tl.benchmark(
            adata,
            chosen,
            dataset=name,
            labels_key=labels,
            batch_key=batch,
            mask_fraction=0.1,
            random_state=args.seed,
        )
        for name, (adata, labels, batch, chosen) in datasets.items()
        if args.datasets is None or name in args.datasets
    ]
    df = pd.concat(tables, ignore_index=True)
    RESULTS.mkdir(exist_ok=True)
    stem = args.preset if args.datasets is None else "_".join([args.preset, *args.datasets])
    df.to_csv(RESULTS / f"{stem}.csv", index=False)
    markdown = _markdown(df, args, time.perf_counter() - start)
    (RESULTS / f"{stem}.md").write_text(markdown)
    scgan.pl.benchmark(df).savefig(RESULTS / f"{stem}.png", dpi=110)
    print(markdown)


def _peers(args: argparse.Namespace) -> dict:
    """scIGANs, GAIN and MisGAN with the epochs or iterations asked for."""
    chosen = {}
    if args.scigans_epochs:
        name = f"scigans ({args.scigans_epochs} epochs)"
        chosen[name] = scgan.tl.gan_method("scigans", epochs=args.scigans_epochs)
    if args.tabular_iterations != 0:
        settings = {"iterations": args.tabular_iterations} if args.tabular_iterations else {}
        suffix = f" ({args.tabular_iterations} iterations)" if settings else ""
        for label, (method, extra) in TABULAR.items():
            chosen[label + suffix] = scgan.tl.gan_method(method, **settings, **extra)
    return chosen


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=["quick", "full", "peers"], default="quick")
    parser.add_argument(
        "--scigans-epochs", type=int, default=200, help="scIGANs' epochs (released: 200)"
    )
    parser.add_argument(
        "--tabular-iterations", type=int, help="GAIN's and MisGAN's iterations (default theirs)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--datasets", nargs="+", choices=["pbmc68k", "sim3batch"], help="only these data sets"
    )
    return parser.parse_args()


def _available(methods: list[str]) -> list[str]:
    kept = []
    for method in methods:
        module = OPTIONAL.get(method)
        if module and importlib.util.find_spec(module) is None:
            print(f"skipping {method}: its package is not installed (see scripts/setup.sh)")
            continue
        kept.append(method)
    return kept


def _markdown(df: pd.DataFrame, args: argparse.Namespace, seconds: float) -> str:
    lines = [
        f"# Single-cell imputation benchmark, {args.preset} (seed {args.seed}, 10 % of non-zeros hidden)",
        "",
        f"scgan {scgan.__version__}, torch {torch.__version__}, {args.threads} torch thread(s); "
        f"total {seconds:.0f} s.",
    ]
    for dataset, part in df.groupby("dataset", sort=False):
        table = part.pivot_table(index="method", columns="metric", values="value", sort=False)
        cost = part.groupby("method", sort=False)[["seconds", "peak_memory_mb"]].first()
        lines += ["", f"## {dataset}", "", _table(table.join(cost))]
        scigans = [m for m in cost.index if m.startswith("scigans")]
        if scigans and "began" in cost.index:
            ratio = cost.loc[scigans[0], "seconds"] / cost.loc["began", "seconds"]
            lines += ["", f"Wall time {scigans[0]} / began: {ratio:.1f}×"]
    return "\n".join(lines) + "\n"


def _table(frame: pd.DataFrame) -> str:
    """A markdown table with three decimals (no tabulate dependency)."""
    header = ["method", *frame.columns]
    rows = [
        [str(i), *(f"{v:.3f}" for v in row)]
        for i, row in zip(frame.index, frame.to_numpy(), strict=True)
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
