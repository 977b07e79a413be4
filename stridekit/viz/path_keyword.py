"""The old ``path=`` keyword of the drawing functions (``animate_conv(..., path=...)``):
still written and still answered with the file's path, with a `DeprecationWarning`.
A picture saves itself: ``animate_conv(...).save("conv.gif")``.

>>> import tempfile, warnings
>>> from stridekit.viz.coverage import draw_coverage
>>> target = Path(tempfile.mkdtemp()) / "coverage.svg"
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     written = draw_coverage(6, 3, stride=2, path=target)
>>> written == target, caught[0].category.__name__
(True, 'DeprecationWarning')
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from stridekit.viz.figure import Picture

P = TypeVar("P", bound="Picture")


def saved_if_asked(picture: P, path: str | Path | None, function: str) -> P:
    """``picture``, or with the deprecated ``path`` the file it was saved to.

    The result is typed as the picture: the new form's type stays exact, and the old
    form's callers got a `Path` before and still do."""
    if path is None:
        return picture
    warnings.warn(
        f"{function}(..., path=...) is deprecated; save the picture it returns: "
        f"{function}(...).save(path)",
        DeprecationWarning,
        stacklevel=3,
    )
    return cast(P, picture.save(path))
