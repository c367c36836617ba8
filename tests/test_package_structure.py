"""The public API follows scanpy's conventions (after scanpy's tests/test_package_structure.py)."""

import ast
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

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


# --- layers: what may import what -------------------------------------------------------------

PACKAGE = Path(scgan.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """What ``path`` imports from scgan, as absolute names: ``from .x import a`` gives ``…x.a``."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            origin = ".".join([*base, *([node.module] if node.module else [])])
            found |= {f"{origin}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "scgan"}


def _absolute_imports(path: Path) -> list[str]:
    """The ``import scgan…`` and ``from scgan… import`` lines of ``path``."""
    return [
        ast.unparse(node)
        for node in ast.walk(ast.parse(path.read_text()))
        if (
            isinstance(node, ast.Import)
            and any(a.name.split(".")[0] == "scgan" for a in node.names)
        )
        or (isinstance(node, ast.ImportFrom) and not node.level and node.module.startswith("scgan"))
    ]


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def _files(*places: str) -> list[Path]:
    paths = [PACKAGE / place for place in places]
    return [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.py")))]


BACKENDS = sorted(p.name for p in (PACKAGE / "models").iterdir() if (p / "__init__.py").is_file())
MODEL_FREE = ["_anndata", "_train", "_distributed", "_progress", "_data", "_device"]
ABOVE_MODELS = ("_anndata", "_imputer", "_cli", "__main__", "pp", "tl", "pl", "datasets")


def test_the_anndata_layer_the_loop_and_the_process_tools_load_no_model():
    modules = ", ".join(f"scgan.{name}" for name in MODEL_FREE)
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if 'scgan.models' in m))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_training_process_loads_its_backend_and_torch_only():
    """What a process started for several devices imports: no scikit-learn, scanpy or other backend."""
    heavy = ("sklearn", "scanpy", "anndata", "pandas", "scipy.optimize", "torch._dynamo")
    heavy += tuple(f"scgan.models.{b}" for b in BACKENDS if b != "began")
    code = (
        "import sys, scgan._worker, scgan.models.began._shards; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("path", _files("models"), ids=lambda p: _module_name(p))
def test_a_backend_imports_no_other_backend_and_nothing_above_models(path):
    mine = _module_name(path).split(".")[2:3]
    for name in _imports(path):
        parts = name.split(".")
        if parts[:2] == ["scgan", "models"] and len(parts) > 2 and parts[2] in BACKENDS:
            assert mine in ([], ["_registry"], [parts[2]]), f"{_module_name(path)} imports {name}"
        assert parts[1] not in ABOVE_MODELS, f"{_module_name(path)} imports {name}"


@pytest.mark.parametrize("path", _files("."), ids=lambda p: _module_name(p))
def test_outside_a_backend_only_the_names_in_its_all_are_used(path):
    for name in _imports(path):
        parts = name.split(".")
        if parts[:2] != ["scgan", "models"] or len(parts) < 4 or parts[2] not in BACKENDS:
            continue
        if _module_name(path).split(".")[:3] == parts[:3]:
            continue  # the backend's own files
        exported = importlib.import_module(".".join(parts[:3])).__all__
        assert parts[3] in exported, f"{_module_name(path)} imports {name}"


TOP = ["__init__.py", "__main__.py", "_cli.py"]  # the command line uses the public API


@pytest.mark.parametrize("path", _files("."), ids=lambda p: _module_name(p))
def test_no_module_below_the_command_line_imports_the_package(path):
    if path.name in TOP and path.parent == PACKAGE:
        return
    assert not _absolute_imports(path)
    from_package = [n for n in _imports(path) if n.count(".") == 1 and not _is_module(n)]
    assert not from_package  # e.g. ``from .. import __version__``


def _documented(doc: str) -> list[str]:
    """The parameter names of a dedented numpy docstring's Parameters section, in order."""
    section = doc.split("Parameters\n----------\n", 1)[1]
    section = re.split(r"\n\n\w[\w ]*\n-+\n", section, maxsplit=1)[0]  # up to the next section
    return [
        line.lstrip("*") for line in section.splitlines() if line[:1].isalpha() or line[:1] == "*"
    ]


@pytest.mark.parametrize(
    "func",
    [scgan.pp.impute_dropouts, scgan.Imputer, scgan.Imputer.fit_impute, scgan.Imputer.impute],
    ids=lambda f: f.__qualname__,
)
def test_the_shared_parameter_texts_document_every_parameter_in_order(func):
    signature = [p for p in inspect.signature(func).parameters if p != "self"]
    assert _documented(inspect.getdoc(func)) == signature
    assert "{" not in inspect.getdoc(func)  # every field filled
