"""Wall time and peak memory of a block of code."""

import ctypes
import ctypes.util
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME else None


@dataclass
class Measurement:
    seconds: float = float("nan")
    peak_memory_mb: float = float("nan")
    """Peak memory above the level at the start, in MiB."""


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:  # no /proc (not Linux): the peak is reported as 0
        return 0


def _release_free_heap() -> None:
    """Hand freed heap back to the OS (glibc), so that later growth shows in resident memory."""
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


@contextmanager
def measure(interval: float = 0.005):
    """Time a block and record its peak resident memory above the start.

    Resident memory is sampled every ``interval`` seconds, so numpy, scipy and
    torch (CPU) allocations all count; freed heap is handed back to the OS
    first, so that reuse of memory freed earlier does not hide growth.
    (``tracemalloc`` was tried and slowed Python-heavy imputers threefold.)
    """
    result = Measurement()
    _release_free_heap()
    start_rss = _rss_bytes()
    peak_rss = [start_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            peak_rss[0] = max(peak_rss[0], _rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        result.peak_memory_mb = (max(peak_rss[0], _rss_bytes()) - start_rss) / 2**20
