"""Training on several processes (CPU cores or CUDA GPUs) with ``torch.distributed``.

scgan spawns one process per device with :func:`torch.multiprocessing.spawn`
and joins them through a ``gloo`` (CPU) or ``nccl`` (CUDA) process group
that meets at a file in a temporary folder, so no network port is needed.
Arrays travel through that folder as tensors (read back memory-mapped, with
``weights_only``); results come back the same way. When a process fails,
the others are stopped and the first failure is raised in the caller as one
:class:`DistributedError` naming the process and its error.
"""

import json
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.multiprocessing.spawn import ProcessException

from ._device import available_cores

_ERROR_FILE = "error-{rank}.json"


class DistributedError(RuntimeError):
    """A process of a multi-device run failed; the others were stopped."""


def check_devices(devices: int, device: torch.device) -> int:
    """``devices`` after checking that this machine has that many of ``device``'s kind.

    On the CPU a device is a process of its own, so at most one per available core.
    """
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        msg = f"devices={devices!r}: must be a positive number of processes"
        raise ValueError(msg)
    if device.type == "cuda":
        have, what = torch.cuda.device_count(), "CUDA GPUs"
    else:
        have, what = available_cores(), "CPU cores available"
    if devices > have:
        msg = f"devices={devices}, but this machine has {have} {what}; pass devices={have} or fewer"
        raise ValueError(msg)
    return devices


@dataclass(frozen=True)
class Process:
    """Where a spawned process stands: its rank among ``world`` and its device."""

    rank: int
    world: int
    device: torch.device


def run(
    worker: Callable,
    devices: int,
    device: torch.device,
    threads: int,
    arrays: dict[str, torch.Tensor],
    *args,
) -> dict:
    """Run ``worker(process, arrays, *args)`` in ``devices`` processes and return rank 0's result.

    ``arrays`` reach every process memory-mapped; ``worker`` returns a dict of
    tensors (or ``None``) and rank 0's is loaded back here. Each process runs
    ``threads`` CPU threads.
    """
    with tempfile.TemporaryDirectory(prefix="scgan-") as name:
        folder = Path(name)
        torch.save(arrays, folder / "arrays.pt")
        try:
            mp.spawn(
                _entry,
                args=(worker, devices, device.type, threads, folder, args),
                nprocs=devices,
                join=True,
            )
        except ProcessException as error:
            raise DistributedError(_first_failure(folder, devices, error)) from None
        return torch.load(folder / "result.pt", map_location="cpu", weights_only=True)


def _entry(rank, worker, world, device_type, threads, folder, args) -> None:
    """One spawned process: join the group, run ``worker``, leave a note if it fails."""
    torch.set_num_threads(threads)
    if device_type == "cuda":
        torch.cuda.set_device(rank)
        device = torch.device("cuda", rank)
    else:
        device = torch.device("cpu")
    dist.init_process_group(
        "nccl" if device_type == "cuda" else "gloo",
        init_method=f"file://{folder / 'rendezvous'}",
        rank=rank,
        world_size=world,
        device_id=device if device_type == "cuda" else None,
    )
    try:
        arrays = torch.load(folder / "arrays.pt", mmap=True, weights_only=True)
        result = worker(Process(rank, world, device), arrays, *args)
        if rank == 0:
            torch.save(result or {}, folder / "result.pt")
        dist.barrier()
    except BaseException as error:
        note = {"type": type(error).__name__, "message": str(error)}
        note["traceback"] = traceback.format_exc()
        (folder / _ERROR_FILE.format(rank=rank)).write_text(json.dumps(note))
        raise
    finally:
        dist.destroy_process_group()


def _first_failure(folder: Path, world: int, error: Exception) -> str:
    """One line on the process that failed first (by its note), or on how one ended."""
    notes = []
    for rank in range(world):
        path = folder / _ERROR_FILE.format(rank=rank)
        if path.is_file():
            notes.append((path.stat().st_mtime, rank, json.loads(path.read_text())))
    if not notes:
        return f"a training process ended without finishing ({error}); the others were stopped"
    _, rank, note = min(notes)
    return (
        f"process {rank} of {world} failed with {note['type']}: {note['message']}; "
        "the others were stopped"
    )


def all_sum(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over the processes, in place (itself when not distributed)."""
    if dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_mean(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` averaged over the processes, in place."""
    if dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= dist.get_world_size()
    return tensor


def gather_to_first(value):
    """Every process's ``value`` as a list at rank 0 (``None`` elsewhere); ``[value]`` alone."""
    if not dist.is_initialized():
        return [value]
    values = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(value, values, dst=0)
    return values


def process_threads(threads: int, devices: int) -> int:
    """CPU threads per process when ``threads`` are shared by ``devices`` processes."""
    return max(1, threads // devices)
