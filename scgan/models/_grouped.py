"""Layers that run many independent small models (one per gene part) as one batched model.

Tensors are laid out ``(batch, groups, features)``; group ``g`` only ever sees
its own weights, so training the batch of groups equals training each one alone.
"""

import math

import torch
from torch import nn


class GroupedLinear(nn.Module):
    """One ``Linear(in_features, out_features)`` per group."""

    def __init__(self, groups: int, in_features: int, out_features: int):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(
            torch.empty(groups, in_features, out_features).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(torch.empty(groups, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bgi,gio->bgo", x, self.weight) + self.bias


class ConditionEmbedding(nn.Module):
    """Each categorical condition → a learned vector per group, summed: ``(batch, groups, dim)``.

    Nothing is shared between groups, so that each part's model stays independent.
    """

    def __init__(self, groups: int, n_categories: list[int], dim: int):
        super().__init__()
        self.tables = nn.ParameterList(
            nn.Parameter(torch.randn(groups, n, dim) * 0.1) for n in n_categories
        )

    def forward(self, codes: torch.Tensor) -> torch.Tensor | float:
        """``codes``: ``(batch, n_conditions)`` integer codes; 0 without conditions."""
        total = 0.0
        for i, table in enumerate(self.tables):
            total = total + table[:, codes[:, i]].transpose(0, 1)
        return total


def own_groups(state: dict[str, torch.Tensor], groups: int, first: int, stop: int) -> dict:
    """The part of a grouped network's ``state_dict`` that holds groups ``[first, stop)``.

    Every tensor of these networks starts with an axis of ``groups × m``
    entries, the group's ``m`` consecutive.
    """
    own = {}
    for name, tensor in state.items():
        m = tensor.shape[0] // groups
        own[name] = tensor[first * m : stop * m].clone()
    return own


def join_groups(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The ``state_dict`` of all groups from those of consecutive ranges of groups (in order)."""
    return {name: torch.cat([state[name] for state in states]) for name in states[0]}
