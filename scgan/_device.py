"""Device, precision and thread choice: seeding, cores, devices per run, threads per process."""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch

logger = logging.getLogger(__name__)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else the CPU; other values are checked."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        msg = "device='cuda' was asked for but torch sees no CUDA GPU; pass device='cpu' or 'auto'"
        raise ValueError(msg)
    return device


@contextmanager
def seeded(device: torch.device, seed: int) -> Iterator[None]:
    """Seed torch's RNG for the block, leaving the caller's RNG state (CPU and ``device``) alone."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


class SeededStream:
    """One random stream, seeded once and resumed block after block.

    Between blocks the caller's random state is its own: a generator that
    yields after each block leaves nothing seeded while it waits.
    """

    def __init__(self, device: torch.device, seed: int):
        self.device, self.seed = device, seed
        self.cuda = device.type == "cuda"
        self.states = None

    @contextmanager
    def resume(self) -> Iterator[None]:
        with torch.random.fork_rng(devices=[self.device] if self.cuda else []):
            if self.states is None:
                torch.manual_seed(self.seed)
            else:
                torch.set_rng_state(self.states[0])
                if self.cuda:
                    torch.cuda.set_rng_state(self.states[1], self.device)
            try:
                yield
            finally:
                cuda = torch.cuda.get_rng_state(self.device) if self.cuda else None
                self.states = (torch.get_rng_state(), cuda)


def autocast(device: torch.device, enabled: bool = True):
    """Mixed precision (bfloat16) on CUDA; full precision on the CPU."""
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def available_cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_threads(n_jobs: int | None = None) -> int:
    """Torch CPU threads for ``n_jobs``, never more than the cores available.

    ``None`` follows ``scanpy.settings.n_jobs`` (1 unless the user sets it);
    ``-1`` means all available cores, ``-2`` all but one, and so on.
    """
    if n_jobs is None:
        import scanpy

        n_jobs = scanpy.settings.n_jobs
    cores = available_cores()
    if n_jobs == 0 or n_jobs < -cores:
        msg = f"n_jobs={n_jobs}: must be a positive number of threads or -1 (all {cores} cores)"
        raise ValueError(msg)
    return min(n_jobs, cores) if n_jobs > 0 else cores + 1 + n_jobs


@contextmanager
def cpu_threads(n_jobs: int | None = None) -> Iterator[int]:
    """Run the block with :func:`resolve_threads` torch threads; the caller's count is restored.

    Torch's own default, one thread per core, collapses beside other busy
    processes: a pbmc68k imputation that takes ~40 s idle did not finish in
    25 minutes.
    """
    threads, before = resolve_threads(n_jobs), torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)


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


def process_threads(threads: int, devices: int) -> int:
    """CPU threads per process when ``threads`` are shared by ``devices`` processes."""
    return max(1, threads // devices)
