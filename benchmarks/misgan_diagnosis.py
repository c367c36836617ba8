"""Where MisGAN's tabular imputations go wrong: training length, and the data generator as the imputer's target.

For one data set and seed of the GAIN protocol (20 % MCAR, RMSE on the
missing entries of min–max scaled columns):

1. MisGAN trained jointly (eq. 10), scored every ``--checkpoint`` critic steps.
2. From the trained model, a fresh imputer trained alone against a fixed
   target (eq. 9, the paper's "stand-alone imputer"), with the imputer
   critic's complete rows drawn from (a) the trained data generator G_x, as
   MisGAN does, or (b) the true complete rows, which MisGAN never sees: how
   good the imputer gets if G_x were perfect. Scored every
   ``--imputer-checkpoint`` steps (default: at the end only).

Each score is the RMSE of one draw and of 20 averaged draws, and the
correlation of the 20-draw average with the truth on the missing entries
(per column, then averaged over columns): near 0 when the imputer ignores
the observed entries. sklearn's linear iterative imputer shows how much of
that signal a simple model finds.

Prints one line per score and writes ``results/misgan_diagnosis_<data>.md``
(with ``_seed<N>`` and ``_<steps>steps`` added when those differ from the
defaults). ``--imputer-iterations 0`` skips step 2.

    python benchmarks/misgan_diagnosis.py --dataset letter [--seed 0] [--iterations 24000]
                                          [--checkpoint 12000] [--imputer-iterations 12000]
                                          [--imputer-checkpoint 12000] [--imputer-hidden 500]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from tabular import iterative_linear, rmse, scaled, with_missing
from torch import nn

from scgan._train import optimizer_step
from scgan.models import MisGANImputer
from scgan.models._blocks import gradient_penalty, mlp

RESULTS = Path(__file__).parent / "results"


def correlation(imputed: np.ndarray, truth: np.ndarray, missing: np.ndarray) -> float:
    """Pearson correlation of imputed with true values on each column's missing entries, averaged.

    Columns where either side is constant have no correlation and are left out.
    """
    return float(
        np.nanmean(
            [
                np.corrcoef(imputed[rows, j], truth[rows, j])[0, 1]
                for j, rows in enumerate(missing.T)
            ]
        )
    )


def scores(model: MisGANImputer, x: np.ndarray, truth: np.ndarray, missing: np.ndarray):
    """RMSE of one draw and of 20 averaged draws, and the average's correlation with the truth.

    Leaves the training RNG as it was.
    """
    state, n_draws = torch.get_rng_state(), model.n_draws
    one, twenty = (model.set_params(n_draws=n).transform(x) for n in (1, 20))
    model.set_params(n_draws=n_draws)
    torch.set_rng_state(state)
    return (
        rmse(one, truth, missing),
        rmse(twenty, truth, missing),
        correlation(twenty, truth, missing),
    )


class Checkpointed(MisGANImputer):
    """MisGAN that scores itself every ``checkpoint`` critic steps while training."""

    def _critic_step(self, x, m, opt, step):
        estimates = super()._critic_step(x, m, opt, step)
        if step % self.checkpoint == 0:
            self.log(f"joint training, step {step}", *scores(self, *self.data))
        return estimates


def train_imputer_alone(
    model: MisGANImputer, x: np.ndarray, target, args: argparse.Namespace, on_checkpoint
) -> None:
    """Eq. 9 only: a fresh imputer and critic against complete rows from ``target(n)``.

    ``args.imputer_hidden``: the imputer gets two hidden layers of this width
    (the paper's MNIST imputer: 500) instead of MisGAN's own.
    ``on_checkpoint(step)`` runs every ``args.imputer_checkpoint`` steps.
    """
    hidden = args.imputer_hidden
    d = x.shape[1]
    fresh = model._networks(d)
    if hidden is not None:
        fresh["imputer"] = mlp([d, hidden, hidden, d], nn.Sigmoid())
    nets = model.nets_
    nets["imputer"], nets["impute_critic"] = fresh["imputer"], fresh["impute_critic"]
    adam = {
        name: torch.optim.Adam(
            nets[name].parameters(), lr=model.imputer_learning_rate, betas=(0.5, 0.9)
        )
        for name in ("imputer", "impute_critic")
    }
    data, mask = model._tensors(*model._scaled(x))
    critic = nets["impute_critic"]
    for step in range(1, args.imputer_iterations + 1):
        rows = torch.randint(len(x), (model.batch_size,))
        with torch.no_grad():
            real, fake = target(len(rows)), model._impute_rows(data[rows], mask[rows])
        loss = critic(fake).mean() - critic(real).mean()
        loss = loss + model.gp_weight * gradient_penalty(critic, real, fake)
        optimizer_step(adam["impute_critic"], loss, what="imputer critic", step=step)
        if step % model.n_critic == 0:
            critic.requires_grad_(False)
            loss = -critic(model._impute_rows(data[rows], mask[rows])).mean()
            optimizer_step(adam["imputer"], loss, what="imputer", step=step)
            critic.requires_grad_(True)
        if step % args.imputer_checkpoint == 0 or step == args.imputer_iterations:
            on_checkpoint(step)


def imputer_alone_stages(model: Checkpointed, args: argparse.Namespace, log) -> None:
    """Step 2 from the jointly trained ``model``: G_x, then the true rows, as targets."""
    x, truth = model.data[:2]
    trained = {name: net.state_dict() for name, net in model.nets_.items()}
    complete = torch.as_tensor(scaled(truth, truth), dtype=torch.float32)
    targets = {
        "the data generator G_x": lambda n: model.nets_["data_gen"](model._noise(n)),
        "true complete rows": lambda n: complete[torch.randint(len(complete), (n,))],
    }
    imputer = "imputer" if args.imputer_hidden is None else f"imputer {args.imputer_hidden}-wide"
    for name, target in targets.items():

        def on_checkpoint(step: int, name: str = name) -> None:
            log(f"{imputer} alone, {step} steps, against {name}", *scores(model, *model.data))

        torch.manual_seed(args.seed + 1)
        train_imputer_alone(model, x, target, args, on_checkpoint)
        model.nets_ = model._networks(x.shape[1])  # back to the jointly trained model
        for net_name, net in model.nets_.items():
            net.load_state_dict(trained[net_name])


def results_stem(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """``misgan_diagnosis_<data>``, plus the seed and lengths where not the defaults."""
    parts = [f"misgan_diagnosis_{args.dataset}"]
    if args.seed != parser.get_default("seed"):
        parts.append(f"seed{args.seed}")
    if args.iterations != parser.get_default("iterations"):
        parts.append(f"{args.iterations}steps")
    if args.imputer_iterations != parser.get_default("imputer_iterations"):
        parts.append(f"imputer{args.imputer_iterations}")
    if args.imputer_hidden:
        parts.append(f"w{args.imputer_hidden}")
    return "_".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="letter", choices=["breast", "spam", "letter"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=24_000)
    parser.add_argument("--checkpoint", type=int, default=12_000)
    parser.add_argument("--imputer-iterations", type=int, default=12_000)
    parser.add_argument(
        "--imputer-checkpoint", type=int, help="score the stand-alone imputer every N steps"
    )
    parser.add_argument(
        "--imputer-hidden", type=int, help="stand-alone imputer: two hidden layers of this width"
    )
    args = parser.parse_args()
    args.imputer_checkpoint = args.imputer_checkpoint or args.imputer_iterations
    torch.set_num_threads(1)
    truth, missing, x = with_missing(args.dataset, args.seed)
    lines, start = [], time.perf_counter()

    def log(what: str, one: float, twenty: float, corr: float | None = None) -> None:
        corr_text = "–" if corr is None else f"{corr:.3f}"
        seconds = time.perf_counter() - start
        line = f"| {what} | {one:.4f} | {twenty:.4f} | {corr_text} | {seconds:.0f} |"
        print(line, flush=True)
        lines.append(line)

    mean = np.where(missing, np.nanmean(x, axis=0), truth)
    linear = iterative_linear(args.seed).fit_transform(x)
    for what, imputed in (("mean imputation", mean), ("linear iterative imputer", linear)):
        score = rmse(imputed, truth, missing)  # one imputation: the same in both columns
        corr = None if imputed is mean else correlation(imputed, truth, missing)
        log(what, score, score, corr)
    model = Checkpointed(iterations=args.iterations, random_state=args.seed, device="cpu")
    model.checkpoint, model.log, model.data = args.checkpoint, log, (x, truth, missing)
    model.fit(x)
    if args.imputer_iterations:
        imputer_alone_stages(model, args, log)
    header = [
        f"# MisGAN diagnosis: {args.dataset}, seed {args.seed} (20 % MCAR, RMSE on missing entries)",
        "",
        f"torch {torch.__version__}, 1 CPU thread. Joint training {args.iterations} critic steps; "
        f"stand-alone imputer {args.imputer_iterations} steps.",
        "",
        "| what | RMSE, one draw | RMSE, 20 draws averaged | correlation with the truth | seconds since start |",
        "|---|---|---|---|---|",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{results_stem(args, parser)}.md").write_text("\n".join(header + lines) + "\n")


if __name__ == "__main__":
    main()
