"""Torch modules of the BEGAN imputer: tensors in, tensors out, one small model per gene part."""

import torch
from torch import nn

from .._grouped import ConditionEmbedding, GroupedLinear


class Generator(nn.Module):
    """``G(x, context, c)``: the log expression rate of each gene of each part.

    Per gene part (an image of ``side²`` genes): the part's own values ``x``
    (zero where the part is blind), the whole-cell ``context`` (see
    ``_data.Context``) and the cell's condition codes feed a two-layer
    network whose output, plus the log library size, is the log expected
    count. Where a part sees its genes, :meth:`update` then weighs each
    gene's own count against that prediction, as a gamma prior's posterior
    mean: the part's narrow hidden layer could not carry every gene's count.
    """

    def __init__(
        self,
        groups: int,
        side: int,
        n_categories: list[int],
        n_context: int,
        hidden: int = 128,
    ):
        super().__init__()
        area = side * side
        self.groups, self.area = groups, area
        self.act = nn.LeakyReLU(0.2)
        self.own = GroupedLinear(groups, area, hidden)
        self.context = GroupedLinear(groups, n_context, hidden)
        self.conditions = ConditionEmbedding(groups, n_categories, hidden)
        self.middle = GroupedLinear(groups, hidden, hidden)
        self.out = GroupedLinear(groups, hidden, area)
        self.log_prior_size = nn.Parameter(torch.zeros(groups, area))

    def forward(
        self, x: torch.Tensor | None, context: torch.Tensor, codes: torch.Tensor
    ) -> torch.Tensor:
        """``x``: ``(batch, groups, side²)``; ``context``: ``(batch, groups, n_context)``.

        ``x=None`` where every part is blind (its own values all zero): the
        product with zeros is skipped, which gives the same result.
        Returns the log rate ``(batch, groups, side²)`` per unit of library
        size.
        """
        own = self.own.bias if x is None else self.own(x)
        h = own + self.context(context) + self.conditions(codes)
        return self.out(self.act(self.middle(self.act(h))))

    def update(
        self, log_rate: torch.Tensor, counts: torch.Tensor, library: torch.Tensor
    ) -> torch.Tensor:
        """The log rate after seeing each gene's own ``counts`` at ``library`` (cells × parts).

        ``exp(log_rate)`` is the prior mean of a gamma-distributed rate
        whose shape β (one per gene, learned) is its weight in counts; the
        posterior mean after a Poisson count ``c`` at library ``L`` is
        ``(β + c) / (β / r + L)``: near ``c / L`` where counts are many, near
        ``r`` where they are few.
        """
        size = torch.exp(self.log_prior_size)
        library = library[:, :, None]
        return torch.log(size + counts) - torch.log(size * torch.exp(-log_rate) + library)


class Discriminator(nn.Module):
    """BEGAN's autoencoder discriminator per gene part, with conditions: ``D(v, c)`` reconstructs ``v``."""

    def __init__(self, groups: int, side: int, n_categories: list[int], hidden: int = 64):
        super().__init__()
        area = side * side
        self.act = nn.LeakyReLU(0.2)
        self.encode = GroupedLinear(groups, area, hidden)
        self.conditions = ConditionEmbedding(groups, n_categories, hidden)
        self.decode = GroupedLinear(groups, hidden, area)

    def forward(self, v: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return self.decode(self.act(self.encode(v) + self.conditions(codes)))

    def reconstruction_error(self, v: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """BEGAN's ``L(v) = mean |v − D(v)|`` for each sample and group: ``(batch, groups)``."""
        return (v.float() - self(v, codes).float()).abs().mean(dim=2)
