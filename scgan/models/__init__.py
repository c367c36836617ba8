"""Imputation backends (pure torch modules and their fit/impute logic) and their contract.

Names are imported on first use (PEP 562): the training processes that
scgan starts for several devices import one backend's modules only, not
the others nor scikit-learn (which the tabular backends build on).
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._base import Backend, Imputation
    from ._registry import BACKENDS, DEFAULT_METHOD, make_backend
    from .began import BEGANConfig, BEGANImputer
    from .scigans import ScIGANsConfig, ScIGANsImputer
    from .tabular import (
        GAINBackend,
        GAINConfig,
        GAINImputer,
        MisGANBackend,
        MisGANConfig,
        MisGANImputer,
    )

_MODULES = {  # where each name lives
    "._base": "Backend Imputation",
    "._registry": "BACKENDS DEFAULT_METHOD make_backend",
    ".began": "BEGANConfig BEGANImputer",
    ".scigans": "ScIGANsConfig ScIGANsImputer",
    ".tabular": "GAINBackend GAINConfig GAINImputer MisGANBackend MisGANConfig MisGANImputer",
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names.split()}
__all__ = [
    "BACKENDS",
    "DEFAULT_METHOD",
    "BEGANConfig",
    "BEGANImputer",
    "Backend",
    "GAINBackend",
    "GAINConfig",
    "GAINImputer",
    "Imputation",
    "MisGANBackend",
    "MisGANConfig",
    "MisGANImputer",
    "ScIGANsConfig",
    "ScIGANsImputer",
    "make_backend",
]


def __getattr__(name: str):
    if name not in _WHERE:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(_WHERE[name], __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
