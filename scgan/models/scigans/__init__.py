"""scIGANs, reproduced as a backend (SPEC §3)."""

from ._model import ScIGANsConfig, ScIGANsImputer

__all__ = ["ScIGANsConfig", "ScIGANsImputer"]
