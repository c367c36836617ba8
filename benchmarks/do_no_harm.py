"""Do no harm: scgan beside MAGIC and simple baselines under every yardstick, with its ablation.

Protocols (``scgan.tl.benchmark``): 10 % of non-zeros hidden (``masked``; on
simulated data scored against the truth instead), Open Problems' denoising
split (``denoising``) and genes shuffled across cells (``false_signal``).
scgan is trained once per protocol and gives both outputs: zeros filled and
denoised (``only_zeros=False``). ``--ablation`` runs, instead of the
baselines, the default beside its ablations (on the masked and denoising
protocols): ``+ game`` plays the BEGAN game (``adversary=0.1``), ``+ game,
no dropout`` plays it without the artificial dropout, ``no context`` gives
the gene parts no principal components of the whole cell.

Data sets: ``pbmc68k`` (cell types: bulk_labels) and ``pbmc3k`` (10x PBMC 3k,
the 2 000 most variable genes by scanpy's seurat_v3 flavour; no cell types,
so no structure scores), where the default's settings were chosen;
``sim101`` and ``sim202`` (``simulate(2000, 1000, n_cell_types=6,
n_batches=2)`` at those seeds, batches given) and ``mouse10k`` (10x mouse
cells, 10 000 × 715 expressed genes, no cell types: scanpy's source
distribution ships it as ``tests/_data/10x-10k-subset.zarr``; put it in
``benchmarks/data/``), which were not used to choose them. Run each data set
in its own process, then ``--table`` to merge:

    python benchmarks/do_no_harm.py --dataset pbmc68k [--seed 11] [--ablation]
    python benchmarks/do_no_harm.py --table

Writes ``results/do_no_harm_<dataset>.csv`` and ``results/do_no_harm.md``.
"""

import argparse
import time
from pathlib import Path

import anndata as ad
import pandas as pd
import scanpy as sc
import torch

import scgan

RESULTS = Path(__file__).parent / "results"
DATASETS = ("pbmc68k", "pbmc3k", "sim101", "sim202", "mouse10k")
MOUSE10K = Path(__file__).parent / "data" / "10x-10k-subset.zarr"
BASELINES = ("none", "knn_hurdle", "knn_smoothing", "alra", "magic")
ABLATIONS = {
    "began": {},
    "began + game": {"adversary": 0.1},
    "began + game, no dropout": {"adversary": 0.1, "artificial_dropout": False},
    "began no context": {"n_components": 0},
}

METRICS = {
    "heldout_pearson_log1p": "held-out Pearson",
    "all_pearson_log1p": "all Pearson",
    "dropout_pearson_log1p": "dropout Pearson",
    "variance_ratio": "variance ratio",
    "correlation_distance": "corr. distance",
    "ari": "ARI",
    "denoising_mse_score": "denoise MSE",
    "denoising_poisson_score": "denoise Poisson",
    "denoising_score": "denoising",
    "spurious_share_0.1": "spurious >0.1",
    "spurious_share_0.3": "spurious >0.3",
}


def main() -> None:
    args = _parse()
    if args.table:
        _write_table()
        return
    torch.set_num_threads(args.threads)  # the baselines
    sc.settings.n_jobs = args.threads  # scgan follows scanpy's setting
    adata, labels, batches = _dataset(args.dataset)
    variants = ABLATIONS if args.ablation else {"began": {}}
    methods = {} if args.ablation else {name: scgan.tl.BASELINES[name] for name in BASELINES}
    for name, settings in variants.items():
        outputs = {name: {}, f"{name} denoised": {"only_zeros": False}}
        methods |= scgan.tl.gan_outputs(outputs, progress=False, **settings)
    protocols = ("masked", "denoising") if args.ablation else scgan.tl.PROTOCOLS
    start = time.perf_counter()
    df = scgan.tl.benchmark(
        adata,
        methods,
        dataset=args.dataset,
        labels_key=labels,
        batch_key=batches,
        mask_fraction=None if args.dataset.startswith("sim") else 0.1,
        random_state=args.seed,
        protocols=protocols,
    )
    RESULTS.mkdir(exist_ok=True)
    df.to_csv(RESULTS / _csv_name(args.dataset, args.ablation), index=False)
    print(f"{args.dataset}: {time.perf_counter() - start:.0f} s")
    print(_pivot(df).to_string())


def _csv_name(dataset: str, ablation: bool) -> str:
    return f"do_no_harm_{dataset}{'_ablation' if ablation else ''}.csv"


def _dataset(name: str) -> tuple[ad.AnnData, str | None, str | None]:
    if name == "mouse10k":
        if not MOUSE10K.exists():
            msg = f"{MOUSE10K} is missing: copy tests/_data/10x-10k-subset.zarr of scanpy's sdist"
            raise SystemExit(msg)
        adata = ad.read_zarr(MOUSE10K)
        sc.pp.filter_genes(adata, min_counts=1)
        return adata, None, None
    if name == "pbmc68k":
        return scgan.datasets.pbmc68k(), "bulk_labels", None
    if name == "pbmc3k":
        adata = scgan.datasets.pbmc3k()
        sc.pp.filter_genes(adata, min_counts=1)
        sc.pp.highly_variable_genes(adata, n_top_genes=2000, flavor="seurat_v3")
        return adata[:, adata.var["highly_variable"]].copy(), None, None
    seed = int(name.removeprefix("sim"))
    adata = scgan.datasets.simulate(2000, 1000, n_cell_types=6, n_batches=2, random_state=seed)
    return adata[:, adata.X.getnnz(axis=0) > 0].copy(), "cell_type", "batch"


def _pivot(df: pd.DataFrame) -> pd.DataFrame:
    table = df[df.metric.isin(METRICS)].pivot_table(
        index="method", columns="metric", values="value", sort=False
    )
    table = table.reindex(columns=[m for m in METRICS if m in table.columns])
    return table.rename(columns=METRICS).round(3)


def _write_table() -> None:
    lines = [
        "# Do no harm: every yardstick, scgan beside its ablation and the baselines",
        "",
        "Command: `python benchmarks/do_no_harm.py --dataset <name>` for each data set, "
        "then `--table`. Held-out Pearson: 10 % of non-zeros hidden; on simulated sets, "
        "dropout Pearson, variance ratio and correlation distance are against the truth.",
    ]
    for ablation in (False, True):
        for name in DATASETS:
            path = RESULTS / _csv_name(name, ablation)
            if not path.exists():
                continue
            df = pd.read_csv(path)
            seconds = df[df.protocol == "masked"].groupby("method", sort=False)["seconds"].first()
            table = _pivot(df).join(seconds.round(0).rename("s (masked)"))
            title = f"{name}: ablation" if ablation else name
            lines += ["", f"## {title}", "", _markdown(table)]
    (RESULTS / "do_no_harm.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _markdown(frame: pd.DataFrame) -> str:
    rows = frame.to_csv(sep="|", float_format="%.3f").strip().splitlines()
    rows.insert(1, "|".join(["---"] * (frame.shape[1] + 1)))
    return "\n".join(f"|{row}|" for row in rows)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS)
    parser.add_argument("--table", action="store_true", help="merge the CSVs into one table")
    parser.add_argument("--seed", type=int, default=11, help="mask, split, shuffle and imputers")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--ablation", action="store_true", help="the default beside its ablations")
    args = parser.parse_args()
    if not args.table and args.dataset is None:
        parser.error("pass --dataset NAME or --table")
    return args


if __name__ == "__main__":
    main()
