"""scIGANs, reproduced as a backend."""

from ._model import ScIGANsConfig, ScIGANsImputer

__all__ = ["ScIGANsConfig", "ScIGANsImputer"]
