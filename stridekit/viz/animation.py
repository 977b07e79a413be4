"""`animate_conv`: a conv, pooling or transposed conv drawn one output position at a time.

Every frame shows the (padded) input, the cells the window reads for one output position
(its taps: `Window.taps`, one per kernel element, with dilation's holes) and the output
cell they fill, in the manner of Dumoulin & Visin's convolution-arithmetic figures.
Padding, real pixels, pixels no output reads and ceil mode's window past the padding are
told apart by colour; the caption gives the output-size formula with the numbers. A
transposed conv's frame shows the input pixels that write into the output cell.

The animation is data (`stridekit.viz.animation_data.AnimationData`: its frames and
cells, `to_dict`); `ConvAnimation` renders it as an animated SVG, a GIF or a
self-contained HTML player (`render`, `save`: the format from the file's suffix).

>>> movie = animate_conv(Op(5, 3, stride=2, padding=1))
>>> len(movie.frames), movie.frames[1].cells      # floor((5 + 2 − 3)/2) + 1 = 3 frames
(3, ((1,), (2,), (3,)))
>>> movie.formulas
('floor((5 + 1 + 1 - 3)/2) + 1 = 3',)
>>> square = animate_conv((4, 4), 2, stride=2)    # the keyword form builds the Op
>>> len(square.frames), square.frames[3].cells
(4, ((2, 2), (2, 3), (3, 2), (3, 3)))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Unpack

from stridekit.errors import UnsupportedError, UsageError
from stridekit.geometry.op import Op, OpArguments, PerAxis
from stridekit.render import Result
from stridekit.viz.animation_data import AXIS_NAMES, MAX_CELLS, MAX_FRAMES, AnimationData, Frame
from stridekit.viz.animation_gif import animation_gif
from stridekit.viz.animation_html import animation_html, player
from stridekit.viz.animation_svg import animation_svg
from stridekit.viz.figure import Picture
from stridekit.viz.path_keyword import saved_if_asked

__all__ = ["MAX_CELLS", "MAX_FRAMES", "ConvAnimation", "Frame", "animate_conv"]


@dataclass(frozen=True)
class ConvAnimation(AnimationData, Picture, Result):
    """The animation as a picture: an animated SVG, a GIF or an HTML player."""

    formats: ClassVar[tuple[str, ...]] = ("gif", "svg", "html")

    def render(self, fmt: str) -> bytes:
        fmt = self.check_format(fmt)
        if fmt == "svg":
            return animation_svg(self).encode()
        if fmt == "html":
            return animation_html(self).encode()
        return animation_gif(self)

    def _repr_html_(self) -> str:
        return player(self)


def animate_conv(
    size: Op | PerAxis,
    *arguments: Any,
    fps: float = 2.0,
    path: str | Path | None = None,
    **options: Unpack[OpArguments],
) -> ConvAnimation:
    """The animation of an `Op` (``conv``, ``conv_transpose``, ``max_pool``, ``avg_pool``)
    over an input of one or two axes, ``fps`` frames a second; ``animate_conv(size,
    kernel, stride=..., ...)`` builds the `Op` from its arguments.

    (``path=`` is deprecated: the animation saves itself, ``.save("conv.gif")``, as a
    ``.gif``, ``.svg`` or ``.html`` from the suffix.)
    """
    op = Op.of(size, *arguments, **options)
    if len(op.sizes) not in AXIS_NAMES:
        shown = "x".join(str(n) for n in op.sizes)
        raise UnsupportedError(
            f"an animation draws a 1-d or 2-d input; {shown} has {len(op.sizes)} axes: "
            "animate one or two of them (the axes of a window are independent)"
        )
    if not fps > 0:
        raise UsageError(f"fps must be positive, got {fps}")
    movie = ConvAnimation.from_op(op, fps)
    movie.check_drawable()
    return saved_if_asked(movie, path, "animate_conv")
