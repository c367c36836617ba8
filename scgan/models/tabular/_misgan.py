"""MisGAN (Li et al. 2019), fully-connected, with its imputer."""

import torch
from torch import nn

from ..._train import LossOutput, Optimiser
from .._blocks import gradient_penalty, mlp
from ._base import Table, TabularGANImputer, TabularPlan
from ._config import MisGANConfig

GAMES = ("data", "mask", "impute")
CRITICS = tuple(f"{game}_critic" for game in GAMES)
GENERATORS = ("data_gen", "mask_gen", "imputer")


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
        ``Ĝ_i``'s output on each row's observed entries, averaged over rows:
        the reference code's ``--gamma``. The default 30 with
        ``imputer_input="separate"`` beats mean imputation on Breast, Spam
        and Letter; the paper's method is ``gamma=0,
        imputer_input="complement"``, which loses to it on Spam and Letter.
    imputer_input
        What ``Ĝ_i`` sees: ``"separate"`` (the default, the reference code's
        ``--imputer fix``): ``x ⊙ m``, ``m`` and ``ω`` as three inputs per
        column, so it is told which entries are missing; ``"complement"``
        (the paper's, the reference code's ``--imputer comp``):
        ``x ⊙ m + ω ⊙ (1 − m)``, one value per column.
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

    config_class = MisGANConfig
    _extra_state = ("latent_dim", "imputer_input")  # they shape the networks

    def __init__(
        self,
        *,
        iterations: int = MisGANConfig.iterations,
        batch_size: int = MisGANConfig.batch_size,
        latent_dim: int = MisGANConfig.latent_dim,
        alpha: float = MisGANConfig.alpha,
        beta: float = MisGANConfig.beta,
        gamma: float = MisGANConfig.gamma,
        imputer_input: str = MisGANConfig.imputer_input,
        tau: float = MisGANConfig.tau,
        temperature: float = MisGANConfig.temperature,
        gp_weight: float = MisGANConfig.gp_weight,
        n_critic: int = MisGANConfig.n_critic,
        learning_rate: float = MisGANConfig.learning_rate,
        imputer_learning_rate: float = MisGANConfig.imputer_learning_rate,
        n_draws: int = MisGANConfig.n_draws,
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

    def _plan(self, table: Table) -> "MisGANPlan":
        return MisGANPlan(self, table)

    def _learning_rate(self, name: str) -> float:
        imputer = name in ("imputer", "impute_critic")
        return self.imputer_learning_rate if imputer else self.learning_rate


class MisGANPlan(TabularPlan):
    """MisGAN's three games: the critics step every step, the generators every ``n_critic``."""

    name = "MisGAN"

    def __init__(self, estimator: MisGANImputer, table: Table):
        super().__init__(estimator, table)
        self.n_critic = estimator.n_critic

    def steps_per_epoch(self) -> int:
        """A pass over the rows for the generators: ``n_critic`` critic steps for each of theirs."""
        return self.n_critic * super().steps_per_epoch()

    def build(self) -> None:
        self.nets = self.estimator.nets_ = self.estimator._networks(self.table.values.shape[1])

    def modules(self):
        return {
            "discriminator": [self.nets[name] for name in CRITICS],
            "generator": [self.nets[name] for name in GENERATORS],
        }

    def optimisers(self) -> dict[str, Optimiser]:
        rate = self.estimator._learning_rate
        return {
            player: Optimiser(
                [{"params": self.nets[name].parameters(), "lr": rate(name)} for name in names],
                betas=(0.5, 0.9),
            )
            for player, names in (("discriminator", CRITICS), ("generator", GENERATORS))
        }

    def loss(self, player: str, batch, shared) -> LossOutput:
        x, m = batch
        if player == "discriminator":
            return self._critic_loss(x, m)
        return self._generator_loss(x, m)

    def _critic_loss(self, x, m) -> LossOutput:
        """The three critics' WGAN-GP losses; their Wasserstein estimates are logged per game."""
        model, nets = self.estimator, self.nets
        with torch.no_grad():
            fake_data = nets["data_gen"](model._noise(len(x)))
            fake_mask = nets["mask_gen"](model._noise(len(x)))
            imputed = model._impute_rows(x, m)
        pairs = {
            "data": (model._mask(x, m), model._mask(fake_data, fake_mask)),
            "mask": (m, fake_mask),
            "impute": (fake_data, imputed),
        }
        loss, estimates = 0.0, {}
        for game, (real, fake) in pairs.items():
            critic = nets[f"{game}_critic"]
            wasserstein = critic(fake).mean() - critic(real).mean()
            loss = loss + wasserstein + model.gp_weight * gradient_penalty(critic, real, fake)
            estimates[game] = -wasserstein.detach()
        return LossOutput(loss, {"critic": loss.detach(), **estimates})

    def _generator_loss(self, x, m) -> LossOutput:
        """The three generators' objectives (eq. 10) in one sum, each term on its own network."""
        model, nets = self.estimator, self.nets
        fake_data = nets["data_gen"](model._noise(len(x)))
        fake_mask = nets["mask_gen"](model._noise(len(x)))
        output = model._imputer_output(x, m)
        data_critic, impute_critic = nets["data_critic"], nets["impute_critic"]
        # the generator parts of G_i: L_i (+ γ mismatch), G_x: L_x + β L_i and
        # G_m: L_m + α L_x; detaching keeps each term on the network whose
        # objective it belongs to
        loss = (
            -impute_critic(x * m + output * (1 - m)).mean()
            + model.gamma * observed_mse(output, x, m)
            - data_critic(model._mask(fake_data, fake_mask.detach())).mean()
            + model.beta * impute_critic(fake_data).mean()
            - nets["mask_critic"](fake_mask).mean()
            - model.alpha * data_critic(model._mask(fake_data.detach(), fake_mask)).mean()
        )
        return LossOutput(loss, {"generator": loss.detach()})


def observed_mse(output: torch.Tensor, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Mean squared error of ``output`` on each row's observed entries, averaged over rows."""
    per_row = ((output - x) ** 2 * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)
    return per_row.mean()
