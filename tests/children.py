"""What the tests that start child processes share."""

from __future__ import annotations

import signal


def interruptible() -> None:
    """``preexec_fn`` of a child that a test presses Ctrl-C in: SIGINT as a terminal
    delivers it. A shell starts a background job with SIGINT ignored, a child inherits
    that, and Python then keeps ignoring it, so the test would wait in vain."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
