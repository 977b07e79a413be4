"""What the tests that start child processes share."""

from __future__ import annotations

import signal
from pathlib import Path


def interruptible() -> None:
    """``preexec_fn`` of a child that a test presses Ctrl-C in: SIGINT as a terminal
    delivers it. A shell starts a background job with SIGINT ignored, a child inherits
    that, and Python then keeps ignoring it, so the test would wait in vain."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
