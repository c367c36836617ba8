"""The version of the installed distribution."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scgan")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
