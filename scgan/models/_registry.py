"""The backends of ``impute_dropouts``, by name: the one list every other list comes from."""

from dataclasses import fields

from ._base import Backend
from .began import BEGANImputer
from .scigans import ScIGANsImputer
from .tabular import GAINBackend, MisGANBackend

BACKENDS: dict[str, type[Backend]] = {
    backend.name: backend for backend in (BEGANImputer, ScIGANsImputer, GAINBackend, MisGANBackend)
}
"""Method name → backend class."""

DEFAULT_METHOD = "began"


def methods_doc(indent: int = 4) -> str:
    """The registry as a bullet list, its later lines indented by ``indent`` spaces."""
    items = [f"- ``{name!r}``: {backend.summary}." for name, backend in BACKENDS.items()]
    return ("\n" + " " * indent).join(items)


def make_backend(
    method: str,
    *,
    config=None,
    device: str,
    random_state: int,
    progress=None,
    devices: int = 1,
    **overrides,
) -> Backend:
    """An unfitted backend for ``method``, its config built from defaults, ``config`` and ``overrides``."""
    if method not in BACKENDS:
        msg = f"unknown method {method!r}; choose one of {sorted(BACKENDS)}"
        raise ValueError(msg)
    backend = BACKENDS[method]
    config_class = backend.config_class
    known = {f.name for f in fields(config_class)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        msg = f"method {method!r} has no setting {unknown}; its settings are {sorted(known)}"
        raise TypeError(msg)
    base = config if config is not None else config_class()
    if not isinstance(base, config_class):
        msg = f"config for method {method!r} must be a {config_class.__name__}"
        raise TypeError(msg)
    settings = {f.name: getattr(base, f.name) for f in fields(config_class)} | overrides
    return backend(
        config_class(**settings),
        device=device,
        random_state=random_state,
        progress=progress,
        devices=devices,
    )
