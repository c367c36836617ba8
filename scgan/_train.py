"""Pieces every adversarial backend trains with: checked optimiser steps, and epochs with validation."""

import copy
import logging
from collections.abc import Callable

import torch
from torch import nn
from tqdm import tqdm

logger = logging.getLogger(__name__)


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite during training."""


def check_finite(loss: torch.Tensor, *, what: str, step: int) -> None:
    """Stop with a clear message if ``loss`` is NaN or infinite."""
    if not torch.isfinite(loss):
        msg = (
            f"training diverged: the {what} loss is {loss.item()} at step {step}; "
            "lower the learning rates or check the input for extreme values"
        )
        raise DivergenceError(msg)


def progress_bar(total: int, *, enabled: bool | None, desc: str, unit: str = "epoch") -> tqdm:
    """A tqdm bar; ``enabled=None`` shows it only when stderr is a terminal."""
    disable = None if enabled is None else not enabled
    return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=disable)


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, *, what: str, step: int):
    """Back-propagate ``loss`` and step, stopping with a clear message if it is not finite."""
    check_finite(loss, what=what, step=step)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def train_with_validation(
    run_epoch: Callable[[], dict[str, torch.Tensor]],
    validate: Callable[[], float],
    keep: nn.Module,
    *,
    epochs: int,
    patience: int,
) -> tuple[list[dict[str, torch.Tensor]], int, list[float]]:
    """Run epochs, keep the state of ``keep`` with the lowest validation error, and restore it.

    Adversarial losses do not say when to stop; a held-out error does. Stops
    after ``patience`` epochs without improvement.

    Returns the per-epoch logs, the best epoch (0-based) and the validation errors.
    """
    history, errors = [], []
    best_error, best_epoch, best_state = float("inf"), -1, None
    for epoch in range(epochs):
        history.append(run_epoch())
        errors.append(validate())
        if errors[-1] < best_error:
            best_error, best_epoch = errors[-1], epoch
            best_state = copy.deepcopy(keep.state_dict())
        if epoch - best_epoch >= patience:
            break
    if best_state is not None:
        keep.load_state_dict(best_state)
    return history, best_epoch, errors
