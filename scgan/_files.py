"""Writing files so that a crash never leaves a half-written one."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged(target: Path, *, directory: bool = False) -> Iterator[Path]:
    """A temporary file (or folder) beside ``target``, renamed onto it when the block succeeds.

    On an error the temporary path is removed and ``target`` is untouched.
    The result gets the usual permissions (``0o666`` / ``0o777`` less the umask).
    """
    prefix, parent = f".{target.name}.", target.parent
    if directory:
        temporary = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    else:
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=target.suffix, dir=parent)
        os.close(handle)
        temporary = Path(name)
    try:
        yield temporary
        temporary.chmod((0o777 if directory else 0o666) & ~_umask())
        if directory and target.exists():
            shutil.rmtree(target)
        temporary.replace(target)
    finally:
        if directory:
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
