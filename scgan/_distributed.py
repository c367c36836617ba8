"""Training on several processes (CPU cores or CUDA GPUs) with ``torch.distributed``.

scgan starts one process per device through its own entry point
(``python -m scgan._worker``), so the processes never re-run the caller's
script: no ``if __name__ == "__main__"`` guard is needed. They join a
``gloo`` (CPU) or ``nccl`` (CUDA) process group that meets at a file in a
temporary folder, so no network port is needed. Arrays travel through that
folder as tensors (read back memory-mapped, with ``weights_only``); results
come back the same way. When a process fails, the others are stopped and the
first failure is raised in the caller as one :class:`DistributedError`
naming the process and its error; when the caller stops (an error, Ctrl-C,
SIGTERM, or a SIGKILL), so do the processes.
"""

import ctypes
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from ._files import remove_leftovers

logger = logging.getLogger(__name__)

_ERROR_FILE = "error-{rank}.json"
_JOB_FILE = "job.pickle"
_POLL_SECONDS = 0.1
_PR_SET_PDEATHSIG = 1  # Linux prctl option: a signal for this process when its parent ends


class DistributedError(RuntimeError):
    """A process of a multi-device run failed; the others were stopped."""


@dataclass(frozen=True)
class Process:
    """Where a started process stands: its rank among ``world`` and its device."""

    rank: int
    world: int
    device: torch.device


@dataclass(frozen=True)
class _Job:
    """What every started process runs, pickled into the run's private folder."""

    worker: Callable
    world: int
    device_type: str
    threads: int
    args: tuple
    parent: int


def run(
    worker: Callable,
    devices: int,
    device: torch.device,
    threads: int,
    arrays: dict[str, torch.Tensor],
    *args,
) -> dict:
    """Run ``worker(process, arrays, *args)`` in ``devices`` processes and return rank 0's result.

    ``arrays`` reach every process memory-mapped; ``worker`` (a function of
    scgan's, with ``args`` it can pickle) returns a dict of tensors (or
    ``None``) and rank 0's is loaded back here. Each process runs ``threads``
    CPU threads.
    """
    remove_leftovers(Path(tempfile.gettempdir()), r"scgan-(?P<pid>\d+)-.*")  # killed runs'
    with tempfile.TemporaryDirectory(prefix=f"scgan-{os.getpid()}-") as name:
        folder = Path(name)
        torch.save(arrays, folder / "arrays.pt")
        job = _Job(worker, devices, device.type, threads, args, os.getpid())
        with (folder / _JOB_FILE).open("wb") as file:
            pickle.dump(job, file)
        processes = [_start(folder, rank) for rank in range(devices)]
        try:
            ending = _wait(processes)
        finally:
            _stop(processes)
        if ending is not None:
            raise DistributedError(_first_failure(folder, devices, ending)) from None
        return torch.load(folder / "result.pt", map_location="cpu", weights_only=True)


def _start(folder: Path, rank: int) -> subprocess.Popen:
    """Process ``rank``, finding modules where the caller does (this very scgan among them)."""
    path = os.pathsep.join(p for p in sys.path if p)
    command = [sys.executable, "-m", "scgan._worker", str(folder), str(rank)]
    return subprocess.Popen(command, env={**os.environ, "PYTHONPATH": path})


def _wait(processes: list[subprocess.Popen]) -> str | None:
    """``None`` once every process has finished; else how the first to fail ended."""
    while True:
        codes = [process.poll() for process in processes]
        for rank, code in enumerate(codes):
            if code not in (None, 0):
                return f"process {rank} ended with exit status {code}"
        if all(code == 0 for code in codes):
            return None
        time.sleep(_POLL_SECONDS)


def _stop(processes: list[subprocess.Popen]) -> None:
    """Stop the processes still running (SIGTERM, then SIGKILL after 10 s)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def child(folder: Path, rank: int) -> int:
    """A started process: run its share of the job; the exit status (a failure leaves a note)."""
    with (folder / _JOB_FILE).open("rb") as file:
        job: _Job = pickle.load(file)  # written by this run's caller into its private folder
    _end_with(job.parent)
    try:
        _entry(rank, job.worker, job.world, job.device_type, job.threads, folder, job.args)
    except BaseException:  # its note reaches the caller, which raises it
        return 1
    return 0


def _end_with(parent: int) -> None:
    """End this process when the caller's ends (a SIGKILL gives the caller no time to stop it).

    On Linux the kernel sends the SIGKILL; elsewhere a thread looks every second.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux
        threading.Thread(target=_end_when_orphaned, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it ended before the above
        os._exit(1)


def _end_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _entry(rank, worker, world, device_type, threads, folder, args) -> None:
    """One started process: join the group, run ``worker``, leave a note if it fails."""
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


def _first_failure(folder: Path, world: int, ending: str) -> str:
    """One line on the process that failed first (by its note), or on how one ended."""
    notes = []
    for rank in range(world):
        path = folder / _ERROR_FILE.format(rank=rank)
        if path.is_file():
            notes.append((path.stat().st_mtime, rank, json.loads(path.read_text())))
    if not notes:
        return f"a training process ended without finishing ({ending}); the others were stopped"
    _, rank, note = min(notes)
    logger.debug("process %d's traceback:\n%s", rank, note["traceback"])
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
