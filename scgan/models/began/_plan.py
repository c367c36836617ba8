"""The BEGAN imputer's training plan: its networks, batches and losses for the one loop."""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..._distributed import all_mean
from ..._dropout import apply_dropout
from ..._train import BEGANBalance, LossOutput, Optimiser, PairPlan
from .._grouped import own_groups
from ._config import BEGANConfig
from ._data import CellImages
from ._module import Discriminator, Generator


@dataclass(frozen=True)
class Shard:
    """One process's share of the training: gene parts ``[first, stop)`` of ``groups``.

    With more processes than parts every process trains every part on its
    share of each batch's cells (``split_rows``, data parallel), and their
    gradients are averaged. Random numbers are drawn for the whole batch
    and all parts and then cut to the share, so that a split by parts trains
    exactly what one process would.
    """

    groups: int
    first: int = 0
    stop: int | None = None
    rank: int = 0
    world: int = 1
    split_rows: bool = False

    @classmethod
    def of(cls, rank: int, world: int, groups: int) -> "Shard":
        if world > groups:
            return cls(groups, 0, groups, rank, world, split_rows=True)
        bounds = np.linspace(0, groups, world + 1).round().astype(int)
        return cls(groups, int(bounds[rank]), int(bounds[rank + 1]), rank, world)

    @property
    def parts(self) -> slice:
        return slice(self.first, self.groups if self.stop is None else self.stop)

    @property
    def whole(self) -> bool:
        """Whether this process trains all parts on all cells (one process)."""
        return self.world == 1

    def rows(self, n_rows: int) -> slice:
        """This process's rows of a batch of ``n_rows``."""
        if not self.split_rows:
            return slice(0, n_rows)
        bounds = np.linspace(0, n_rows, self.world + 1).round().astype(int)
        return slice(int(bounds[self.rank]), int(bounds[self.rank + 1]))


class BEGANPlan(PairPlan):
    """One G/D pair per gene part, trained as one batched model.

    Each step: hide ``mask_rate`` of the observed entries from G's input;
    ``Drop(G(x))`` is judged by the autoencoder D against the real cell
    (``L_D = L(x) − k_t L(Drop(G(x)))``); G minimises
    ``α · reconstruction`` on the observed entries plus the adversarial term
    ``L(Drop(G(x)))``, whose gradient on G's output is rescaled, per gene
    part, to ``adversary`` times the reconstruction gradient's norm (with
    ``adversary=0`` D is not trained). After each epoch the validation error
    is measured.
    """

    name = "scgan began"
    progress_terms = ("M", "k_t")
    select = "validation_mae"

    def __init__(
        self,
        config: BEGANConfig,
        images: CellImages,
        codes: torch.Tensor,
        n_categories: list[int],
        dropout: tuple[float, float],
        scale_top: float,
        validation_error,
        random_state: int,
        shard: Shard | None = None,
    ):
        self.config, self.images, self.codes = config, images, codes
        self.n_categories, self.dropout, self.scale_top = n_categories, dropout, scale_top
        self.validation_error, self.random_state = validation_error, random_state
        self.shard = Shard(images.parts.shape[0]) if shard is None else shard
        self.mixed_precision = config.mixed_precision
        self.valid = images.parts < images.values.shape[1]
        if not config.adversary:  # G alone, on the reconstruction term
            self.order, self.progress_terms = ("generator",), ("reconstruction",)

    def build(self) -> None:
        cfg, device, shard = self.config, self.images.device, self.shard
        self.generator, self.discriminator = networks(cfg, shard.groups, self.n_categories, device)
        groups = self.images.parts.shape[0]
        if groups < shard.groups:  # drawn whole, so that each part starts as it would alone
            with torch.random.fork_rng(devices=[]):  # draws nothing from the training stream
                own = networks(cfg, groups, self.n_categories, device)
            for mine, whole in zip(own, (self.generator, self.discriminator), strict=True):
                state = whole.state_dict()
                mine.load_state_dict(own_groups(state, shard.groups, shard.first, shard.stop))
            self.generator, self.discriminator = own
        # float32 per gene part, as BEGAN's k_t has always been (scIGANs': float64)
        self.balance = BEGANBalance.start(cfg.gamma, cfg.lambda_k, (groups,), device, torch.float32)
        self.order_generator = torch.Generator(device="cpu").manual_seed(self.random_state)
        self.shuffled, self.position = None, 0

    def optimisers(self) -> dict[str, Optimiser]:
        cfg = self.config
        return self.adam(cfg.lr_generator, cfg.lr_discriminator, cfg.betas, fused=True)

    def _batch_size(self) -> int:
        return min(self.config.batch_size, self.images.values.shape[0])

    def steps_per_epoch(self) -> int:
        cfg, groups = self.config, self.shard.groups
        whole_pass = self.images.values.shape[0] // self._batch_size()
        by_parts = max(1, cfg.max_part_steps_per_epoch // groups)
        return min(whole_pass, cfg.max_steps_per_epoch, by_parts)

    def batches(self, epoch: int) -> Iterator:
        size = self._batch_size()
        for _ in range(self.steps_per_epoch()):
            rows = self._next_rows(size)
            self.batch_rows = len(rows)
            rows = rows[self.shard.rows(len(rows))]
            x, around = self.images(rows.numpy())
            yield x, around, self.codes[rows.to(self.codes.device)]

    def _next_rows(self, size: int) -> torch.Tensor:
        """The next ``size`` cells of a shuffled pass over the cells.

        A pass with fewer than ``size`` cells left makes way for a new one, so
        an epoch of a whole pass starts a fresh pass, as it always did.
        """
        n_cells = self.images.values.shape[0]
        if self.shuffled is None or self.position + size > n_cells:
            self.shuffled, self.position = (
                torch.randperm(n_cells, generator=self.order_generator),
                0,
            )
        rows = self.shuffled[self.position : self.position + size]
        self.position += size
        return rows

    def forward(self, batch):
        x, around, codes = batch
        observed = x > 0
        hidden = observed & (self._draw(torch.rand, x) < self.config.mask_rate)
        noise = self._draw(torch.randn, x) if self.config.noise else None
        generated = self.generator(x.masked_fill(hidden, 0.0), codes, around, noise) * self.valid
        fake = generated
        if self.config.artificial_dropout and self.config.adversary:
            q, s = self.dropout
            uniform = self._draw(torch.rand, generated)
            fake = apply_dropout(generated, generated * self.scale_top, q, s, self.valid, uniform)
        return observed, generated, fake

    def _draw(self, draw, like: torch.Tensor) -> torch.Tensor:
        """Random numbers for ``like`` (this share's cells and parts), drawn for the whole batch."""
        shard = self.shard
        whole = draw((self.batch_rows, shard.groups, *like.shape[2:]), device=like.device)
        return whole[shard.rows(self.batch_rows), shard.parts]

    def loss(self, player: str, batch, shared) -> LossOutput:
        x, _, codes = batch
        observed, generated, fake = shared
        D = self.discriminator
        if player == "discriminator":
            real = D.reconstruction_error(x, codes).mean(0)
            fake_error = D.reconstruction_error(fake.detach(), codes).mean(0)
            d_loss = self.balance.discriminator_loss(real, fake_error)
            return LossOutput(
                d_loss.sum(), {"real": real, "fake": fake_error, "discriminator": d_loss}
            )
        error = self._error(generated.float() - x) * observed
        reconstruction = error.sum(dim=(0, 2)) / observed.sum(dim=(0, 2)).clamp(min=1)
        fitting = self.config.alpha * reconstruction
        if not self.config.adversary:
            return LossOutput(
                fitting.sum(), {"reconstruction": reconstruction, "generator": fitting}
            )
        adversarial = D.reconstruction_error(fake, codes).mean(0)
        # logged: BEGAN's G loss; stepped: the same with the adversarial gradient resized
        terms = {
            "reconstruction": reconstruction,
            "adversarial": adversarial,
            "generator": fitting + adversarial,
        }
        return LossOutput((fitting + self._sized(adversarial, fitting, generated)).sum(), terms)

    def _sized(
        self, adversarial: torch.Tensor, reconstruction: torch.Tensor, generated: torch.Tensor
    ) -> torch.Tensor:
        """A stand-in for ``adversarial`` (per gene part) with a rescaled gradient on G's output.

        Its gradient on ``generated`` is the adversarial one, rescaled to
        ``adversary`` times the norm of the reconstruction gradient, so that
        the game neither vanishes beside the large ``α`` nor drowns the
        reconstruction.
        """
        (toward_real,) = torch.autograd.grad(adversarial.sum(), generated, retain_graph=True)
        (toward_data,) = torch.autograd.grad(reconstruction.sum(), generated, retain_graph=True)
        norms = [g.float().square().sum(dim=(0, 2)).sqrt() for g in (toward_real, toward_data)]
        scale = self.config.adversary * norms[1] / norms[0].clamp(min=1e-12)
        step = (toward_real.float() * scale[None, :, None]).detach()
        return (generated.float() * step).sum(dim=(0, 2))

    def after_step(self, terms):
        # k_t and M compare L(x) and L(Drop(G(x))) under the same discriminator
        if not self.config.adversary:
            return {}
        if self.shard.split_rows:  # one k_t for every process: from the whole batch
            all_mean(terms["real"].detach())
            all_mean(terms["fake"].detach())
        return self.balance.update(terms["real"], terms["fake"])

    def synchronise(self, optimiser) -> None:
        """Average the gradients over the processes that split each batch's cells."""
        if not self.shard.split_rows:
            return
        for group in optimiser.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    all_mean(p.grad)

    def after_epoch(self) -> dict[str, float]:
        return {"validation_mae": self.validation_error(self.generator, self.shard)}

    def _error(self, difference: torch.Tensor) -> torch.Tensor:
        """The reconstruction error per entry: absolute (l1) or squared (l2)."""
        return difference.abs() if self.config.reconstruction == "l1" else difference**2


def networks(
    config: BEGANConfig, groups: int, n_categories: list[int], device: torch.device
) -> tuple[Generator, Discriminator]:
    """A fresh generator and discriminator with ``groups`` gene parts."""
    generator = Generator(
        groups,
        config.side,
        n_categories,
        config.channels,
        config.hidden,
        noise=config.noise,
        neighbourhood=config.n_neighbors > 0,
    )
    discriminator = Discriminator(
        groups, config.side, n_categories, config.channels, config.hidden // 2
    )
    return generator.to(device), discriminator.to(device)
