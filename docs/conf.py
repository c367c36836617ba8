"""Sphinx configuration of scgan's documentation (cookiecutter-scverse layout, myst-nb)."""

from datetime import date
from importlib.metadata import metadata

info = metadata("scgan")
urls = dict(entry.split(", ", 1) for entry in info.get_all("Project-URL"))
project = info["Name"]
author = "The scgan developers"
copyright = f"{date.today().year}, {author}"
version = release = info["Version"]

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "sphinxarg.ext",
]

source_suffix = {
    ".rst": "restructuredtext",
    ".md": "myst-nb",
    ".ipynb": "myst-nb",
}  # .rst: the API stubs
exclude_patterns = ["_build", "results", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

# MyST: $…$ math, ::: fences, definition lists; links to headings within the site
myst_enable_extensions = ["amsmath", "colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3
# the tutorials are shown with the outputs stored in them, never re-run at build time
nb_execution_mode = "off"

# API reference from the numpydoc docstrings; types come from the annotations
autosummary_generate = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "inherited-members": False}
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = True
# scgan's "Returns" sections are prose (the type is in the annotation): show them as written
napoleon_custom_sections = [("Returns", "prose")]
napoleon_use_param = True

html_theme = "sphinx_book_theme"
html_title = "scgan"
html_theme_options = {
    "repository_url": urls["Source"],
    "use_repository_button": True,
    "path_to_docs": "docs/",
    "navigation_with_keys": False,
}
