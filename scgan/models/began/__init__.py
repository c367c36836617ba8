"""The conditional BEGAN imputer (the seed's improved scIGANs)."""

from ._model import BEGANConfig, BEGANImputer
from ._module import Discriminator, Generator

__all__ = ["BEGANConfig", "BEGANImputer", "Discriminator", "Generator"]
