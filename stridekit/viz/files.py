"""Writing a picture: the format from the file's suffix, and never a half-written file.

Everything is rendered to bytes before the file is touched; the bytes go to a temporary
file beside the target, which is renamed over it (`os.replace`, atomic on one file
system). A failure at any point leaves the target as it was and no temporary behind.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_atomic(folder / "a.svg", b"<svg/>").read_bytes()
b'<svg/>'
>>> picture_format(folder / "movie.GIF", ("gif", "svg"))
'gif'
>>> picture_format(folder / "movie.mp4", ("gif", "svg", "html"))
Traceback (most recent call last):
...
stridekit.errors.ChoiceError: movie.mp4: cannot write .mp4 here; choose a file ending in .gif, .svg or .html
"""  # noqa: E501

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from stridekit.errors import ChoiceError, UsageError


def picture_format(path: Path, formats: Sequence[str]) -> str:
    """The format a file name asks for (its suffix, lower case), if it is one of ``formats``."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in formats:
        listed = ", ".join(f".{f}" for f in formats[:-1]) + f" or .{formats[-1]}"
        what = f".{suffix}" if suffix else "a file without a suffix"
        raise ChoiceError(
            f"{path.name}: cannot write {what} here; choose a file ending in {listed}"
        )
    return suffix


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed over it."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"{path}: folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path
