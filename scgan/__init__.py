"""GAN-based dropout imputation for single-cell RNA-seq, as a scanpy plugin."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scgan")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from . import datasets, models, pl, pp, tl
from ._imputer import Imputer

__all__ = ["Imputer", "__version__", "datasets", "models", "pl", "pp", "tl"]
