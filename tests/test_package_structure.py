"""The public API follows scanpy's conventions (after scanpy's tests/test_package_structure.py)."""

import inspect

import pytest

import scgan

NAMESPACES = [scgan.pp, scgan.tl, scgan.pl, scgan.datasets]
PUBLIC = [
    pytest.param(getattr(ns, name), id=f"{ns.__name__}.{name}")
    for ns in NAMESPACES
    for name in ns.__all__
    if inspect.isfunction(getattr(ns, name))
]


def test_namespaces_export_what_they_list():
    for ns in NAMESPACES:
        for name in ns.__all__:
            assert hasattr(ns, name), f"{ns.__name__}.{name}"


@pytest.mark.parametrize("func", PUBLIC)
def test_public_functions_are_documented(func):
    assert func.__doc__ and len(func.__doc__.strip()) > 40


TAKE_ADATA = [
    param
    for param in PUBLIC
    if next(iter(inspect.signature(param.values[0]).parameters), None) == "adata"
]


def test_the_api_is_mostly_adata_first():
    assert len(TAKE_ADATA) >= 8  # pp, tl and pl entry points; guards the filter below


@pytest.mark.parametrize("func", TAKE_ADATA)
def test_adata_first_then_keyword_only(func):
    params = list(inspect.signature(func).parameters.values())
    keyword = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD)
    positional = [p.name for p in params[1:] if p.kind not in keyword]
    # methods of the benchmark are the one documented exception (what to run, not how)
    assert positional in ([], ["methods"]), f"{func.__name__}: {positional}"


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    assert scgan.__version__ == version("scgan") != "0.0.0"
