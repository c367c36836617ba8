"""GAIN paper protocol: RMSE of mean, iterative linear and forest, GAIN and MisGAN imputation.

For each data set (Breast, Spam, Letter) and seed: 20 % of entries missing
completely at random; columns min–max scaled with the complete data's
minimum and range; RMSE over the missing entries. Beside it, the MisGAN
paper's measure (its Appendix C): the Fréchet distance between Gaussians
fitted to the completed and the complete data (FID without the Inception
features), which rewards imputations that keep the data's spread and
correlations rather than the closest single guess. Prints mean ± sd over
the seeds and the mean seconds per fit, and writes ``results/tabular.md``.

    python benchmarks/tabular.py [--seeds 5] [--first-seed 0] [--threads 1] [--jobs 1]
                                 [--misgan-iterations N] [--misgan-gamma G] [--misgan-imputer-input {complement,separate}]
                                 [--both-hints] [--methods NAME ...]
                                 [--output STEM]
"""

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer

import scgan
from scgan.models import GAINImputer, MisGANImputer
from scgan.models.tabular import IMPUTER_INPUTS, MisGANConfig

DATA = Path(__file__).parents[1] / "data"
RESULTS = Path(__file__).parent / "results"
METHODS = ["mean", "iterative linear", "iterative random forest", "GAIN (paper hint)", "MisGAN"]
MISGAN = MisGANConfig()
PAPER_GAIN = {"breast": 0.0546, "spam": 0.0513, "letter": 0.1198}


def load(name: str) -> np.ndarray:
    if name == "breast":
        return load_breast_cancer().data
    return pd.read_csv(DATA / f"{name}.csv").to_numpy(dtype=np.float64)


def with_missing(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The complete data, the seed's 20 % MCAR mask and the data with those entries ``NaN``."""
    truth = load(name)
    missing = np.random.default_rng(seed).random(truth.shape) < 0.2
    return truth, missing, np.where(missing, np.nan, truth)


def iterative_forest(seed: int) -> IterativeImputer:
    """sklearn's iterative imputer with 10-tree random forests, 5 rounds (MissForest-like)."""
    forest = RandomForestRegressor(n_estimators=10, random_state=seed, n_jobs=1)
    return IterativeImputer(forest, max_iter=5, random_state=seed)


def iterative_linear(seed: int) -> IterativeImputer:
    """sklearn's default iterative imputer: a Bayesian ridge regression per column (MICE-like)."""
    return IterativeImputer(max_iter=10, random_state=seed)


def methods(args: argparse.Namespace, seed: int) -> dict:
    chosen = {
        "mean": SimpleImputer(),
        "iterative linear": iterative_linear(seed),
        "iterative random forest": iterative_forest(seed),
        "GAIN (paper hint)": GAINImputer(random_state=seed, device=args.device),
        "GAIN (reference hint)": GAINImputer(
            hint="reference", random_state=seed, device=args.device
        ),
        "MisGAN": MisGANImputer(
            iterations=args.misgan_iterations,
            gamma=args.misgan_gamma,
            imputer_input=args.misgan_imputer_input,
            random_state=seed,
            device=args.device,
        ),
    }
    if not args.both_hints:
        del chosen["GAIN (reference hint)"]
    return {name: imputer for name, imputer in chosen.items() if name in args.methods}


def seeds(args: argparse.Namespace) -> range:
    return range(args.first_seed, args.first_seed + args.seeds)


def run(args: argparse.Namespace) -> pd.DataFrame:
    """Every (data set, seed) in turn, or spread over ``args.jobs`` processes."""
    tasks = [(name, seed, args) for name in args.datasets for seed in seeds(args)]
    if args.jobs == 1:
        results = [run_one(*task) for task in tasks]
    else:
        spawn = multiprocessing.get_context("spawn")  # fresh processes: no forked torch state
        with ProcessPoolExecutor(args.jobs, mp_context=spawn) as pool:
            results = list(pool.map(run_one, *zip(*tasks, strict=True)))
    columns = ["dataset", "method", "seed", "rmse", "frechet", "seconds"]
    return pd.DataFrame([row for rows in results for row in rows], columns=columns)


def run_one(name: str, seed: int, args: argparse.Namespace) -> list[tuple]:
    """Every method on one data set and one seed's mask."""
    torch.set_num_threads(args.threads)
    truth, missing, x = with_missing(name, seed)
    rows = []
    for method, imputer in methods(args, seed).items():
        start = time.perf_counter()
        imputed = imputer.fit_transform(x)
        seconds = time.perf_counter() - start
        results = {method: imputed}
        if method == "MisGAN":  # the same fit, averaging 20 draws
            results["MisGAN (20 draws)"] = imputer.set_params(n_draws=20).transform(x)
        for label, values in results.items():
            scores = scgan.tl.score_table(values, truth, missing)
            error, distance = scores["rmse"], scores["frechet"]
            rows.append((name, label, seed, error, distance, seconds))
            print(
                f"{name} seed {seed} {label}: RMSE {error:.4f}, "
                f"Fréchet {distance:.5f} ({seconds:.1f} s)",
                flush=True,
            )
    return rows


def markdown(df: pd.DataFrame, args: argparse.Namespace) -> str:
    summary = df.groupby(["dataset", "method"], sort=False).agg(
        mean=("rmse", "mean"),
        sd=("rmse", "std"),
        frechet=("frechet", "mean"),
        frechet_sd=("frechet", "std"),
        seconds=("seconds", "mean"),
    )
    misgan = (
        f"; MisGAN {args.misgan_iterations} critic steps, γ = {args.misgan_gamma:g}, "
        f"imputer input {args.misgan_imputer_input}"
        if "MisGAN" in args.methods
        else ""
    )
    lines = [
        f"# Tabular imputation, GAIN protocol (seeds {seeds(args).start}–{seeds(args).stop - 1}, "
        "20 % MCAR, RMSE on missing entries)",
        "",
        f"torch {torch.__version__}, {args.threads} torch thread(s) in each of {args.jobs} "
        f"process(es), device {args.device}{misgan}.",
        "",
        "| data set | method | RMSE (mean ± sd) | GAIN paper RMSE | Fréchet distance (mean ± sd) "
        "| seconds per fit |",
        "|---|---|---|---|---|---|",
    ]
    for (name, method), row in summary.iterrows():
        paper = f"{PAPER_GAIN[name]:.4f}" if method.startswith("GAIN") else ""
        lines.append(
            f"| {name} | {method} | {row['mean']:.4f} ± {row['sd']:.4f} | {paper} "
            f"| {row['frechet']:.5f} ± {row['frechet_sd']:.5f} | {row['seconds']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds run from this one (default 0)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="processes, one (data set, seed) each (default 1)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--misgan-iterations", type=int, default=12_000)
    parser.add_argument(
        "--misgan-gamma", type=float, default=MISGAN.gamma, help="MisGAN's mismatch loss weight"
    )
    parser.add_argument(
        "--misgan-imputer-input",
        default=MISGAN.imputer_input,
        choices=IMPUTER_INPUTS,
        help="what MisGAN's imputer sees (MisGANImputer's imputer_input)",
    )
    parser.add_argument("--datasets", nargs="+", default=["breast", "spam", "letter"])
    parser.add_argument(
        "--both-hints", action="store_true", help="also run GAIN with the reference code's hint"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=[*METHODS, "GAIN (reference hint)"],
        choices=[*METHODS, "GAIN (reference hint)"],
        help="only these methods (default: all)",
    )
    parser.add_argument("--output", default="tabular", help="file stem under results/")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    df = run(args)
    text = markdown(df, args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.output}.md").write_text(text)
    df.to_csv(RESULTS / f"{args.output}.csv", index=False)
    print(text)


if __name__ == "__main__":
    main()
