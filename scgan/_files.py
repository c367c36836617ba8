"""Writing files so that a crash never leaves a half-written one.

A file (or folder) is written beside its target under a name that says what
it is, ``<target>.scgan-partial-<pid>@<host><suffix>``, and renamed onto the
target when complete. An error or a SIGTERM removes it; a SIGKILL cannot, so
the next write to the same target removes what a dead run on this machine
left, and names in one line what a run on another machine may still own.
"""

import logging
import os
import re
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

PARTIAL = "scgan-partial"


@contextmanager
def staged(target: Path, *, directory: bool = False) -> Iterator[Path]:
    """A partial file (or folder) beside ``target``, renamed onto it when the block succeeds.

    On an error the partial path is removed and ``target`` is untouched.
    The result gets the usual permissions (``0o666`` / ``0o777`` less the umask).
    """
    remove_dead_partials(target)
    temporary = target.with_name(f"{target.name}.{PARTIAL}-{os.getpid()}@{_host()}{target.suffix}")
    if directory:
        temporary.mkdir()
    else:
        temporary.touch(exist_ok=False)
    try:
        yield temporary
        temporary.chmod((0o777 if directory else 0o666) & ~_umask())
        if directory and target.exists():
            shutil.rmtree(target)
        temporary.replace(target)
    finally:
        _remove(temporary)


def remove_dead_partials(target: Path) -> None:
    """Remove the partial files of ``target`` whose run on this machine has ended."""
    name, suffix = re.escape(target.name), re.escape(target.suffix)
    remove_leftovers(target.parent, rf"{name}\.{PARTIAL}-(?P<pid>\d+)@(?P<host>.+){suffix}")


def remove_leftovers(folder: Path, pattern: str) -> None:
    """Remove the entries of ``folder`` left by runs that ended without cleaning up.

    ``pattern`` matches an entry's whole name, with the run's process number
    as group ``pid`` and, where the folder may be shared between machines,
    its host as group ``host``; another host's entries are named, not removed.
    """
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        match = re.fullmatch(pattern, path.name)
        if match is None:
            continue
        host = match.groupdict().get("host") or _host()
        if host != _host():
            logger.warning("%s may be a run's on %s; remove it once that run has ended", path, host)
        elif not is_running(int(match["pid"])):
            _remove(path)
            if not path.exists():  # another user's stays
                logger.warning("removed %s, left by a run that was killed", path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def is_running(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (this process's own counts as ended)."""
    if pid == os.getpid():  # a dead run's that had this process number
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _host() -> str:
    return socket.gethostname().split(".")[0] or "localhost"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
