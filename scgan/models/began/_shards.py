"""Training the BEGAN imputer's networks on one device, or on several, each its shard of the parts.

:func:`train_networks` runs the one loop on this process's share;
:func:`train_on_devices` spawns ``devices`` processes (``scgan._distributed``),
each running :func:`train_networks` on its :class:`Shard`, and gathers
their networks. Both return a :class:`Trained`; the backend keeps what it
wants of it, so nothing here touches a backend's attributes.
"""

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse

from ... import _distributed as distributed
from ..._device import process_threads
from ..._train import train
from .._grouped import join_groups
from .._state import restore_gan
from ._config import BEGANConfig
from ._data import Context, code_tensor
from ._module import Discriminator, Generator
from ._plan import BEGANPlan, Shard, TrainingData, Validation, networks


@dataclass(frozen=True)
class Problem:
    """What training needs besides the counts: the settings and what ``fit`` prepared."""

    config: BEGANConfig
    parts: np.ndarray  # (groups, side²) gene indices, the padding index is the number of genes
    context: Context
    log_shares: np.ndarray  # (genes + 1,) each gene's log share of all counts
    n_categories: list[int]
    dropout: tuple[float, float]  # (q, s) of the artificial dropout
    random_state: int
    progress: bool | None


@dataclass
class Trained:
    """The networks of every part, the training history, the epoch kept and BEGAN's γ."""

    generator: Generator
    discriminator: Discriminator
    history: dict[str, np.ndarray]
    best_epoch: int | None
    gamma: float | list[float]


def train_networks(
    problem: Problem,
    counts: sparse.csr_matrix,
    codes: np.ndarray,
    validation: Validation,
    device: torch.device,
    shard: Shard | None = None,
) -> Trained:
    """Train the networks of ``shard``'s parts (all of them by default) in this process."""
    parts = slice(None) if shard is None else shard.parts
    data = TrainingData(
        counts,
        torch.as_tensor(problem.parts[parts], device=device),
        problem.context,
        code_tensor(codes, device),
        torch.as_tensor(problem.log_shares, device=device),
        device,
    )
    cfg = problem.config
    plan = BEGANPlan(
        cfg, data, problem.n_categories, problem.dropout, validation, problem.random_state, shard
    )
    result = train(
        plan,
        epochs=cfg.epochs,
        device=device,
        seed=problem.random_state,
        progress=problem.progress,
        patience=cfg.patience,
    )
    gamma = plan.balance.gamma
    gamma = gamma.tolist() if isinstance(gamma, torch.Tensor) else gamma
    return Trained(plan.generator, plan.discriminator, result.history, result.best_epoch, gamma)


def train_on_devices(
    problem: Problem,
    counts: sparse.csr_matrix,
    codes: np.ndarray,
    validation: Validation,
    devices: int,
    device: torch.device,
) -> Trained:
    """Train with ``devices`` processes, each on its share of the parts (see :class:`Shard`)."""
    batch_size = problem.config.batch_size
    if len(problem.parts) < devices and batch_size < devices:
        msg = (
            f"devices={devices} split each batch of batch_size={batch_size} "
            "cells; use fewer devices or a larger batch_size"
        )
        raise ValueError(msg)
    arrays = {"codes": codes, **_csr_arrays("counts", counts)}
    arrays |= _csr_arrays("kept", validation.kept) | _csr_arrays("held", validation.held_out)
    arrays["validation_codes"] = validation.codes.cpu().numpy()
    threads = process_threads(torch.get_num_threads(), devices)
    tensors = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in arrays.items()}
    result = distributed.run(_train_share, devices, device, threads, tensors, problem)
    shape = (len(problem.parts), problem.n_categories, problem.context.size, device)
    build = functools.partial(networks, problem.config, *shape)
    generator, discriminator = restore_gan(result, build, device, problem.random_state)
    best = int(result["best_epoch"])
    return Trained(
        generator,
        discriminator,
        {name: value.numpy() for name, value in result["history"].items()},
        None if best < 0 else best,
        result["gamma"].tolist(),
    )


def _train_share(process, arrays: dict[str, torch.Tensor], problem: Problem) -> dict | None:
    """In a spawned process: train this process's share of the parts; rank 0 returns them all."""
    shard = Shard.of(process.rank, process.world, len(problem.parts))
    context = problem.context
    problem = dataclasses.replace(
        problem,
        progress=problem.progress if process.rank == 0 else False,
        context=Context(
            context.loadings.to(process.device),
            context.centre.to(process.device),
            context.log_library,
        ),
    )
    validation = Validation(
        _csr(arrays, "kept"),
        _csr(arrays, "held"),
        arrays["validation_codes"].to(process.device),
        problem.config.validation_fraction,
    )
    counts, codes = _csr(arrays, "counts"), arrays["codes"].numpy()
    trained = train_networks(problem, counts, codes, validation, process.device, shard)
    return _gathered(trained, shard)


def _gathered(trained: Trained, shard: Shard) -> dict | None:
    """At rank 0, the networks and history of all parts, gathered from every process."""
    gamma = torch.as_tensor(trained.gamma, dtype=torch.float32).reshape(-1)
    mine = (
        trained.generator.state_dict(),
        trained.discriminator.state_dict(),
        trained.history,
        gamma,
    )
    gathered = distributed.gather_to_first(mine)
    if gathered is None:
        return None
    if shard.split_rows:  # every process holds every part, with the same weights
        gathered = gathered[:1]
    generators, discriminators, histories, gammas = zip(*gathered, strict=True)
    history = {
        name: torch.from_numpy(
            np.concatenate([h[name] for h in histories], axis=1)
            if histories[0][name].ndim == 2
            else histories[0][name]
        )
        for name in histories[0]
    }
    best = -1 if trained.best_epoch is None else trained.best_epoch
    return {
        "generator": join_groups(generators),
        "discriminator": join_groups(discriminators),
        "history": history,
        "best_epoch": torch.tensor(best),
        "gamma": torch.cat(gammas) if gammas[0].numel() > 1 else gammas[0],
    }


def _csr_arrays(name: str, matrix: sparse.csr_matrix) -> dict[str, np.ndarray]:
    """The arrays of a CSR matrix, to travel to spawned processes."""
    return {
        f"{name}_data": matrix.data,
        f"{name}_indices": matrix.indices,
        f"{name}_indptr": matrix.indptr,
        f"{name}_shape": np.asarray(matrix.shape),
    }


def _csr(arrays: dict[str, torch.Tensor], name: str) -> sparse.csr_matrix:
    """The CSR matrix :func:`_csr_arrays` sent."""
    return sparse.csr_matrix(
        tuple(arrays[f"{name}_{part}"].numpy() for part in ("data", "indices", "indptr")),
        shape=tuple(arrays[f"{name}_shape"].tolist()),
    )
