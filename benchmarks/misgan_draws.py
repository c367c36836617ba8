"""Where the error of MisGAN's draws comes from: spread within an entry against error shared by all draws.

For each data set, one seed of the GAIN protocol (20 % MCAR, RMSE on the
missing entries of min–max scaled columns): MisGAN with its defaults draws
50 imputations. Averaging draws removes their spread within an entry and
keeps what every draw shares: how far their average is from the column mean
(``sd of average``), whether that tracks the truth (``r``, per column, then
averaged) and the average's bias per column (root mean square over columns).

A perfect sampler of the missing values given the observed ones scores
√2 × the RMSE of the best possible prediction with one draw (its error is
the truth's spread plus its own), and its draws spread by about that best
RMSE. With the random forest as a stand-in for the best prediction, the
table prints both. One draw can only beat the mean where the best
prediction is within the mean's RMSE / √2.

Writes ``results/misgan_draws.md`` (``misgan_draws_gamma<γ>.md`` with
``--gamma``, the weight of the imputer's mismatch loss; ``_separate`` added
with ``--imputer-input separate``).

    python benchmarks/misgan_draws.py [--datasets breast spam letter] [--seed 0] [--gamma 0]
                                      [--imputer-input complement|separate]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from misgan_diagnosis import correlation
from tabular import iterative_forest, rmse, scaled, with_missing

from scgan.models import MisGANImputer
from scgan.models.tabular._misgan import IMPUTER_INPUTS

RESULTS = Path(__file__).parent / "results"
COLUMNS = [
    "data set",
    "mean imputation",
    "random forest",
    "√2 × forest",
    "MisGAN one draw",
    "20 draws",
    "50 draws",
    "spread within an entry",
    "sd of average",
    "r of average",
    "bias per column",
    "seconds",
]


def draws(model: MisGANImputer, x: np.ndarray, n: int) -> np.ndarray:
    """``n`` independent imputations of ``x`` (``transform`` repeats one seeded draw)."""
    seeds = [model.random_state + 1000 * k for k in range(1, n + 1)]
    imputed = [model.set_params(random_state=seed).transform(x) for seed in seeds]
    return np.stack(imputed)


def row(name: str, seed: int, settings: dict) -> list[str]:
    """The table's figures for one data set."""
    start = time.perf_counter()
    truth, missing, x = with_missing(name, seed)
    mean = np.where(missing, np.nanmean(x, axis=0), truth)
    forest = rmse(iterative_forest(seed).fit_transform(x), truth, missing)
    model = MisGANImputer(**settings, random_state=seed, device="cpu", progress=False)
    model.fit(x)
    imputed = draws(model, x, 50)
    average = imputed.mean(axis=0)
    spread = scaled(imputed, truth).std(axis=0, ddof=1)[missing]
    scaled_average = scaled(average, truth)
    error = scaled_average - scaled(truth, truth)
    departure = (scaled_average - scaled(mean, truth))[missing]
    bias = [np.mean(error[rows, j]) for j, rows in enumerate(missing.T)]
    figures = [
        rmse(mean, truth, missing),
        forest,
        np.sqrt(2) * forest,
        rmse(imputed[0], truth, missing),
        rmse(imputed[:20].mean(axis=0), truth, missing),
        rmse(average, truth, missing),
        np.sqrt(np.mean(spread**2)),
        np.sqrt(np.mean(departure**2)),
        correlation(average, truth, missing),
        np.sqrt(np.mean(np.square(bias))),
    ]
    return [name, *(f"{value:.4f}" for value in figures), f"{time.perf_counter() - start:.0f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["breast", "spam", "letter"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gamma", type=float, default=0.0, help="MisGAN's mismatch loss weight")
    parser.add_argument(
        "--imputer-input",
        default="complement",
        choices=IMPUTER_INPUTS,
        help="what MisGAN's imputer sees (MisGANImputer's imputer_input)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    lines = [
        f"# MisGAN's draws, seed {args.seed} (20 % MCAR, RMSE on missing entries, scaled columns)",
        "",
        f"torch {torch.__version__}, 1 CPU thread, MisGAN defaults "
        f"({MisGANImputer().iterations} critic steps), γ = {args.gamma:g}, "
        f"imputer input {args.imputer_input}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    settings = {"gamma": args.gamma, "imputer_input": args.imputer_input}
    for name in args.datasets:
        lines.append("| " + " | ".join(row(name, args.seed, settings)) + " |")
        print(lines[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    stem = f"misgan_draws_gamma{args.gamma:g}" if args.gamma else "misgan_draws"
    stem += "_separate" if args.imputer_input == "separate" else ""
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
