"""The one adversarial training loop every backend trains through.

A backend describes its game as an :class:`AdversarialPlan`: its networks,
the Adam settings of each player, its minibatches and its loss functions.
:func:`train` builds the networks under the seed, creates the optimisers
and runs the epochs: for each batch an optional shared forward pass, then
the discriminator (critic) step on detached fakes and, every ``n_critic``
steps, the generator step with the discriminator frozen (or the other way
round where the plan says so). Each loss returns named terms; their means
per epoch form the training history, one schema for every backend. This is
the only module in scgan that creates or steps an optimiser.
"""

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ._device import autocast, seeded
from ._progress import progress_bar

PLAYERS = ("discriminator", "generator")


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite during training."""


@dataclass
class LossOutput:
    """One player's loss for one step: the scalar to minimise and the named terms to log."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class Optimiser:
    """Adam settings of one player: parameter groups (each with its ``lr``), betas, fused kernel."""

    param_groups: list[dict]
    betas: tuple[float, float] = (0.9, 0.999)
    fused: bool = False


class AdversarialPlan:
    """What a backend supplies to :func:`train`; subclasses fill in the methods.

    Attributes
    ----------
    name
        Shown on the progress bar.
    order
        The players in the order they step on each batch.
    n_critic
        Discriminator steps per generator step.
    mixed_precision
        bfloat16 autocast on CUDA for the forward passes.
    progress_terms
        History terms shown on the progress bar after each epoch.
    select
        A history term: the networks of :meth:`kept` are restored to the
        epoch where it was lowest (adversarial losses do not say when to
        stop). ``None`` keeps the last epoch.
    """

    name: str = "scgan"
    order: tuple[str, str] = PLAYERS
    n_critic: int = 1
    mixed_precision: bool = False
    progress_terms: tuple[str, ...] = ()
    select: str | None = None

    def kept(self) -> nn.Module:
        """The network restored to the epoch chosen by :attr:`select`."""
        raise NotImplementedError

    def build(self) -> None:
        """Create the networks (called under the seed, before anything else draws numbers)."""
        raise NotImplementedError

    def modules(self) -> dict[str, list[nn.Module]]:
        """The networks of each player (put in training mode at each epoch)."""
        raise NotImplementedError

    def optimisers(self) -> dict[str, Optimiser]:
        """The Adam settings of each player."""
        raise NotImplementedError

    def steps_per_epoch(self) -> int:
        raise NotImplementedError

    def total_steps(self, epochs: int) -> int:
        """Steps in ``epochs`` epochs (for the progress bar)."""
        return epochs * self.steps_per_epoch()

    def batches(self, epoch: int) -> Iterator[Any]:
        """The minibatches of one epoch, drawn lazily (they may use the random generator)."""
        raise NotImplementedError

    def forward(self, batch) -> Any:
        """A forward pass both players' losses share (e.g. the fakes); ``None`` by default."""
        return None

    def loss(self, player: str, batch, shared) -> LossOutput:
        """The loss of ``player`` ("discriminator" or "generator") on ``batch``."""
        raise NotImplementedError

    def after_step(self, terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Update state that follows each step (e.g. BEGAN's ``k_t``); returns terms to log."""
        return {}

    def after_epoch(self) -> dict[str, float]:
        """Terms measured once per epoch (e.g. a validation error)."""
        return {}

    def synchronise(self, optimiser: torch.optim.Optimizer) -> None:
        """Between back-propagation and the step: e.g. average gradients over processes."""


class PairPlan(AdversarialPlan):
    """A game of one network a side: ``self.generator`` (the one kept) and ``self.discriminator``."""

    def kept(self) -> nn.Module:
        return self.generator

    def modules(self) -> dict[str, list[nn.Module]]:
        return {"generator": [self.generator], "discriminator": [self.discriminator]}

    def adam(
        self, lr_generator: float, lr_discriminator: float, betas=(0.9, 0.999), fused=False
    ) -> dict[str, Optimiser]:
        """Adam for each network, with its own learning rate."""
        return {
            player: Optimiser([{"params": network.parameters(), "lr": lr}], betas, fused)
            for player, network, lr in (
                ("discriminator", self.discriminator, lr_discriminator),
                ("generator", self.generator, lr_generator),
            )
        }


@dataclass
class TrainingResult:
    history: dict[str, np.ndarray]
    """Term name → values per epoch (first axis), for every backend alike."""
    best_epoch: int | None
    """The epoch kept (0-based), or ``None`` when the last one is."""


def train(
    plan: AdversarialPlan,
    *,
    epochs: int,
    device: torch.device,
    seed: int,
    progress: bool | None,
    patience: int | None = None,
) -> TrainingResult:
    """Build ``plan``'s networks under ``seed`` and train them for up to ``epochs`` epochs.

    With ``plan.select``, the epoch with its lowest value is kept, and
    training stops after ``patience`` epochs without a lower value. The
    caller's random state is left alone.
    """
    with seeded(device, seed):
        plan.build()
        optimisers = {name: _adam(spec) for name, spec in plan.optimisers().items()}
        with progress_bar(plan.total_steps(epochs), enabled=progress, desc=plan.name) as bar:
            loop = _Loop(plan, optimisers, device, bar)
            return loop.run(epochs, patience)


class _Loop:
    """The epochs of :func:`train`, with the step count and the history."""

    def __init__(self, plan: AdversarialPlan, optimisers, device: torch.device, bar):
        self.plan, self.optimisers, self.device, self.bar = plan, optimisers, device, bar
        self.step = 0
        self.epochs: list[dict[str, np.ndarray]] = []
        networks = plan.modules()
        self.others = {  # per player: the parameters that stay still while it steps
            player: [
                p
                for other in networks
                if other != player
                for m in networks[other]
                for p in m.parameters()
            ]
            for player in networks
        }

    def run(self, epochs: int, patience: int | None) -> TrainingResult:
        select = self.plan.select
        best_value, best_epoch, best_state = math.inf, None, None
        for epoch in range(epochs):
            terms = self._epoch(epoch)
            self.epochs.append(terms)
            self._show(epoch, epochs, terms)
            if select is None:
                continue
            value = float(np.mean(terms[select]))
            if value < best_value:
                best_value, best_epoch = value, epoch
                best_state = copy.deepcopy(self.plan.kept().state_dict())
            since = epoch - (-1 if best_epoch is None else best_epoch)
            if patience is not None and since >= patience:
                break
        if best_state is not None:
            self.plan.kept().load_state_dict(best_state)
        return TrainingResult(_by_term(self.epochs), best_epoch)

    def _epoch(self, epoch: int) -> dict[str, np.ndarray]:
        plan = self.plan
        for networks in plan.modules().values():
            for network in networks:
                network.train()
        sums: dict[str, torch.Tensor] = {}
        counts: dict[str, int] = {}
        for batch in plan.batches(epoch):
            for name, value in self._step(batch).items():
                sums[name] = sums.get(name, 0) + value.detach().double()
                counts[name] = counts.get(name, 0) + 1
            self.bar.update()
        terms = {name: (total / counts[name]).cpu().numpy() for name, total in sums.items()}
        return terms | {name: np.asarray(v) for name, v in plan.after_epoch().items()}

    def _step(self, batch) -> dict[str, torch.Tensor]:
        plan = self.plan
        with autocast(self.device, plan.mixed_precision):
            shared = plan.forward(batch)
        terms: dict[str, torch.Tensor] = {}
        for player in plan.order:
            if player == "generator" and (self.step + 1) % plan.n_critic:
                continue
            with _frozen(self.others[player]):
                with autocast(self.device, plan.mixed_precision):
                    output = plan.loss(player, batch, shared)
                what = f"{plan.name} {player}"
                optimizer = self.optimisers[player]
                optimizer_step(
                    optimizer, output.loss, what=what, step=self.step, before=plan.synchronise
                )
            terms |= output.terms
        terms |= plan.after_step(terms)
        self.step += 1
        return terms

    def _show(self, epoch: int, epochs: int, terms: dict[str, np.ndarray]) -> None:
        shown = {name: f"{np.mean(terms[name]):.4f}" for name in self.plan.progress_terms}
        self.bar.set_postfix(epoch=f"{epoch + 1}/{epochs}", **shown)


def _by_term(epochs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-epoch dicts of terms as one array per term; NaN where an epoch lacks a term."""
    shapes = {name: np.shape(value) for terms in epochs for name, value in terms.items()}
    return {
        name: np.stack([terms.get(name, np.full(shape, np.nan)) for terms in epochs])
        for name, shape in shapes.items()
    }


class _frozen:
    """Switch gradients off for ``parameters`` inside the block (they do not step)."""

    def __init__(self, parameters: list[nn.Parameter]):
        self.parameters = [p for p in parameters if p.requires_grad]

    def __enter__(self):
        for p in self.parameters:
            p.requires_grad_(False)

    def __exit__(self, *_):
        for p in self.parameters:
            p.requires_grad_(True)


def _adam(spec: Optimiser) -> "torch.optim.Adam | FusedAdam":
    if spec.fused:
        return FusedAdam(spec.param_groups, spec.betas)
    return torch.optim.Adam(spec.param_groups, betas=spec.betas)


class FusedAdam:
    """Adam by torch's fused kernel, stepping exactly as ``torch.optim.Adam(fused=True)``.

    Without ``torch.optim``, whose first optimiser in a process imports
    torch's compiler (about 2 s on a CPU) to mark its methods. No weight
    decay; parameters without a gradient are skipped.
    """

    def __init__(self, param_groups: list[dict], betas: tuple[float, float], eps: float = 1e-8):
        self.param_groups = [{**group, "params": list(group["params"])} for group in param_groups]
        self.betas, self.eps = betas, eps
        self.state: dict[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            steps, averages, squares = map(list, zip(*map(self._state, params), strict=True))
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(
                params,
                [p.grad for p in params],
                averages,
                squares,
                [],
                steps,
                lr=group["lr"],
                beta1=self.betas[0],
                beta2=self.betas[1],
                weight_decay=0.0,
                eps=self.eps,
                amsgrad=False,
                maximize=False,
            )

    def _state(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The step count, first and second moments of ``p`` (zero at the start)."""
        if p not in self.state:
            step = torch.zeros((), dtype=torch.float32, device=p.device)
            self.state[p] = (step, torch.zeros_like(p), torch.zeros_like(p))
        return self.state[p]


def check_finite(loss: torch.Tensor, *, what: str, step: int) -> None:
    """Stop with a clear message if ``loss`` is NaN or infinite."""
    if not torch.isfinite(loss):
        msg = (
            f"training diverged: the {what} loss is {loss.item()} at step {step}; "
            "lower the learning rates or check the input for extreme values"
        )
        raise DivergenceError(msg)


def optimizer_step(
    optimizer: "torch.optim.Optimizer | FusedAdam",
    loss: torch.Tensor,
    *,
    what: str,
    step: int,
    before=None,
):
    """Back-propagate ``loss`` and step, stopping with a clear message if it is not finite.

    ``before(optimizer)``, if given, runs between the two (e.g. to average gradients).
    """
    check_finite(loss, what=what, step=step)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if before is not None:
        before(optimizer)
    optimizer.step()


def epochs_for(steps: int, steps_per_epoch: int) -> int:
    """Epochs that hold ``steps`` steps of ``steps_per_epoch`` (the last may be shorter)."""
    return -(-steps // steps_per_epoch)
