"""The conditional BEGAN imputer (the seed's improved scIGANs)."""

from ._config import BEGANConfig
from ._model import BEGANImputer
from ._module import Discriminator, Generator

__all__ = ["BEGANConfig", "BEGANImputer", "Discriminator", "Generator"]
