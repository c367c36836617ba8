"""The documentation: its code examples run, and the API reference lists every public name.

Each page's ``python`` code blocks run in order in one namespace, in a fresh
folder, as a reader would run them; so do the ``scgan ...`` command lines of
its shell blocks (in this process, through the command's ``main``). Training
uses small settings (the examples check that the calls are right, not how
good the imputation is), and files that an example reads as "your data" are
made beforehand.
"""

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY

import scgan
import scgan._cli
import scgan._imputer

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
EXAMPLE_SETTINGS = TINY | {"began": {"epochs": 1, "n_repeats": 1, "max_steps_per_epoch": 3}}
CODE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
SHELL = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)


def code_blocks(page: Path) -> list[str]:
    return CODE.findall(page.read_text())


def commands(page: Path) -> list[str]:
    """The ``scgan`` command lines of the page's shell blocks, comments removed."""
    lines = [line for block in SHELL.findall(page.read_text()) for line in block.splitlines()]
    return [line.split("  #")[0] for line in lines if line.startswith("scgan ")]


def write_scigans_files(folder: Path) -> None:
    """A small genes × cells table and a label file, in scIGANs' format."""
    adata = scgan.datasets.simulate(60, 40, n_cell_types=2, random_state=0)
    adata.to_df().T.to_csv(folder / "ercc.txt", sep="\t")
    pd.Series(adata.obs["cell_type"].astype(str)).to_csv(
        folder / "ercc.label.txt", sep="\t", header=False, index=False
    )


def write_h5ad(folder: Path) -> None:
    scgan.datasets.simulate(200, 80, n_cell_types=2, random_state=0).write_h5ad(
        folder / "data.h5ad"
    )


def write_pbmc_files(folder: Path) -> None:
    """counts.h5ad (500 pbmc68k cells) and new_cells.h5ad (the other 200), and scIGANs' files."""
    cells = scgan.datasets.pbmc68k()
    cells[:500].write_h5ad(folder / "counts.h5ad")
    cells[500:].write_h5ad(folder / "new_cells.h5ad")
    write_scigans_files(folder)


INPUT_FILES = {
    "method.md": write_scigans_files,
    "devices.md": write_h5ad,
    "cli.md": write_pbmc_files,
}
"""Page → what makes the files its examples read."""


@pytest.fixture
def small_training(monkeypatch):
    """Backends built by scgan.Imputer get the small settings where a call names none."""
    make_backend = scgan._imputer.make_backend

    def small(method, *, config=None, **settings):
        defaults = EXAMPLE_SETTINGS[method] if config is None else {}
        return make_backend(method, config=config, **(defaults | settings))

    monkeypatch.setattr(scgan._imputer, "make_backend", small)


def enter_reader_folder(page: Path, folder: Path, monkeypatch) -> None:
    """Work in ``folder``, holding the files that ``page``'s examples read."""
    monkeypatch.chdir(folder)
    if page.name in INPUT_FILES:
        INPUT_FILES[page.name](folder)


SLOW_PAGES = {
    "devices.md",
    "method.md",
    "guide.md",
    "index.md",
}  # start processes or train several models


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW_PAGES else p
        for p in PAGES
        if code_blocks(p)
    ],
    ids=lambda p: p.name,
)
def test_code_examples_run(page, tmp_path, monkeypatch, small_training):
    enter_reader_folder(page, tmp_path, monkeypatch)
    namespace = {"__name__": "__main__"}
    for number, block in enumerate(code_blocks(page), start=1):
        code = compile(block, f"{page.name}, example {number}", "exec")
        exec(code, namespace)


@pytest.mark.slow  # each command starts Python
@pytest.mark.parametrize("page", [p for p in PAGES if commands(p)], ids=lambda p: p.name)
def test_command_examples_run(page, tmp_path, monkeypatch, small_training):
    enter_reader_folder(page, tmp_path, monkeypatch)
    for line in commands(page):
        assert scgan._cli.main(shlex.split(line)[1:]) == 0, line


def test_api_reference_lists_every_public_name():
    reference = (DOCS / "api.md").read_text()
    modules = {"pp": scgan.pp, "tl": scgan.tl, "pl": scgan.pl, "datasets": scgan.datasets}
    names = [f"{prefix}.{name}" for prefix, module in modules.items() for name in module.__all__]
    names += [f"models.{name}" for name in scgan.models.__all__] + ["Imputer"]
    listed = set(re.findall(r"^\s*(?:\.\. data:: )?([\w.]+)$", reference, re.MULTILINE))
    assert sorted(set(names) - listed) == []


def test_no_page_or_docstring_points_outside_the_repository():
    outside = re.compile(r"\.\./shared|\bSPEC\b|STYLE\.md|seeds/")
    notebooks = sorted((ROOT / "tutorials").glob("*.ipynb"))
    texts = {page: page.read_text() for page in [*PAGES, ROOT / "CHANGELOG.md", *notebooks]}
    texts |= {path: path.read_text() for path in (ROOT / "scgan").rglob("*.py")}
    assert [str(path) for path, text in texts.items() if outside.search(text)] == []


def test_the_ecosystem_entry_agrees_with_the_package():
    import yaml  # with the doc extra (myst-parser)

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    entry = yaml.safe_load((DOCS / "ecosystem" / "meta.yaml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = ["name", "description", "project_home", "documentation_home", "install"]
    required += ["license", "tags", "version", "authors"]
    assert all(entry.get(key) for key in required)
    assert (entry["name"], entry["install"]["pypi"]) == (project["name"], project["name"])
    assert (entry["description"], entry["version"]) == (project["description"], project["version"])
    assert entry["license"] == project["license"]
    urls = project["urls"]
    assert (entry["project_home"], entry["documentation_home"]) == (
        urls["Source"],
        urls["Documentation"],
    )
    tutorial = entry["tutorials_home"].removeprefix(urls["Documentation"] + "/en/latest/")
    assert (DOCS / tutorial.replace(".html", ".ipynb")).exists()
    assert entry["test_command"] in (ROOT / "README.md").read_text()
