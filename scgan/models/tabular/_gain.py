"""GAIN (Yoon et al. 2018): generator and per-entry discriminator with a hint."""

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from ..._train import LossOutput, Optimiser, PairPlan
from .._blocks import mlp
from ._base import Table, TabularGANImputer, TabularPlan
from ._config import GAINConfig

CATEGORICAL = 20
"""Columns with fewer distinct observed values count as near-categorical (for ``rounding``)."""


class GAINImputer(TabularGANImputer):
    """Generative Adversarial Imputation Nets, faithful to the paper.

    ``G`` sees ``x̃ = m ⊙ x + (1 − m) ⊙ z`` (``z ~ U(0, 0.01)``) and ``m``;
    ``D`` sees ``x̂ = m ⊙ x + (1 − m) ⊙ G`` and a hint ``h`` and predicts ``m``
    per entry. Both are 3-layer MLPs of the data's width. ``L_D`` is the
    binary cross-entropy; ``L_G = −mean((1 − m) log D) + α · MSE(observed)``.

    Parameters
    ----------
    batch_size, iterations
        Rows per step and number of steps (paper: 128 and 10 000).
    hint_rate
        Share ``p`` of entries whose mask the hint reveals.
    hint
        ``"paper"`` (the default): ``h = b ⊙ m + 0.5 (1 − b)``, so ``D`` is told
        which entries it must guess; ``"reference"``: ``h = b ⊙ m`` as in the
        authors' code, where an unrevealed entry looks missing. ``b ~ Bernoulli(p)``.
    alpha
        Weight of the reconstruction MSE on observed entries.
    learning_rate
        Adam's learning rate for both networks (reference code: 1e-3).
    rounding
        Round imputed values of columns with fewer than 20 distinct observed
        values (near-categorical), as the reference code does; off by default.
    device, random_state
        ``"auto"``, ``"cpu"`` or ``"cuda"``; seed (CPU results repeat exactly).
    progress
        Progress bar over training steps; ``None`` shows it only on a terminal.
    """

    config_class = GAINConfig
    _extra_state = ("categorical_",)

    def __init__(
        self,
        *,
        batch_size: int = GAINConfig.batch_size,
        iterations: int = GAINConfig.iterations,
        hint_rate: float = GAINConfig.hint_rate,
        hint: str = GAINConfig.hint,
        alpha: float = GAINConfig.alpha,
        learning_rate: float = GAINConfig.learning_rate,
        rounding: bool = GAINConfig.rounding,
        device: str = "auto",
        random_state: int = 0,
        progress: bool | None = None,
    ):
        self.batch_size = batch_size
        self.iterations = iterations
        self.hint_rate = hint_rate
        self.hint = hint
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.rounding = rounding
        self.device = device
        self.random_state = random_state
        self.progress = progress

    def _learn_columns(self, observed) -> None:
        self.categorical_ = [
            j for j, values in enumerate(observed) if len(np.unique(values)) < CATEGORICAL
        ]

    def hint_matrix(self, mask: torch.Tensor) -> torch.Tensor:
        """The hint for mask ``m``: ``b ⊙ m + 0.5 (1 − b)`` (paper) or ``b ⊙ m`` (reference)."""
        b = (torch.rand_like(mask) < self.hint_rate).to(mask.dtype)
        return b * mask + (0.5 * (1 - b) if self.hint == "paper" else 0.0)

    def _networks(self, d: int) -> dict[str, nn.Module]:
        nets = {
            name: mlp([2 * d, d, d, d], nn.Sigmoid()) for name in ("generator", "discriminator")
        }
        return {name: net.to(self.device_) for name, net in nets.items()}

    def _plan(self, table: Table) -> "GAINPlan":
        return GAINPlan(self, table)

    def _generate(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        z = torch.rand_like(x) * 0.01
        return self.nets_["generator"](torch.cat([m * x + (1 - m) * z, m], 1))

    def _impute_rows(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return m * x + (1 - m) * self._generate(x, m)

    def _impute_table(self, table: Table) -> Iterator[tuple[slice, np.ndarray]]:
        for rows, imputed in super()._impute_table(table):
            if self.rounding and self.categorical_:
                imputed[:, self.categorical_] = np.round(imputed[:, self.categorical_])
            yield rows, imputed


class GAINPlan(TabularPlan, PairPlan):
    """GAIN's game: D predicts the mask from the completed rows and the hint."""

    name = "GAIN"

    def build(self) -> None:
        self.nets = self.estimator.nets_ = self.estimator._networks(self.table.values.shape[1])
        self.generator, self.discriminator = self.nets["generator"], self.nets["discriminator"]

    def optimisers(self) -> dict[str, Optimiser]:
        return self.adam(self.estimator.learning_rate, self.estimator.learning_rate)

    def forward(self, batch):
        x, m = batch
        hint = self.estimator.hint_matrix(m)
        generated = self.estimator._generate(x, m)
        return hint, generated, m * x + (1 - m) * generated

    def loss(self, player: str, batch, shared) -> LossOutput:
        x, m = batch
        hint, generated, filled = shared
        discriminator = self.discriminator
        if player == "discriminator":
            prob = discriminator(torch.cat([filled.detach(), hint], 1))
            d_loss = nn.functional.binary_cross_entropy(prob, m)
            return LossOutput(d_loss, {"discriminator": d_loss})
        prob = discriminator(torch.cat([filled, hint], 1))
        adversarial = -((1 - m) * torch.log(prob + 1e-8)).mean()
        mse = ((m * (generated - x)) ** 2).mean() / m.mean()
        g_loss = adversarial + self.estimator.alpha * mse
        return LossOutput(g_loss, {"generator": g_loss, "mse": mse})
