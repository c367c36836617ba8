"""BEGAN's equilibrium, for the two backends that play BEGAN's game (``began``, ``scigans``)."""

from dataclasses import dataclass

import torch


@dataclass
class BEGANBalance:
    """BEGAN's equilibrium: ``k_t`` and the convergence measure ``M`` (Berthelot et al. 2017).

    ``k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G)), 0, 1)`` and
    ``M = L(x) + |γ L(x) − L(G)|``, per element of ``L(x)`` (one per gene
    part, or a scalar), computed in the dtype of ``k``.
    """

    gamma: float
    lambda_k: float
    k: torch.Tensor

    @classmethod
    def start(
        cls, gamma: float, lambda_k: float, shape=(), device=None, dtype=torch.float64
    ) -> "BEGANBalance":
        return cls(gamma, lambda_k, torch.zeros(shape, dtype=dtype, device=device))

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """``L_D = L(x) − k_t · L(G)``."""
        return real - self.k.to(fake.dtype) * fake

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """Step ``k_t`` from this step's ``L(x)`` and ``L(G)``; returns ``k_t`` and ``M``."""
        real, fake = real.detach().to(self.k.dtype), fake.detach().to(self.k.dtype)
        balance = self.gamma * real - fake
        self.k = (self.k + self.lambda_k * balance).clamp(0.0, 1.0)
        return {"k_t": self.k.clone(), "M": real + balance.abs()}
