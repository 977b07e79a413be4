"""Which Ray cluster a sweep runs on, decided before Ray is asked: Ray itself retries a
dead head for minutes ("Failed to connect to GCS at address ...").

- ``--address HOST:PORT``: that cluster, once something answers at its port.
- ``--address auto``: the cluster ``ray start`` last made on this machine, named by Ray's
  pointer file (``/tmp/ray/ray_current_cluster``), once it answers; with no pointer, Ray's
  own search.
- no address: ``RAY_ADDRESS`` if set (as if given); else the pointer's cluster if it
  answers; else a Ray that this sweep starts on this machine (``"local"``), with a notice
  when the pointer names a head that died without ``ray stop``.

>>> try:
...     resolve_address("127.0.0.1:1", timeout=1)
... except UsageError as error:
...     print(str(error).partition(";")[0])
--address 127.0.0.1:1: nothing answers there (Connection refused)
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from stridekit.errors import UsageError

CONNECT_TIMEOUT_S = 10.0  # how long a given head's port may take to answer
LOCAL_TIMEOUT_S = 2.0  # a head on this machine answers at once, or is gone


def ray_pointer() -> Path:
    """Ray's record of the cluster ``ray start --head`` last made on this machine (the
    folder Ray uses: ``RAY_TMPDIR``, else ``TMPDIR`` on Linux, else ``/tmp``)."""
    base = os.environ.get("RAY_TMPDIR")
    if base is None and sys.platform.startswith("linux"):
        base = os.environ.get("TMPDIR")
    return Path(base or "/tmp") / "ray" / "ray_current_cluster"


def answers(address: str, timeout: float) -> str | None:
    """None when something accepts a connection at ``HOST:PORT``, else why not.

    >>> answers("127.0.0.1:1", timeout=1)
    'Connection refused'
    """
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


def _host_port(address: str) -> bool:
    host, colon, port = address.rpartition(":")
    return bool(colon and host and port.isdigit() and "://" not in address)


def resolve_address(
    address: str | None, timeout: float = CONNECT_TIMEOUT_S
) -> tuple[str, str | None]:
    """The address to give ``ray.init`` and a notice for the user (or None); a cluster
    that was asked for but does not answer is one line saying what to do.

    >>> resolve_address("ray://head:10001")  # Ray Client: left to Ray
    ('ray://head:10001', None)
    """
    if address is None and os.environ.get("RAY_ADDRESS"):
        address = os.environ["RAY_ADDRESS"]
    if address is not None and address not in ("auto", "local"):
        if _host_port(address) and (reason := answers(address, timeout)) is not None:
            raise UsageError(
                f"--address {address}: nothing answers there ({reason}); is the cluster's "
                "head node up? (`ray status` on it shows its address)"
            )
        return address, None
    if address == "local":
        return address, None
    pointer = ray_pointer()
    try:
        named = pointer.read_text().strip()
    except OSError:
        named = ""
    if not _host_port(named):
        return address or "local", None
    reason = answers(named, LOCAL_TIMEOUT_S)
    if reason is None:
        return named, None
    if address == "auto":
        raise UsageError(
            f"--address auto: the last cluster started here ({named}, named by {pointer}) "
            f"does not answer ({reason}); start one with `ray start --head`, or leave out "
            "--address to run on a Ray that the sweep starts"
        )
    return "local", (
        f"Ray's pointer {pointer} names {named}, where nothing answers ({reason}: a head "
        "that stopped without `ray stop`); running on a Ray started for this sweep"
    )
