"""Backends of ``impute_dropouts``, chosen by name."""

from dataclasses import fields

from .began import BEGANConfig, BEGANImputer
from .scigans import ScIGANsConfig, ScIGANsImputer
from .tabular import ExpressionImputer, GAINConfig, MisGANConfig

BACKENDS: dict[str, tuple[type, type]] = {
    "began": (BEGANImputer, BEGANConfig),
    "scigans": (ScIGANsImputer, ScIGANsConfig),
    "gain": (ExpressionImputer, GAINConfig),
    "misgan": (ExpressionImputer, MisGANConfig),
}
"""Method name → (imputer class, config class)."""


def make_backend(
    method: str, *, config=None, device: str, random_state: int, progress=None, **overrides
):
    """An unfitted imputer for ``method``, its config built from defaults, ``config`` and ``overrides``."""
    if method not in BACKENDS:
        msg = f"unknown method {method!r}; choose one of {sorted(BACKENDS)}"
        raise ValueError(msg)
    imputer_class, config_class = BACKENDS[method]
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
    config = config_class(**settings)
    return imputer_class(config, device=device, random_state=random_state, progress=progress)
