"""MisGAN (Li et al. 2019), fully-connected, with its imputer (SPEC §4)."""

import numpy as np
import torch
from torch import nn

from ..._train import check_finite, optimizer_step
from .._blocks import gradient_penalty, mlp
from ._base import TabularGANImputer

CRITICS = ("data_critic", "mask_critic", "impute_critic")


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
    value; the imputer has four ``d``-wide layers (ReLU between layers).

    Three generator/critic pairs trained with WGAN-GP: masks ``(G_m, D_m)``,
    data ``(G_x, D_x)`` seen through the masking operator
    ``f_τ(x, m) = x ⊙ m + τ (1 − m)``, and the imputer ``(G_i, D_i)`` with
    ``G_i(x, m, ω) = x ⊙ m + Ĝ_i(x ⊙ m + ω ⊙ (1 − m)) ⊙ (1 − m)``, whose critic
    compares imputed rows with complete rows from ``G_x``. Objectives (eq. 10):
    ``G_m`` minimises ``L_m + α L_x``, ``G_x`` minimises ``L_x + β L_i``, ``G_i``
    minimises ``L_i``; critics take ``n_critic`` steps per generator step.

    Parameters
    ----------
    iterations, batch_size
        Critic steps (one generator step every ``n_critic``) and rows per
        step (64 as in the reference).
    latent_dim
        Noise length of ``G_x`` and ``G_m`` (reference: 128).
    alpha, beta, tau, temperature
        α = 0.2, β = 0.1, τ = 0 and the mask temperature λ = 0.66 of the paper.
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

    def __init__(
        self,
        *,
        iterations: int = 12_000,
        batch_size: int = 64,
        latent_dim: int = 128,
        alpha: float = 0.2,
        beta: float = 0.1,
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
        nets = {
            "data_gen": mlp([z, 256, 512, d], nn.Sigmoid()),
            "mask_gen": mlp([z, 256, 512, d], _Temperature(self.temperature)),
            "imputer": mlp([d, d, d, d, d], nn.Sigmoid()),
            **{name: mlp([d, 512, 256, 128, 1]) for name in CRITICS},
        }
        return {name: net.to(self.device_) for name, net in nets.items()}

    def _mask(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return x * m + self.tau * (1 - m)

    def _impute_rows(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        omega = torch.rand_like(x)
        return x * m + self.nets_["imputer"](x * m + omega * (1 - m)) * (1 - m)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device_)

    def _train(self, x: np.ndarray, m: np.ndarray) -> None:
        self.nets_ = nets = self._networks(x.shape[1])
        rates = {"imputer": self.imputer_learning_rate, "impute_critic": self.imputer_learning_rate}
        opt = {
            name: torch.optim.Adam(
                net.parameters(), lr=rates.get(name, self.learning_rate), betas=(0.5, 0.9)
            )
            for name, net in nets.items()
        }
        data, mask = self._tensors(x, m)
        batch = min(self.batch_size, len(x))
        history = {"data": [], "mask": [], "impute": []}
        with self._progress() as bar:
            for step in range(1, self.iterations + 1):
                bar.update()
                rows = torch.randint(len(x), (batch,), device=self.device_)
                losses = self._critic_step(data[rows], mask[rows], opt, step)
                if step % self.n_critic == 0:
                    self._generator_step(data[rows], mask[rows], opt, step)
                if step % 100 == 0:  # the critics' Wasserstein estimates
                    for name, value in losses.items():
                        history[name].append(value.item())
        self.history_ = {name: np.asarray(values) for name, values in history.items()}

    def _critic_step(self, x, m, opt, step: int) -> dict[str, torch.Tensor]:
        nets = self.nets_
        with torch.no_grad():
            fake_data = nets["data_gen"](self._noise(len(x)))
            fake_mask = nets["mask_gen"](self._noise(len(x)))
            imputed = self._impute_rows(x, m)
        pairs = {
            "data": ("data_critic", self._mask(x, m), self._mask(fake_data, fake_mask)),
            "mask": ("mask_critic", m, fake_mask),
            "impute": ("impute_critic", fake_data, imputed),
        }
        losses = {}
        for name, (critic_name, real, fake) in pairs.items():
            critic = nets[critic_name]
            wasserstein = critic(fake).mean() - critic(real).mean()
            loss = wasserstein + self.gp_weight * gradient_penalty(critic, real, fake)
            optimizer_step(opt[critic_name], loss, what=f"MisGAN {name} critic", step=step)
            losses[name] = -wasserstein.detach()
        return losses

    def _generator_step(self, x, m, opt, step: int) -> None:
        nets = self.nets_
        critics = [nets[c] for c in CRITICS]
        for critic in critics:
            critic.requires_grad_(False)
        n = len(x)
        fake_data = nets["data_gen"](self._noise(n))
        fake_mask = nets["mask_gen"](self._noise(n))
        data_term = -nets["data_critic"](self._mask(fake_data, fake_mask)).mean()
        mask_term = -nets["mask_critic"](fake_mask).mean()
        # L_i's first expectation E[D_i(G_x(z))] is the part that depends on G_x
        impute_term_gx = nets["impute_critic"](fake_data).mean()
        impute_term_gi = -nets["impute_critic"](self._impute_rows(x, m)).mean()
        # G_m: L_m + α L_x; G_x: L_x + β L_i; G_i: L_i (the losses' generator parts)
        grads = {
            "mask_gen": mask_term + self.alpha * data_term,
            "data_gen": data_term + self.beta * impute_term_gx,
            "imputer": impute_term_gi,
        }
        for name, loss in grads.items():  # each network gets the gradient of its own loss
            check_finite(loss, what=f"MisGAN {name}", step=step)
            params = list(nets[name].parameters())
            grads_of = torch.autograd.grad(loss, params, retain_graph=True)
            for p, g in zip(params, grads_of, strict=True):
                p.grad = g
            opt[name].step()
        for critic in critics:
            critic.requires_grad_(True)

    def _impute(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        draws = [self._by_chunks(self._impute_rows, x, m) for _ in range(self.n_draws)]
        return np.mean(draws, axis=0)
