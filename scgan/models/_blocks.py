"""Building blocks shared by the tabular backends: MLPs and the WGAN gradient penalty."""

import itertools

import torch
from torch import nn


def mlp(sizes: list[int], output: nn.Module | None = None) -> nn.Sequential:
    """Linear layers of the given widths with ReLU between them and ``output`` at the end.

    Weights get Xavier-normal initialisation (as in the GAIN reference code).
    """
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        linear = nn.Linear(n_in, n_out)
        nn.init.xavier_normal_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if output is not None:
        layers.append(output)
    return nn.Sequential(*layers)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP's ``mean((‖∇D(x̃)‖₂ − 1)²)`` at random interpolates ``x̃`` of real and fake rows."""
    eps = torch.rand(real.shape[0], 1, device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()
