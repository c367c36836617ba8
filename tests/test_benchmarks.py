"""The product benchmarks use scgan's public API only, and no script imports another."""

import ast
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).parents[1] / "benchmarks").glob("*.py"))


def _private(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "scgan" and any(
        p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in parts
    )


def _attribute_chain(node: ast.Attribute) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def offences(source: str, siblings: set[str]) -> list[str]:
    """Private scgan names and sibling scripts that ``source`` reaches for."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute):
            names = [_attribute_chain(node)]
        else:
            continue
        found += [n for n in names if _private(n) or n.split(".")[0] in siblings]
    return found


def test_there_are_benchmarks_to_check():
    assert {"single_cell.py", "tabular.py", "speed.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_benchmark_uses_the_public_api_only(script):
    siblings = {p.stem for p in SCRIPTS} - {script.stem}
    assert offences(script.read_text(), siblings) == []


@pytest.mark.parametrize(
    "source",
    [
        "from scgan._data import dense",
        "from scgan.tl._score_imputation import _compare",
        "import scgan._device",
        "import scgan\nscgan.models._state.load_state",
        "from single_cell import QUICK",
    ],
)
def test_the_check_sees_private_names_and_sibling_scripts(source):
    assert offences(source, {"single_cell"})
