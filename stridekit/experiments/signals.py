"""SIGTERM during a sweep is a Ctrl-C: the running trials are cancelled and go back to
pending, the sweep says so, and the process ends (a scheduler's ``kill``, ``docker
stop`` and systemd send SIGTERM, and would otherwise end the driver with no word, its
worker processes still training).

>>> with sigterm_interrupts():
...     try:
...         signal.raise_signal(signal.SIGTERM)
...     except Terminated as stop:
...         print(type(stop).__mro__[1].__name__, "-", stop)
KeyboardInterrupt - terminated (SIGTERM)
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled as Ctrl-C is, and told apart by its type (exit 143)."""


_received = threading.Event()  # a SIGTERM arrived within `sigterm_interrupts`


def _terminate(signum: int, frame: FrameType | None) -> None:
    _received.set()
    raise Terminated("terminated (SIGTERM)")


def as_received(stop: KeyboardInterrupt) -> KeyboardInterrupt:
    """The interruption as it arrived: `Terminated` where a SIGTERM raised it, even when a
    library caught it and raised a plain KeyboardInterrupt instead (Ray's ``wait`` does).

    >>> type(as_received(KeyboardInterrupt())).__name__
    'KeyboardInterrupt'
    """
    if _received.is_set() and not isinstance(stop, Terminated):
        terminated = Terminated("terminated (SIGTERM)")
        terminated.__traceback__ = stop.__traceback__
        return terminated
    return stop


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` in the main thread; the previous
    handler is restored after. Elsewhere than in the main thread, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _received.clear()
