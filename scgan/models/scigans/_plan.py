"""scIGANs' training plan for the one loop: the released code's BEGAN game."""

from collections.abc import Iterator

import numpy as np
import torch
from scipy import sparse

from ..._data import dense_rows
from ..._train import LossOutput, Optimiser, PairPlan
from .._balance import BEGANBalance
from ._module import Discriminator, Generator, init_weights


class ScIGANsPlan(PairPlan):
    """Noise → G(z, c); the generator steps first, then the discriminator (as released).

    The generator of the epoch with the lowest mean convergence measure ``M`` is kept.
    """

    name = "scgan scigans"
    order = ("generator", "discriminator")
    progress_terms = ("M", "k_t")
    select = "M"

    def __init__(
        self,
        config,
        images: sparse.csr_matrix,
        side: int,
        labels: np.ndarray,
        n_classes: int,
        device: torch.device,
    ):
        self.config, self.images, self.side = config, images, side
        self.labels, self.n_classes, self.device = labels, n_classes, device

    def build(self) -> None:
        self.generator, self.discriminator = networks(
            self.side, self.n_classes, self.config.latent_dim, self.device
        )
        for network in (self.generator, self.discriminator):
            network.apply(init_weights)
        self.one_hot = torch.eye(self.n_classes, device=self.device)[
            torch.as_tensor(self.labels, device=self.device)
        ]
        self.balance = BEGANBalance.start(self.config.gamma, self.config.lambda_k)

    def optimisers(self) -> dict[str, Optimiser]:
        return self.adam(self.config.lr, self.config.lr, self.config.betas)

    def _batch_size(self) -> int:
        return min(self.config.batch_size, self.images.shape[0])

    def steps_per_epoch(self) -> int:
        return self.images.shape[0] // self._batch_size()

    def batches(self, epoch: int) -> Iterator:
        size = self._batch_size()
        order = torch.randperm(self.images.shape[0], device=self.device)
        padding = self.side**2 - self.images.shape[1]
        for b in range(self.steps_per_epoch()):
            cells = order[b * size : (b + 1) * size]
            block = dense_rows(self.images, cells.cpu().numpy(), padding=padding)
            x = torch.as_tensor(block, dtype=torch.float32, device=self.device)
            yield x.view(-1, 1, self.side, self.side), self.one_hot[cells]

    def forward(self, batch):
        _, one_hot = batch
        return self.generator(
            torch.randn(len(one_hot), self.config.latent_dim, device=self.device), one_hot
        )

    def loss(self, player: str, batch, fake) -> LossOutput:
        x, one_hot = batch
        D = self.discriminator
        if player == "generator":
            g_loss = D.reconstruction_error(fake, one_hot)
            return LossOutput(g_loss, {"generator": g_loss})
        real = D.reconstruction_error(x, one_hot)
        fake_error = D.reconstruction_error(fake.detach(), one_hot)
        d_loss = self.balance.discriminator_loss(real, fake_error)
        return LossOutput(d_loss, {"real": real, "fake": fake_error, "discriminator": d_loss})

    def after_step(self, terms):
        return self.balance.update(terms["real"], terms["fake"])


def networks(
    side: int, n_classes: int, latent_dim: int, device: torch.device
) -> tuple[Generator, Discriminator]:
    """A fresh generator and discriminator for ``side × side`` images of ``n_classes`` classes."""
    generator = Generator(side, n_classes, latent_dim)
    discriminator = Discriminator(side, n_classes)
    return generator.to(device), discriminator.to(device)
