"""The conditional BEGAN imputer (the seed's improved scIGANs).

The rest of scgan uses only the names in ``__all__``; the modules are this
backend's own (``tests/test_package_structure.py`` checks it).
"""

from ._config import BEGANConfig
from ._dropout import fit_dropout_curve
from ._model import BEGANImputer
from ._module import Discriminator, Generator

__all__ = ["BEGANConfig", "BEGANImputer", "Discriminator", "Generator", "fit_dropout_curve"]
