"""Device and precision choice."""

import logging
from contextlib import nullcontext

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


def autocast(device: torch.device, enabled: bool = True):
    """Mixed precision (bfloat16) on CUDA; full precision on the CPU."""
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()
