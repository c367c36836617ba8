"""SIGTERM (a scheduler's time limit, ``kill``, ``docker stop``) ends scgan only after clean-up.

By default SIGTERM ends Python at once, skipping every ``finally``: a file
being written would stay half-written. While scgan works, SIGTERM instead
raises :class:`Terminated` in the main thread, so the clean-up code runs;
then one line is printed and the signal is sent again, so the process ends
as the sender meant.
"""

import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Terminated(SystemExit):
    """SIGTERM arrived while scgan was working."""


@contextmanager
def end_cleanly_on_sigterm(message: str) -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` inside the block; after clean-up, print ``message`` and end.

    Does nothing outside the main thread, inside an outer such block, or where
    the program has set its own SIGTERM handler.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except Terminated:
        print(message, file=sys.stderr, flush=True)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise  # where the signal is blocked
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def ends_cleanly_on_sigterm(message: str) -> Callable[[Callable], Callable]:
    """Decorate a function to run inside :func:`end_cleanly_on_sigterm` (its frame stays in scgan)."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            with end_cleanly_on_sigterm(message):
                return function(*args, **kwargs)

        return wrapped

    return decorate


def _raise_terminated(signum, _frame) -> None:
    raise Terminated(128 + signum)
