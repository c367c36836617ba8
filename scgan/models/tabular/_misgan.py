"""MisGAN (Li et al. 2019), fully-connected, with its imputer (SPEC §4)."""

import numpy as np
import torch
from torch import nn

from ..._train import optimizer_step
from .._blocks import gradient_penalty, mlp
from ._base import TabularGANImputer

GAMES = ("data", "mask", "impute")
CRITICS = tuple(f"{game}_critic" for game in GAMES)
GENERATORS = ("data_gen", "mask_gen", "imputer")
IMPUTER_INPUTS = ("complement", "separate")


class _Temperature(nn.Module):
    """``sigmoid(v / λ)``: the mask generator's soft output."""

    def __init__(self, temperature: float):
        super().__init__()
        self.temperature = temperature

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(v / self.temperature)


class MisGANImputer(TabularGANImputer):
    """MisGAN's imputation game with the reference code's fully-connected networks.

    Generators map 128 noise values through 256 and 512 units to the ``d``
    columns; critics map ``d`` columns through 512, 256 and 128 units to one
    value; the imputer has four ``d``-wide layers (ReLU between layers; the
    first takes ``3d`` inputs with ``imputer_input="separate"``).

    Three generator/critic pairs trained with WGAN-GP: masks ``(G_m, D_m)``,
    data ``(G_x, D_x)`` seen through the masking operator
    ``f_τ(x, m) = x ⊙ m + τ (1 − m)``, and the imputer ``(G_i, D_i)`` with
    ``G_i(x, m, ω) = x ⊙ m + Ĝ_i(x ⊙ m + ω ⊙ (1 − m)) ⊙ (1 − m)`` (or
    ``Ĝ_i(x ⊙ m, m, ω)``, see ``imputer_input``), whose critic compares imputed
    rows with complete rows from ``G_x``. Objectives (eq. 10): ``G_m``
    minimises ``L_m + α L_x``, ``G_x`` minimises ``L_x + β L_i``, ``G_i``
    minimises ``L_i`` (plus ``γ`` times the squared error of ``Ĝ_i`` on the
    observed entries, the reference code's ``--gamma``); critics take
    ``n_critic`` steps per generator step.

    Parameters
    ----------
    iterations, batch_size
        Critic steps (one generator step every ``n_critic``) and rows per
        step (64 as in the reference).
    latent_dim
        Noise length of ``G_x`` and ``G_m`` (reference: 128).
    alpha, beta, tau, temperature
        α = 0.2, β = 0.1, τ = 0 and the mask temperature λ = 0.66 of the paper.
    gamma
        Weight of the imputer's mismatch loss: the mean squared error of
        ``Ĝ_i``'s output on each row's observed entries, averaged over rows.
        0 as in the paper and the reference code's default; the reference
        code offers it as ``--gamma``.
    imputer_input
        What ``Ĝ_i`` sees: ``"complement"`` (the default, the paper's and the
        reference code's ``--imputer comp``): ``x ⊙ m + ω ⊙ (1 − m)``, one
        value per column; ``"separate"`` (the reference code's ``--imputer
        fix``): ``x ⊙ m``, ``m`` and ``ω`` as three inputs per column, so it
        is told which entries are missing.
    gp_weight, n_critic
        Gradient-penalty weight (10) and critic steps per generator step (5).
    learning_rate, imputer_learning_rate
        Adam learning rates (reference: 1e-4 and 2e-4), betas (0.5, 0.9).
    n_draws
        Imputations averaged at ``transform`` (the paper uses one).
    device, random_state
        ``"auto"``, ``"cpu"`` or ``"cuda"``; seed (CPU results repeat exactly).
    progress
        Progress bar over training steps; ``None`` shows it only on a terminal.
    """

    _at_least_one = ("batch_size", "latent_dim", "n_critic", "n_draws")
    _extra_state = ("latent_dim", "imputer_input")  # they shape the networks

    def __init__(
        self,
        *,
        iterations: int = 12_000,
        batch_size: int = 64,
        latent_dim: int = 128,
        alpha: float = 0.2,
        beta: float = 0.1,
        gamma: float = 0.0,
        imputer_input: str = "complement",
        tau: float = 0.0,
        temperature: float = 0.66,
        gp_weight: float = 10.0,
        n_critic: int = 5,
        learning_rate: float = 1e-4,
        imputer_learning_rate: float = 2e-4,
        n_draws: int = 1,
        device: str = "auto",
        random_state: int = 0,
        progress: bool | None = None,
    ):
        self.iterations = iterations
        self.batch_size = batch_size
        self.latent_dim = latent_dim
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.imputer_input = imputer_input
        self.tau = tau
        self.temperature = temperature
        self.gp_weight = gp_weight
        self.n_critic = n_critic
        self.learning_rate = learning_rate
        self.imputer_learning_rate = imputer_learning_rate
        self.n_draws = n_draws
        self.device = device
        self.random_state = random_state
        self.progress = progress

    def _networks(self, d: int) -> dict[str, nn.Module]:
        """The reference code's fully-connected networks for ``d`` columns."""
        z = self.latent_dim
        inputs = d if self.imputer_input == "complement" else 3 * d
        nets = {
            "data_gen": mlp([z, 256, 512, d], nn.Sigmoid()),
            "mask_gen": mlp([z, 256, 512, d], _Temperature(self.temperature)),
            "imputer": mlp([inputs, d, d, d, d], nn.Sigmoid()),
            **{name: mlp([d, 512, 256, 128, 1]) for name in CRITICS},
        }
        return {name: net.to(self.device_) for name, net in nets.items()}

    def _check_params(self) -> None:
        super()._check_params()
        if self.imputer_input not in IMPUTER_INPUTS:
            msg = f"imputer_input={self.imputer_input!r}; choose one of {IMPUTER_INPUTS}"
            raise ValueError(msg)

    def _mask(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return x * m + self.tau * (1 - m)

    def _impute_rows(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return x * m + self._imputer_output(x, m) * (1 - m)

    def _imputer_output(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """``Ĝ_i`` of the row with noise ``ω ~ U(0, 1)``: a value for every entry."""
        omega = torch.rand_like(x)
        if self.imputer_input == "complement":
            return self.nets_["imputer"](x * m + omega * (1 - m))
        return self.nets_["imputer"](torch.cat([x * m, m, omega], dim=1))

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device_)

    def _train(self, x: np.ndarray, m: np.ndarray) -> None:
        self.nets_ = nets = self._networks(x.shape[1])
        opt = {
            group: torch.optim.Adam(
                [
                    {"params": nets[name].parameters(), "lr": self._learning_rate(name)}
                    for name in names
                ],
                betas=(0.5, 0.9),
            )
            for group, names in (("critics", CRITICS), ("generators", GENERATORS))
        }
        data, mask = self._tensors(x, m)
        batch = min(self.batch_size, len(x))
        history = {game: [] for game in GAMES}
        with self._progress() as bar:
            for step in range(1, self.iterations + 1):
                bar.update()
                rows = torch.randint(len(x), (batch,), device=self.device_)
                estimates = self._critic_step(data[rows], mask[rows], opt, step)
                if step % self.n_critic == 0:
                    self._generator_step(data[rows], mask[rows], opt, step)
                if step % 100 == 0:  # the critics' Wasserstein estimates
                    for game, value in estimates.items():
                        history[game].append(value.item())
        self.history_ = {game: np.asarray(values) for game, values in history.items()}

    def _learning_rate(self, name: str) -> float:
        imputer = name in ("imputer", "impute_critic")
        return self.imputer_learning_rate if imputer else self.learning_rate

    def _critic_step(self, x, m, opt, step: int) -> dict[str, torch.Tensor]:
        """One update of the three critics; returns their Wasserstein estimates."""
        nets = self.nets_
        with torch.no_grad():
            fake_data = nets["data_gen"](self._noise(len(x)))
            fake_mask = nets["mask_gen"](self._noise(len(x)))
            imputed = self._impute_rows(x, m)
        pairs = {
            "data": (self._mask(x, m), self._mask(fake_data, fake_mask)),
            "mask": (m, fake_mask),
            "impute": (fake_data, imputed),
        }
        loss, estimates = 0.0, {}
        for game, (real, fake) in pairs.items():
            critic = nets[f"{game}_critic"]
            wasserstein = critic(fake).mean() - critic(real).mean()
            loss = loss + wasserstein + self.gp_weight * gradient_penalty(critic, real, fake)
            estimates[game] = -wasserstein.detach()
        optimizer_step(opt["critics"], loss, what="MisGAN critic", step=step)
        return estimates

    def _generator_step(self, x, m, opt, step: int) -> None:
        """One update of the three generators against frozen critics (eq. 10)."""
        nets = self.nets_
        critics = [nets[name] for name in CRITICS]
        for critic in critics:
            critic.requires_grad_(False)
        fake_data = nets["data_gen"](self._noise(len(x)))
        fake_mask = nets["mask_gen"](self._noise(len(x)))
        output = self._imputer_output(x, m)
        data_critic, impute_critic = nets["data_critic"], nets["impute_critic"]
        # the generator parts of G_i: L_i (+ γ mismatch), G_x: L_x + β L_i and
        # G_m: L_m + α L_x; detaching keeps each term on the network whose
        # objective it belongs to
        loss = (
            -impute_critic(x * m + output * (1 - m)).mean()
            + self.gamma * observed_mse(output, x, m)
            - data_critic(self._mask(fake_data, fake_mask.detach())).mean()
            + self.beta * impute_critic(fake_data).mean()
            - nets["mask_critic"](fake_mask).mean()
            - self.alpha * data_critic(self._mask(fake_data.detach(), fake_mask)).mean()
        )
        optimizer_step(opt["generators"], loss, what="MisGAN generator", step=step)
        for critic in critics:
            critic.requires_grad_(True)

    def _impute(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        draws = [self._by_chunks(self._impute_rows, x, m) for _ in range(self.n_draws)]
        return np.mean(draws, axis=0)


def observed_mse(output: torch.Tensor, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Mean squared error of ``output`` on each row's observed entries, averaged over rows."""
    per_row = ((output - x) ** 2 * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)
    return per_row.mean()
