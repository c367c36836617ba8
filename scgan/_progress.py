"""Progress bars that show where someone watches: a terminal or a Jupyter kernel."""

import sys

from tqdm import tqdm


def progress_bar(total: int, *, enabled: bool | None, desc: str, unit: str = "step") -> tqdm:
    """A tqdm bar; ``enabled=None`` shows it on a terminal and in a Jupyter notebook."""
    show = watched() if enabled is None else enabled
    return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=not show)


def watched() -> bool:
    """Whether someone sees standard error as it is written: a terminal or a Jupyter kernel."""
    if sys.stderr is not None and sys.stderr.isatty():
        return True
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")
