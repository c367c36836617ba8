"""Data sets: bundled real counts and a simulator with ground truth."""

from ._pbmc68k import pbmc68k
from ._read_scigans import read_scigans
from ._simulate import simulate

__all__ = ["pbmc68k", "read_scigans", "simulate"]
