"""Multiple imputations (``n_draws``): whether the draws cover the truth and look like real cells.

On ``simulate(1000, 500, n_cell_types=4)`` at each ``--seeds`` (not used
while choosing the method), scgan draws 20 imputations per entry, with and
without the BEGAN game (``adversary``), for both outputs. Reported against
the true counts (before dropout):

- ``coverage``: the share of entries whose true count lies in the draws'
  90 % interval (5th to 95th percentile), over all entries and at the
  observed zeros;
- ``corr. distance``: the mean absolute gap between the gene–gene
  correlations of ``log1p``-normalised draws and of the truth, over the
  200 genes with the highest true mean (the observed counts' in brackets);
- ``zero-fraction gap``: the mean over genes of the absolute gap between
  a draw's and the truth's share of zeros (the observed counts' in brackets).

    python benchmarks/draws.py [--seeds 303 404] [--threads 1]
"""

import argparse

import numpy as np
import pandas as pd
import scanpy as sc
import torch

import scgan

N_DRAWS = 20
TOP_GENES = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[303, 404])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sc.settings.n_jobs = args.threads
    rows = []
    for seed in args.seeds:
        adata = scgan.datasets.simulate(1000, 500, n_cell_types=4, random_state=seed)
        adata = adata[:, adata.X.getnnz(axis=0) > 0].copy()
        for adversary in (0.0, 0.1):
            for only_zeros in (True, False):
                rows.append(_scores(adata, seed, adversary, only_zeros))
    table = pd.DataFrame(rows).set_index(["seed", "game", "output"]).round(3)
    print(table.to_string())


def _scores(adata, seed: int, adversary: float, only_zeros: bool) -> dict:
    truth = _dense(adata.layers["true_counts"])
    observed = _dense(adata.X)
    work = adata.copy()
    scgan.pp.impute_dropouts(
        work,
        labels_key="cell_type",
        only_zeros=only_zeros,
        n_draws=N_DRAWS,
        adversary=adversary,
        random_state=seed,
        progress=False,
    )
    draws = np.stack([work.layers[f"scgan_imputed_draw_{i}"] for i in range(1, N_DRAWS + 1)])
    low, high = np.quantile(draws, [0.05, 0.95], axis=0)
    covered = (low <= truth) & (truth <= high)
    top = np.argsort(-truth.mean(axis=0))[:TOP_GENES]
    reference = _correlations(truth, top)
    history = work.uns["scgan_imputed"]["history"]
    return {
        "seed": seed,
        "game": f"adversary={adversary}",
        "output": "zeros filled" if only_zeros else "denoised",
        "coverage": covered.mean(),
        "coverage at zeros": covered[observed == 0].mean(),
        "corr. distance": np.mean([_gap(_correlations(d, top), reference) for d in draws[:5]]),
        "(observed)": _gap(_correlations(observed, top), reference),
        "zero-fraction gap": np.mean([_zero_gap(d, truth) for d in draws[:5]]),
        "(observed) ": _zero_gap(observed, truth),
        "final k_t": float(np.mean(history["k_t"][-1])) if "k_t" in history else np.nan,
    }


def _dense(matrix) -> np.ndarray:
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)


def _correlations(counts: np.ndarray, genes: np.ndarray) -> np.ndarray:
    library = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    values = np.log1p(counts / library * 1e4)[:, genes]
    return np.corrcoef(values.T)


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    upper = np.triu_indices(len(a), 1)
    return float(np.nanmean(np.abs(a - b)[upper]))


def _zero_gap(counts: np.ndarray, truth: np.ndarray) -> float:
    return float(np.abs((counts == 0).mean(axis=0) - (truth == 0).mean(axis=0)).mean())


if __name__ == "__main__":
    main()
