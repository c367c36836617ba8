"""scgan's log lines, written where scanpy writes its own and silenced with it.

Every module logs to a child of the ``scgan`` logger. Its one handler writes
plain lines to standard error (which a notebook shows), or to the file named
by ``sc.settings.logfile``, at scanpy's default verbosity, a few per
call: what is trained and what was added to the AnnData. Setting
``sc.settings.verbosity = 0`` (errors only) silences them.
"""

import logging
import sys

import scanpy as sc


class _ScanpyHandler(logging.StreamHandler):
    """Writes to scanpy's current log file; drops lines while scanpy shows errors only."""

    @property
    def stream(self):
        # the file named by sc.settings.logfile = "path"; else today's standard error (scanpy
        # keeps the one it saw at import, which a notebook kernel or a test may have replaced)
        return sc.settings.logfile if sc.settings.logpath is not None else sys.stderr

    @stream.setter
    def stream(self, _):
        pass

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or int(sc.settings.verbosity) > 0:
            super().emit(record)


def _package_logger() -> logging.Logger:
    logger = logging.getLogger("scgan")
    if not any(isinstance(h, _ScanpyHandler) for h in logger.handlers):
        handler = _ScanpyHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # as scanpy's own logger: no second copy through the root logger
    return logger


PACKAGE_LOGGER = _package_logger()
