"""scIGANs, reproduced as a backend.

The rest of scgan uses only the names in ``__all__``; the modules are this
backend's own.
"""

from ._model import ScIGANsConfig, ScIGANsImputer

__all__ = ["ScIGANsConfig", "ScIGANsImputer"]
