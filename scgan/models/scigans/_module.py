"""Torch modules of scIGANs (Xu et al. 2020), sized from the image side ``s``."""

import math

import torch
from torch import nn


def _conv_bn_relu(c_in: int, c_out: int, padding: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, 1, padding), nn.BatchNorm2d(c_out), nn.ReLU()]


def _label_maps(one_hot: torch.Tensor) -> torch.Tensor:
    """``(batch, classes)`` one-hot codes as ``(batch, classes, 1, 1)`` maps to upsample."""
    return one_hot[:, :, None, None]


class Generator(nn.Module):
    """``G(z, c)``: noise and a one-hot class → a ``1 × s × s`` cell image in [0, 1].

    A noise branch (linear to ``32 × ⌈s/4⌉²``, two upsampling convolutions)
    and a label branch (one-hot upsampled to ``s × s``, three convolutions to
    8 channels) are concatenated and mapped to one sigmoid channel.
    """

    def __init__(self, side: int, n_classes: int, latent_dim: int = 100, width: int = 32):
        super().__init__()
        self.side, self.latent_dim, self.width = side, latent_dim, width
        self.init = math.ceil(side / 4)
        self.project = nn.Linear(latent_dim, width * self.init**2)
        self.noise_branch = nn.Sequential(
            nn.BatchNorm2d(width),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(width, 2 * width, 3, 1, 1),
            nn.BatchNorm2d(2 * width, eps=0.8),  # as released (eps=0.8, a quirk kept)
            nn.ReLU(),
            nn.Upsample(size=(side, side)),
            nn.Conv2d(2 * width, width, 3, 1, 1),
            nn.ReLU(),
        )
        self.label_branch = nn.Sequential(
            nn.Upsample(size=(side, side)),
            *_conv_bn_relu(n_classes, width),
            *_conv_bn_relu(width, width // 2),
            *_conv_bn_relu(width // 2, width // 4),
        )
        self.head = nn.Sequential(
            nn.BatchNorm2d(width + width // 4, eps=0.8),
            *_conv_bn_relu(width + width // 4, width),
            nn.Conv2d(width, 1, 3, 1, 1),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        noise = self.project(z).view(-1, self.width, self.init, self.init)
        maps = torch.cat([self.noise_branch(noise), self.label_branch(_label_maps(one_hot))], 1)
        return self.head(maps)


class Discriminator(nn.Module):
    """BEGAN's autoencoder discriminator with label channels: ``D(v, c)`` reconstructs ``v``.

    A dense layer over the whole image, two convolution + max-pool steps to
    16 channels, 16 label channels, a 16-unit bottleneck, and two unpadded
    convolutions back to ``1 × s × s`` (sigmoid).
    """

    def __init__(self, side: int, n_classes: int, width: int = 32, bottleneck: int = 16):
        super().__init__()
        self.side = side
        self.down_side = (side // 2 + 2) // 2
        flat = width * self.down_side**2
        self.width = width
        self.pre = nn.Linear(side**2, side**2)
        self.down = nn.Sequential(
            nn.Conv2d(1, width, 3, 1, 1),
            nn.MaxPool2d(2, 2),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width // 2, 3, 1, 2),
            nn.MaxPool2d(2, 2),
            nn.BatchNorm2d(width // 2),
            nn.ReLU(),
        )
        self.label_branch = nn.Sequential(
            nn.Upsample(size=(self.down_side, self.down_side)),
            *_conv_bn_relu(n_classes, width),
            nn.Conv2d(width, width // 2, 3, 1, 1),
        )
        self.bottleneck = nn.Sequential(
            nn.Linear(flat, bottleneck),
            nn.BatchNorm1d(bottleneck, eps=0.8),
            nn.ReLU(),
            nn.Linear(bottleneck, flat),
            nn.BatchNorm1d(flat),
            nn.ReLU(),
        )
        self.up = nn.Sequential(
            nn.Upsample(size=(side + 4, side + 4)),
            *_conv_bn_relu(width, width // 2, padding=0),
            nn.Conv2d(width // 2, 1, 3, 1, 0),
            nn.Sigmoid(),
        )

    def forward(self, image: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        b = image.shape[0]
        dense = self.pre(image.reshape(b, -1)).view(b, 1, self.side, self.side)
        maps = torch.cat([self.down(dense), self.label_branch(_label_maps(one_hot))], 1)
        code = self.bottleneck(maps.reshape(b, -1))
        return self.up(code.view(b, self.width, self.down_side, self.down_side))

    def reconstruction_error(self, image: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        """``L(v) = mean |v − D(v)|`` over the batch."""
        return (self(image, one_hot) - image).abs().mean()


def init_weights(module: nn.Module) -> None:
    """As released: convolutions ~ N(0, 0.02); batch-norm scales ~ N(1, 0.02), shifts 0."""
    if isinstance(module, nn.Conv2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
