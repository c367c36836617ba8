"""GAN-based dropout imputation for single-cell RNA-seq, as a scanpy plugin."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scgan")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from . import datasets, models, pl, pp, tl
from ._imputer import Imputer
from ._logging import PACKAGE_LOGGER  # noqa: F401  (sends scgan's log lines where scanpy's go)

__all__ = ["Imputer", "__version__", "datasets", "models", "pl", "pp", "tl"]
