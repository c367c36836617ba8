"""GAN-based dropout imputation for single-cell RNA-seq, as a scanpy plugin.

Submodules are imported on first use (PEP 562), so that the processes
scgan starts for several devices do not import scanpy.
"""

import importlib
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:
    from . import datasets, models, pl, pp, tl
    from ._imputer import Imputer

__all__ = ["Imputer", "__version__", "datasets", "models", "pl", "pp", "tl"]
_SUBMODULES = {"datasets", "models", "pl", "pp", "tl"}


def __getattr__(name: str):
    if name not in _SUBMODULES and name != "Imputer":
        msg = f"module 'scgan' has no attribute {name!r}"
        raise AttributeError(msg)
    if name == "Imputer":
        return importlib.import_module("._imputer", __name__).Imputer
    return importlib.import_module(f".{name}", __name__)


def __dir__() -> list[str]:
    return sorted(__all__)
