"""`Picture`: a result that is drawn: it saves itself and shows itself in Jupyter.

A picture holds what it draws (its data, `to_dict`) and renders on demand: `render`
gives the bytes of one format, `save` writes them atomically (`files.write_atomic`), and
Jupyter calls `_repr_svg_` / `_repr_html_` (the picture itself, inline). Its ``__rich__``
is a one-paragraph summary, which is what the CLI prints beside the file it wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text

from stridekit.errors import ChoiceError
from stridekit.render import Result
from stridekit.viz.files import picture_format, write_atomic


class Picture:
    """What a drawn result adds to `Result`: subclasses (``class X(Picture, Result)``)
    set `formats` and write `render` and `summary`; JSON and Markdown come from `Result`."""

    formats: ClassVar[tuple[str, ...]] = ("svg", "png")  # every picture has an SVG form

    def to_dict(self) -> dict[str, Any]:
        """What was drawn, JSON-ready."""
        raise NotImplementedError

    def render(self, fmt: str) -> bytes:
        """The picture as the bytes of ``fmt`` (one of `formats`)."""
        raise NotImplementedError

    def summary(self) -> str:
        """What the picture shows, in a sentence or two."""
        raise NotImplementedError

    def check_format(self, fmt: str) -> str:
        if fmt not in self.formats:
            raise ChoiceError(f"unknown format {fmt!r}; choose one of {', '.join(self.formats)}")
        return fmt

    def save(self, path: str | Path) -> Path:
        """Write the picture in the format the suffix names; all or nothing."""
        path = Path(path)
        data = self.render(picture_format(path, self.formats))  # before the file is touched
        return write_atomic(path, data)

    def __rich__(self) -> RenderableType:
        return Text(self.summary())

    def _repr_svg_(self) -> str:
        """How Jupyter shows the picture."""
        return self.inline_svg()

    def inline_svg(self) -> str:
        """The SVG without its XML prologue, to sit inside an HTML page."""
        svg = self.render("svg").decode()
        return svg[svg.index("<svg") :]

    def _repr_html_(self) -> str:
        """How Jupyter and HTML reports show the picture: the SVG inline."""
        return self.inline_svg()


class Saved(Result):
    """A picture and the file it was written to: what ``stridekit viz`` prints (its JSON is
    the picture's data, what was drawn, with the path and format)."""

    def __init__(self, picture: Picture, path: Path) -> None:
        self.picture = picture
        self.path = Path(path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.path.suffix.lstrip(".").lower(),
            **self.picture.to_dict(),
        }

    def __rich__(self) -> RenderableType:
        return Text(f"{self.picture.summary()}\nwrote {self.path}")
