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
