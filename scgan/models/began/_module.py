"""Torch modules of the conditional BEGAN imputer: tensors in, tensors out."""

import torch
from torch import nn

from .._grouped import ConditionMaps, ConvAutoencoder


class Generator(nn.Module):
    """``G(x, c)``: a real cell's image plus condition maps → an image in [0, 1].

    Optional extra input channels: the mean image of the cell's nearest
    neighbours (``neighbourhood=True``) and Gaussian noise (``noise=True``).
    """

    def __init__(
        self,
        groups: int,
        side: int,
        n_categories: list[int],
        channels: int = 4,
        hidden: int = 128,
        noise: bool = False,
        neighbourhood: bool = False,
    ):
        super().__init__()
        self.groups, self.side, self.noise, self.neighbourhood = groups, side, noise, neighbourhood
        self.conditions = ConditionMaps(groups, side, n_categories)
        in_channels = 1 + self.conditions.n_channels + int(noise) + int(neighbourhood)
        self.net = ConvAutoencoder(groups, side, in_channels, channels, hidden)

    def forward(
        self,
        x: torch.Tensor,
        codes: torch.Tensor,
        around: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``x``, ``around``, ``noise``: ``(batch, groups, side²)``; ``codes``: ``(batch, n_conditions)``.

        Returns ``(batch, groups, side²)``. The noise channel is drawn here
        unless ``noise`` is given.
        """
        b = x.shape[0]
        parts = [x.reshape(b, self.groups, 1, self.side, self.side)]
        if self.neighbourhood:
            parts.append(around.reshape(b, self.groups, 1, self.side, self.side))
        if self.conditions.n_channels:
            parts.append(self.conditions(codes, self.groups).to(x.dtype))
        if self.noise:
            parts.append(
                torch.randn_like(parts[0]) if noise is None else noise.reshape(parts[0].shape)
            )
        return torch.sigmoid(self.net(torch.cat(parts, dim=2))).reshape(b, self.groups, -1)


class Discriminator(nn.Module):
    """BEGAN's autoencoder discriminator with condition channels: ``D(v, c)`` reconstructs ``v``."""

    def __init__(
        self, groups: int, side: int, n_categories: list[int], channels: int = 4, hidden: int = 64
    ):
        super().__init__()
        self.groups, self.side = groups, side
        self.conditions = ConditionMaps(groups, side, n_categories)
        self.net = ConvAutoencoder(groups, side, 1 + self.conditions.n_channels, channels, hidden)

    def forward(self, v: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        b = v.shape[0]
        parts = [v.reshape(b, self.groups, 1, self.side, self.side)]
        if self.conditions.n_channels:
            parts.append(self.conditions(codes, self.groups).to(v.dtype))
        return self.net(torch.cat(parts, dim=2)).reshape(b, self.groups, -1)

    def reconstruction_error(self, v: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """BEGAN's ``L(v) = mean |v − D(v)|`` for each sample and group: ``(batch, groups)``."""
        return (v.float() - self(v, codes).float()).abs().mean(dim=2)
