"""GAIN (Yoon et al. 2018): generator and per-entry discriminator with a hint (SPEC §4)."""

import numpy as np
import torch
from torch import nn

from ..._train import optimizer_step
from .._blocks import mlp
from ._base import TabularGANImputer, check_matrix

HINTS = ("paper", "reference")


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

    _extra_state = ("categorical_",)

    def __init__(
        self,
        *,
        batch_size: int = 128,
        iterations: int = 10_000,
        hint_rate: float = 0.9,
        hint: str = "paper",
        alpha: float = 100.0,
        learning_rate: float = 1e-3,
        rounding: bool = False,
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

    def fit(self, X, y=None):
        """Train on ``X`` (rows × columns, ``NaN`` missing)."""
        x = check_matrix(X)
        self.categorical_ = [
            j for j in range(x.shape[1]) if len(np.unique(x[~np.isnan(x[:, j]), j])) < 20
        ]
        return super().fit(x, y)

    def transform(self, X):
        """``X`` with missing entries imputed; observed entries unchanged."""
        imputed = super().transform(X)
        if self.rounding and self.categorical_:
            missing = np.isnan(np.asarray(X, dtype=np.float64))
            columns = self.categorical_
            rounded = np.round(imputed[:, columns])
            imputed[:, columns] = np.where(missing[:, columns], rounded, imputed[:, columns])
        return imputed

    def _check_params(self) -> None:
        super()._check_params()
        if self.hint not in HINTS:
            msg = f"hint={self.hint!r}; choose one of {HINTS}"
            raise ValueError(msg)
        if not 0 <= self.hint_rate <= 1:
            msg = f"hint_rate={self.hint_rate} must lie in [0, 1]"
            raise ValueError(msg)

    def hint_matrix(self, mask: torch.Tensor) -> torch.Tensor:
        """The hint for mask ``m``: ``b ⊙ m + 0.5 (1 − b)`` (paper) or ``b ⊙ m`` (reference)."""
        b = (torch.rand_like(mask) < self.hint_rate).to(mask.dtype)
        return b * mask + (0.5 * (1 - b) if self.hint == "paper" else 0.0)

    def _networks(self, d: int) -> dict[str, nn.Module]:
        nets = {
            name: mlp([2 * d, d, d, d], nn.Sigmoid()) for name in ("generator", "discriminator")
        }
        return {name: net.to(self.device_) for name, net in nets.items()}

    def _train(self, x: np.ndarray, m: np.ndarray) -> None:
        self.nets_ = self._networks(x.shape[1])
        generator, discriminator = self.nets_["generator"], self.nets_["discriminator"]
        opt_g = torch.optim.Adam(generator.parameters(), lr=self.learning_rate)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=self.learning_rate)
        data, mask = self._tensors(x, m)
        batch = min(self.batch_size, len(x))
        history = {"discriminator": [], "generator": [], "mse": []}
        with self._progress() as bar:
            for step in range(self.iterations):
                bar.update()
                rows = torch.randint(len(x), (batch,), device=self.device_)
                xb, mb = data[rows], mask[rows]
                h = self.hint_matrix(mb)
                generated = self._generate(xb, mb)
                filled = mb * xb + (1 - mb) * generated
                prob = discriminator(torch.cat([filled.detach(), h], 1))
                d_loss = nn.functional.binary_cross_entropy(prob, mb)
                optimizer_step(opt_d, d_loss, what="GAIN discriminator", step=step)
                prob = discriminator(torch.cat([filled, h], 1))
                adversarial = -((1 - mb) * torch.log(prob + 1e-8)).mean()
                mse = ((mb * (generated - xb)) ** 2).mean() / mb.mean()
                g_loss = adversarial + self.alpha * mse
                optimizer_step(opt_g, g_loss, what="GAIN generator", step=step)
                if step % 100 == 0:
                    for name, value in zip(history, (d_loss, g_loss, mse), strict=True):
                        history[name].append(value.item())
        self.history_ = {name: np.asarray(values) for name, values in history.items()}

    def _generate(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        z = torch.rand_like(x) * 0.01
        return self.nets_["generator"](torch.cat([m * x + (1 - m) * z, m], 1))

    def _impute(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        return self._by_chunks(lambda xb, mb: mb * xb + (1 - mb) * self._generate(xb, mb), x, m)
