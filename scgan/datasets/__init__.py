"""Data sets: bundled real counts and a simulator with ground truth."""

from ._pbmc3k import pbmc3k
from ._pbmc68k import pbmc68k
from ._read_scigans import read_scigans
from ._simulate import simulate

__all__ = ["pbmc3k", "pbmc68k", "read_scigans", "simulate"]
