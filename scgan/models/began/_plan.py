"""The BEGAN imputer's training plan: its networks, batches and losses for the one loop."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..._distributed import all_mean, all_sum
from ..._train import LossOutput, Optimiser, PairPlan
from .._balance import BEGANBalance
from .._grouped import own_groups
from ._config import BEGANConfig
from ._data import LOG_SCALE, Context, by_part, dense_counts, own_values, thin
from ._dropout import apply_dropout
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

    def rows(self, n_rows: int) -> slice:
        """The rows of a batch of ``n_rows`` that this process takes."""
        if not self.split_rows:
            return slice(0, n_rows)
        bounds = np.linspace(0, n_rows, self.world + 1).round().astype(int)
        return slice(int(bounds[self.rank]), int(bounds[self.rank + 1]))


@dataclass
class TrainingData:
    """What every step reads: the training counts (CSR), this process's parts, the context."""

    counts: object  # scipy CSR, cells × genes
    parts: torch.Tensor  # (groups, side²), the padding index is the number of genes
    context: Context
    codes: torch.Tensor  # (cells, conditions)
    log_shares: torch.Tensor  # (genes + 1,) each gene's log share of all counts
    device: torch.device


def poisson_loss(log_mean: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Poisson negative log-likelihood per entry of counts ``y`` with mean ``exp(log_mean)``.

    Less ``log y!``, which does not depend on the model (and costs more than the rest).
    """
    return torch.exp(log_mean) - y * log_mean


class BEGANPlan(PairPlan):
    """One generator (and discriminator) per gene part, trained as one batched model.

    Each step thins the batch's counts (a share in ``thinning`` of each
    cell's molecules seen),
    draws which parts see their own genes and which are blind, and scores
    G's predicted counts of the unseen molecules under a Poisson likelihood
    (zeros and non-zeros alike), per gene part. With an
    ``adversary``, the log-normalised draw of G, after the artificial
    dropout, is judged by the autoencoder D against the real cell
    (``L_D = L(x) − k_t L(Drop(G))``) and G's adversarial gradient is sized
    to ``adversary`` times the likelihood's, per part. After each epoch the
    loss on the molecules held out before training is measured.
    """

    name = "scgan began"
    progress_terms = ("validation_loss",)
    select = "validation_loss"

    def __init__(
        self,
        config: BEGANConfig,
        data: TrainingData,
        n_categories: list[int],
        dropout: tuple[float, float],
        validation: "Validation",
        random_state: int,
        shard: Shard | None = None,
    ):
        self.config, self.data, self.n_categories = config, data, n_categories
        self.dropout, self.validation = dropout, validation
        self.random_state = random_state
        self.shard = Shard(data.parts.shape[0]) if shard is None else shard
        self.mixed_precision = config.mixed_precision
        self.valid = (data.parts < data.counts.shape[1]).float()
        if not config.adversary:  # G alone, on the likelihood
            self.order = ("generator",)
        else:
            self.progress_terms = ("validation_loss", "k_t", "M")

    def build(self) -> None:
        cfg, device, shard = self.config, self.data.device, self.shard
        size = self.data.context.size
        self.generator, self.discriminator = networks(
            cfg, shard.groups, self.n_categories, size, device
        )
        groups = self.data.parts.shape[0]
        if groups < shard.groups:  # drawn whole, so that each part starts as it would alone
            with torch.random.fork_rng(devices=[]):  # draws nothing from the training stream
                own = networks(cfg, groups, self.n_categories, size, device)
            for mine, whole in zip(own, (self.generator, self.discriminator), strict=True):
                state = whole.state_dict()
                mine.load_state_dict(own_groups(state, shard.groups, shard.first, shard.stop))
            self.generator, self.discriminator = own
        with torch.no_grad():  # start each gene at its share of the library
            self.generator.out.bias.copy_(self.data.log_shares[self.data.parts])
        self.balance = BEGANBalance.start(
            1.0 if cfg.gamma == "auto" else float(cfg.gamma),
            cfg.lambda_k,
            (groups,),
            device,
            torch.float32,
        )
        self.ratios: list[torch.Tensor] = []  # L(G)/L(x) of the first epoch, for gamma="auto"
        self.generator_stream = torch.Generator(device="cpu").manual_seed(self.random_state)
        self.shuffled, self.position, self.epoch = None, 0, 0
        self.validation_chunks: list[ValidationChunk] | None = None

    def optimisers(self) -> dict[str, Optimiser]:
        cfg = self.config
        return self.adam(cfg.lr_generator, cfg.lr_discriminator, cfg.betas, fused=True)

    def _batch_size(self) -> int:
        return min(self.config.batch_size, self.data.counts.shape[0])

    def steps_per_epoch(self) -> int:
        cfg, groups = self.config, self.shard.groups
        whole_pass = self.data.counts.shape[0] // self._batch_size()
        by_parts = max(1, cfg.max_part_steps_per_epoch // groups)
        return min(whole_pass, cfg.max_steps_per_epoch, by_parts)

    def batches(self, epoch: int) -> Iterator:
        self.epoch = epoch
        size = self._batch_size()
        for _ in range(self.steps_per_epoch()):
            rows = self._next_rows(size)
            x = dense_counts(self.data.counts, rows.numpy(), "cpu")
            low, high = self.config.thinning
            keep = low + (high - low) * torch.rand((len(rows), 1), generator=self.generator_stream)
            seen, rest = thin(x, keep, self.generator_stream)
            see = (
                torch.rand((len(rows), self.shard.groups), generator=self.generator_stream)
                >= self.config.blind_share
            ).float()
            share = self.shard.rows(len(rows))
            device = self.data.device
            yield (
                x[share].to(device),
                seen[share].to(device),
                rest[share].to(device),
                keep[share].to(device),
                see[share, self.shard.parts].to(device),
                self.data.codes[rows[share].to(self.data.codes.device)],
            )

    def _next_rows(self, size: int) -> torch.Tensor:
        """The next ``size`` cells of a shuffled pass over the cells.

        A pass with fewer than ``size`` cells left makes way for a new one.
        """
        n_cells = self.data.counts.shape[0]
        if self.shuffled is None or self.position + size > n_cells:
            self.shuffled = torch.randperm(n_cells, generator=self.generator_stream)
            self.position = 0
        rows = self.shuffled[self.position : self.position + size]
        self.position += size
        return rows

    def forward(self, batch):
        _, seen, rest, keep, see, codes = batch
        data = self.data
        log_rate, library = predict(
            self.generator, read(data.context, data.parts, seen, see), codes
        )
        scale = (1 - keep) / keep  # unseen per seen molecule
        log_mean = log_rate + torch.log(library * scale)[:, :, None]
        fake = None
        if self.config.adversary:
            fake = self._draw(log_rate, library / keep)
        return log_rate, log_mean, by_part(rest, self.data.parts), fake

    def _draw(self, log_rate: torch.Tensor, library: torch.Tensor):
        """G's cell, log-normalised as the real one is, after the artificial dropout."""
        expected = torch.exp(log_rate) * library[:, :, None]
        values = torch.log1p(expected * (1e4 / library[:, :, None])) / LOG_SCALE * self.valid
        if not self.config.artificial_dropout:
            return values
        q, s = self.dropout
        uniform = torch.rand(values.shape, device=values.device, dtype=values.dtype)
        return apply_dropout(values, values * LOG_SCALE, q, s, self.valid > 0, uniform)

    def loss(self, player: str, batch, shared) -> LossOutput:
        x, _, _, _, _, codes = batch
        log_rate, log_mean, target, fake = shared
        if player == "discriminator":
            D = self.discriminator
            real = D.reconstruction_error(self._real(x), codes).mean(0)
            fake_error = D.reconstruction_error(fake.detach(), codes).mean(0)
            d_loss = self.balance.discriminator_loss(real, fake_error)
            return LossOutput(
                d_loss.sum(), {"real": real, "fake": fake_error, "discriminator": d_loss}
            )
        per_entry = poisson_loss(log_mean.float(), target) * self.valid
        likelihood = per_entry.sum(dim=(0, 2)) / (self.valid.sum(dim=1) * len(target))
        if not self.config.adversary:
            return LossOutput(likelihood.sum(), {"likelihood": likelihood})
        adversarial = self.discriminator.reconstruction_error(fake, codes).mean(0)
        terms = {"likelihood": likelihood, "adversarial": adversarial}
        stand_in = self._sized(adversarial, likelihood, log_rate)
        return LossOutput((likelihood + stand_in).sum(), terms)

    def _real(self, x: torch.Tensor) -> torch.Tensor:
        """The real cells, log-normalised and scaled as G's draws are."""
        library = x.sum(dim=1, keepdim=True).clamp(min=1.0)
        return by_part(torch.log1p(x * (1e4 / library)) / LOG_SCALE, self.data.parts)

    def _sized(
        self, adversarial: torch.Tensor, likelihood: torch.Tensor, generated: torch.Tensor
    ) -> torch.Tensor:
        """A stand-in for ``adversarial`` (per gene part) with a rescaled gradient on G's output.

        Its gradient on ``generated`` (G's log rates) is the adversarial one, rescaled to
        ``adversary`` times the norm of the likelihood's gradient, so that the
        game neither vanishes beside the likelihood nor drowns it.
        """
        (toward_real,) = torch.autograd.grad(adversarial.sum(), generated, retain_graph=True)
        (toward_data,) = torch.autograd.grad(likelihood.sum(), generated, retain_graph=True)
        norms = [g.float().square().sum(dim=(0, 2)).sqrt() for g in (toward_real, toward_data)]
        scale = self.config.adversary * norms[1] / norms[0].clamp(min=1e-12)
        step = (toward_real.float() * scale[None, :, None]).detach()
        return (generated.float() * step).sum(dim=(0, 2))

    def after_step(self, terms):
        if not self.config.adversary:
            return {}
        real, fake = terms["real"].detach(), terms["fake"].detach()
        if self.shard.split_rows:  # one k_t for every process: from the whole batch
            all_mean(real)
            all_mean(fake)
        if self.config.gamma == "auto" and self.epoch == 0:  # measure the ratio, k_t stays 0
            self.ratios.append(fake / real.clamp(min=1e-12))
            return {"k_t": self.balance.k.clone(), "M": real + (real - fake).abs()}
        return self.balance.update(real, fake)

    def after_epoch(self) -> dict[str, float]:
        if self.config.gamma == "auto" and self.epoch == 0 and self.ratios:
            self.balance.gamma = torch.stack(self.ratios).mean(dim=0)
        chunks = self.validation_chunks
        if chunks is None:  # several chunks are read again each epoch, one at a time
            rows = self.validation.chunks(self.shard, self.data.parts.numel())
            chunks = (self.validation.read(self.data, chunk) for chunk in rows)
            if len(rows) == 1:  # the same cells every epoch: kept
                chunks = self.validation_chunks = list(chunks)
        return self.validation.losses(self.generator, chunks)

    def synchronise(self, optimiser) -> None:
        """Average the gradients over the processes that split each batch's cells."""
        if not self.shard.split_rows:
            return
        for group in optimiser.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    all_mean(p.grad)


@dataclass(frozen=True)
class Inputs:
    """What G reads of counts ``x`` for a ``see`` mask (:func:`read`), before its networks."""

    own: torch.Tensor  # (cells, parts, side²) each part's own counts
    values: torch.Tensor  # (cells, parts, side²) G's input: own values, 0 where blind
    context: torch.Tensor  # (cells, parts, context size)
    library: torch.Tensor  # (cells, parts) the library each part's rates are per
    seen: torch.Tensor  # (cells, parts, 1) True where a part sees its own genes


def read(
    context: Context,
    parts: torch.Tensor,
    x: torch.Tensor,
    see: torch.Tensor,
    own: torch.Tensor | None = None,
) -> Inputs:
    """G's inputs for counts ``x`` (cells × genes + 1) and ``own``, its counts by part.

    ``see`` (cells × parts) is 1 where a part sees its own genes.
    """
    own = by_part(x, parts) if own is None else own
    whole, library = context(x, own, see, parts)
    return Inputs(own, own_values(x, parts, see), whole, library, see[:, :, None] > 0.5)


def predict(
    generator: Generator,
    inputs: Inputs,
    codes: torch.Tensor,
    target_codes: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """G's log rates per part from its ``inputs`` (:func:`read`), and each part's library size.

    Where a part sees its own genes, their counts update G's prediction
    (:meth:`Generator.update`). The log expected count at the counts'
    depth is the log rate plus the log library. With ``target_codes``
    (e.g. another batch), the rates move by G's difference between the cell
    under those codes and under its own.
    """
    seeing = bool(inputs.seen.any())
    # all blind, outside training: no own values to read (in training the first layer's
    # weights must still get their zero gradient, for Adam and for the processes' averages)
    values = inputs.values if seeing or torch.is_grad_enabled() else None
    prior = generator(values, inputs.context, codes)
    log_rate = prior
    if seeing:
        updated = generator.update(prior, inputs.own, inputs.library)
        log_rate = torch.where(inputs.seen, updated, prior)
    if target_codes is not None:
        log_rate = log_rate + generator(values, inputs.context, target_codes) - prior
    return log_rate, inputs.library


@dataclass(frozen=True)
class ValidationChunk:
    """Validation cells of one chunk: their codes, held-out counts by part, G's inputs per mode."""

    codes: torch.Tensor
    target: torch.Tensor  # (cells, parts, side²)
    valid: torch.Tensor  # (parts, side²) 1 at genes, 0 at the padding
    modes: tuple[Inputs, Inputs]  # every part seeing its genes, every part blind


@dataclass
class Validation:
    """Molecules held out before training, of at most ``validation_cells`` cells.

    ``kept`` holds those cells' other molecules (the input), ``held_out``
    the molecules to predict, ``fraction`` the share held out. Measured in
    both modes: every part seeing its genes, and every part blind.
    """

    kept: object  # scipy CSR, validation cells × genes
    held_out: object  # scipy CSR, the same shape
    codes: torch.Tensor
    fraction: float
    log_factorials: float | None = None  # the loss's ``log y!`` part, the same every epoch

    def chunks(self, shard: Shard, entries_per_row: int) -> list[np.ndarray]:
        """The rows of this process's share (its parts, or its cells), in chunks."""
        n_rows = self.kept.shape[0]
        rows = np.arange(n_rows)[shard.rows(n_rows)]
        return np.array_split(rows, _n_chunks(len(rows), entries_per_row))

    def read(self, data: TrainingData, rows: np.ndarray) -> ValidationChunk:
        """The validation cells ``rows`` as G reads them, for ``data``'s parts."""
        parts = data.parts
        x = dense_counts(self.kept, rows, data.device)
        target = by_part(dense_counts(self.held_out, rows, data.device), parts)
        codes = self.codes[torch.as_tensor(rows, device=self.codes.device)]
        see = torch.ones((len(rows), len(parts)), device=x.device)
        seeing = read(data.context, parts, x, see)
        modes = (seeing, read(data.context, parts, x, torch.zeros_like(see), seeing.own))
        return ValidationChunk(codes, target, (parts < self.kept.shape[1]).float(), modes)

    def losses(self, generator: Generator, chunks: Iterable[ValidationChunk]) -> dict[str, float]:
        """Loss per held-out entry with every part seeing its genes, blind, and their sum.

        The Poisson loss per entry, averaged per part and summed over parts,
        on ``chunks`` (:meth:`read`); each process adds its share.
        """
        was_training = generator.training
        generator.eval()
        totals = torch.zeros(3, dtype=torch.float64)  # seen, blind, log y!
        scale = self.fraction / (1 - self.fraction)
        with torch.no_grad():
            for chunk in chunks:
                target, valid = chunk.target, chunk.valid
                if self.log_factorials is None:
                    constant = torch.lgamma(target + 1) * valid
                    totals[2] += (constant.sum(dim=(0, 2)) / valid.sum(dim=1)).sum().double().cpu()
                for mode, inputs in enumerate(chunk.modes):
                    log_rate, library = predict(generator, inputs, chunk.codes)
                    log_mean = log_rate.float() + torch.log(library * scale)[:, :, None]
                    loss = poisson_loss(log_mean, target) * valid
                    totals[mode] += (loss.sum(dim=(0, 2)) / valid.sum(dim=1)).sum().double().cpu()
        generator.train(was_training)
        seen, blind, log_factorials = (all_sum(totals) / self.kept.shape[0]).tolist()
        if self.log_factorials is None:
            self.log_factorials = log_factorials
        seen, blind = seen + self.log_factorials, blind + self.log_factorials
        return {"validation_seen": seen, "validation_blind": blind, "validation_loss": seen + blind}


VALIDATION_ENTRIES = 2**21
"""Cells × part entries scored at a time in the validation (about; see ``_n_chunks``). What G
reads of them is kept between epochs when they are one chunk (about 40 MB at most), else read
again each epoch."""


def _n_chunks(n_rows: int, entries_per_row: int) -> int:
    """Enough chunks for at most about ``VALIDATION_ENTRIES`` entries and 1 023 rows each."""
    return max(1, n_rows // 512, -(-n_rows * entries_per_row // VALIDATION_ENTRIES))


def networks(
    config: BEGANConfig,
    groups: int,
    n_categories: list[int],
    n_context: int,
    device: torch.device,
) -> tuple[Generator, Discriminator]:
    """A fresh generator and discriminator with ``groups`` gene parts."""
    generator = Generator(groups, config.side, n_categories, n_context, config.hidden)
    discriminator = Discriminator(groups, config.side, n_categories, max(1, config.hidden // 2))
    return generator.to(device), discriminator.to(device)
