"""Device and precision choice."""

import logging
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


def autocast(device: torch.device, enabled: bool = True):
    """Mixed precision (bfloat16) on CUDA; full precision on the CPU."""
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()
