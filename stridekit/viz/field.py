"""Receptive-field overlays: what one feature-map position sees, drawn on an image.

Left: the image at the model's input size, the theoretical receptive field of position
``(i, j)`` of a layer (the box ``[m·J + lo, m·J + hi]`` on each axis, from the analysis;
dashed where it reaches into padding), and the centres of every position of that feature
map (the grid its stride lays on the image). Right: the effective receptive field
(`effective_field`, Luo et al. 2016) as a heatmap, with the same box: it lies inside,
and its mass gathers near the centre.

>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.Conv2d(4, 4, 3, padding=1))
>>> overlay = draw_field(net, (1, 3, 32, 32), layer="1")
>>> overlay.rows, overlay.columns, overlay.at     # position (8, 8): rows 16 − 3 .. 16 + 3
((Fraction(13, 1), Fraction(19, 1)), (Fraction(13, 1), Fraction(19, 1)), (8, 8))
>>> overlay.inside_box
1.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from stridekit.errors import SizeError, UnsupportedError
from stridekit.layer_record import jsonable
from stridekit.render import Result, axes_text
from stridekit.viz.canvas import figure_bytes, new_figure, style
from stridekit.viz.figure import Picture
from stridekit.viz.palette import PALETTE
from stridekit.viz.path_keyword import saved_if_asked

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from stridekit.analysis import Analysis

MAX_PIXELS = 2048  # per axis of the image
MASS = 0.95  # the effective field's extent: the square about the centre holding this share


@dataclass(frozen=True)
class FieldOverlay(Picture, Result):
    """One position's receptive field on an image (rows × columns × 3 bytes), the
    feature map's jump and size, and the effective field (None when not measured)."""

    model: str
    layer: str
    image: np.ndarray
    at: tuple[int, int]
    jump: tuple[Fraction, Fraction]
    lo: tuple[Fraction, Fraction]
    hi: tuple[Fraction, Fraction]
    feature_size: tuple[int, int]
    effective: np.ndarray | None = None
    image_name: str = "sample photo"

    formats: ClassVar[tuple[str, ...]] = ("png", "svg")

    def _interval(self, axis: int, m: int) -> tuple[Fraction, Fraction]:
        return m * self.jump[axis] + self.lo[axis], m * self.jump[axis] + self.hi[axis]

    @property
    def rows(self) -> tuple[Fraction, Fraction]:
        """The first and last input row position ``at`` sees (negative: padding)."""
        return self._interval(0, self.at[0])

    @property
    def columns(self) -> tuple[Fraction, Fraction]:
        return self._interval(1, self.at[1])

    @property
    def size(self) -> tuple[Fraction, Fraction]:
        return (self.hi[0] - self.lo[0] + 1, self.hi[1] - self.lo[1] + 1)

    def centres(self, axis: int) -> np.ndarray:
        """The centre of every position of the feature map along ``axis``, in pixels."""
        middle = (self.lo[axis] + self.hi[axis]) / 2
        return np.array(
            [float(m * self.jump[axis] + middle) for m in range(self.feature_size[axis])]
        )

    @property
    def inside_box(self) -> float | None:
        """The share of the effective field's mass inside the theoretical box (1.0)."""
        if self.effective is None:
            return None
        total = float(self.effective.sum())
        if total == 0:
            return 1.0
        (r0, r1), (c0, c1) = self._box_pixels()
        return float(self.effective[r0 : r1 + 1, c0 : c1 + 1].sum()) / total

    def _box_pixels(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The box clipped to the image, as whole pixel indices (outer bounds)."""
        height, width = self.image.shape[:2]
        (top, bottom), (left, right) = self.rows, self.columns
        rows = (max(0, math.floor(top)), min(height - 1, math.ceil(bottom)))
        return rows, (max(0, math.floor(left)), min(width - 1, math.ceil(right)))

    @property
    def effective_side(self) -> int | None:
        """The side of the smallest square about the position's centre that holds `MASS`
        of the effective field (in pixels)."""
        if self.effective is None or not self.effective.any():
            return None
        centre_row = float(sum(self.rows) / 2)
        centre_column = float(sum(self.columns) / 2)
        rows, columns = np.indices(self.effective.shape)
        reach = np.maximum(np.abs(rows - centre_row), np.abs(columns - centre_column))
        order = np.argsort(reach, axis=None, kind="stable")
        mass = np.cumsum(self.effective.ravel()[order])
        needed = int(np.searchsorted(mass, MASS * mass[-1]))
        return int(np.ceil(2 * reach.ravel()[order][needed] + 1))

    def support(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """The rows and columns where the effective field is not zero."""
        if self.effective is None or not self.effective.any():
            return None
        rows, columns = np.nonzero(self.effective)
        return (int(rows.min()), int(rows.max())), (int(columns.min()), int(columns.max()))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "model": self.model,
            "layer": self.layer,
            "image": self.image_name,
            "input_size": list(self.image.shape[:2]),
            "feature_size": list(self.feature_size),
            "at": list(self.at),
            "jump": jsonable(self.jump),
            "receptive_field": jsonable(self.size),
            "box": {"rows": jsonable(self.rows), "columns": jsonable(self.columns)},
            "centres": {
                name: {
                    "first": jsonable(self.centres(axis)[0]),
                    "step": jsonable(self.jump[axis]),
                    "count": self.feature_size[axis],
                }
                for axis, name in enumerate(("rows", "columns"))
            },
        }
        if self.effective is not None:
            support = self.support()
            data["effective"] = {
                "support": None if support is None else {"rows": support[0], "columns": support[1]},
                "inside_box": self.inside_box,
                "side_95": self.effective_side,
            }
        return data

    def describe(self) -> str:
        (top, bottom), (left, right) = self.rows, self.columns
        return (
            f"{self.model} {self.layer} ({self.feature_size[0]}x{self.feature_size[1]}, stride "
            f"{axes_text(self.jump)}, field {axes_text(self.size)}): position {self.at} sees "
            f"rows {top}..{bottom}, columns {left}..{right}"
        )

    def summary(self) -> str:
        text = self.describe()
        if self.effective is not None:
            text += (
                f"; the effective field holds {MASS:.0%} of its mass in "
                f"{self.effective_side}x{self.effective_side} pixels"
            )
        return text

    def to_matplotlib(self) -> Figure:
        with style():
            panels = 1 if self.effective is None else 2
            height, width = self.image.shape[:2]
            side = 3.8
            figure = new_figure((side * panels * max(0.6, width / height) + 0.6, side + 0.6))
            axes = [figure.add_subplot(1, panels, k + 1) for k in range(panels)]
            image_axes = axes[0]
            image_axes.imshow(self.image, interpolation="antialiased")
            self._centres(image_axes)
            self._box(image_axes, "rf-box")
            image_axes.set_title(
                f"theoretical field {axes_text(self.size)} on the {self.image_name}"
            )
            if self.effective is not None:
                from matplotlib.colors import PowerNorm

                heat = axes[1].imshow(  # square root: the faint tails show, zero stays black
                    self.effective / max(float(self.effective.max()), 1e-30),
                    cmap="magma",
                    norm=PowerNorm(0.5, vmin=0, vmax=1),
                )
                heat.set_gid("effective")
                self._box(axes[1], "rf-box-effective")
                axes[1].set_title(
                    f"effective field: |gradient| (Luo et al. 2016), {MASS:.0%} in "
                    f"{self.effective_side}x{self.effective_side}"
                )
                figure.colorbar(
                    heat, ax=axes[1], shrink=0.8, label="relative gradient (square-root scale)"
                )
            for axis in axes:
                self._limits(axis)
            figure.suptitle(self.describe(), fontsize=9)
        return figure

    def _box(self, axes: Axes, gid: str) -> None:
        from matplotlib.patches import Rectangle

        (top, bottom), (left, right) = self.rows, self.columns
        box = Rectangle(
            (float(left) - 0.5, float(top) - 0.5),
            float(right - left + 1),
            float(bottom - top + 1),
            fill=False,
            edgecolor=PALETTE["tap"],
            linewidth=2,
        )
        box.set_gid(gid)
        axes.add_patch(box)
        height, width = self.image.shape[:2]
        inside = Rectangle((-0.5, -0.5), width, height, transform=axes.transData)
        box.set_clip_path(inside)
        outside = Rectangle(
            box.get_xy(),
            box.get_width(),
            box.get_height(),
            fill=False,
            edgecolor=PALETTE["tap"],
            linewidth=1.5,
            linestyle="--",
        )
        outside.set_gid(gid + "-padding")
        axes.add_patch(outside)
        axes.plot(
            [float(left + right) / 2],
            [float(top + bottom) / 2],
            marker="+",
            color=PALETTE["tap"],
            markersize=10,
            gid=gid.replace("rf-box", "centre"),
        )

    def _centres(self, axes: Axes) -> None:
        rows, columns = np.meshgrid(self.centres(0), self.centres(1), indexing="ij")
        count = rows.size
        axes.scatter(
            columns.ravel(),
            rows.ravel(),
            s=max(0.5, min(12.0, 3000 / count)),
            color="white",
            edgecolors=PALETTE["text"],
            linewidths=0.3,
            gid="centres",
        )

    def _limits(self, axes: Axes) -> None:
        height, width = self.image.shape[:2]
        (top, bottom), (left, right) = self.rows, self.columns
        axes.set_xlim(min(-0.5, float(left) - 1.5), max(width - 0.5, float(right) + 1.5))
        axes.set_ylim(max(height - 0.5, float(bottom) + 1.5), min(-0.5, float(top) - 1.5))

    def render(self, fmt: str) -> bytes:
        return figure_bytes(self.to_matplotlib(), self.check_format(fmt))


def _module_and_analysis(model: Any, input_size: tuple[int, ...] | None) -> tuple[Any, Analysis]:
    """The torch module (a zoo model built with seeded random weights) and its analysis."""
    import torch

    from stridekit.analysis import analyze

    if isinstance(model, str):
        from stridekit.frontends.resolve import resolve

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            resolved = resolve(model, input_size, device="cpu")
        if resolved.module is None:
            raise UnsupportedError(
                f"{model}: the effective field needs a torch module, and {resolved.source} "
                "models run no torch forward here; draw the theoretical field alone "
                "(effective=False, on the command line --no-effective)"
            )
        shape = input_size or resolved.input_shape
        analysis = analyze(resolved.module, shape)
        analysis.model = model
        return resolved.module, analysis
    return model, analyze(model, input_size)


def draw_field(
    model: Any,
    input_size: tuple[int, ...] | None = None,
    *,
    layer: str,
    image: str | Path | np.ndarray | None = None,
    at: tuple[int, int] | None = None,
    effective: bool = True,
    path: str | Path | None = None,
) -> FieldOverlay:
    """The receptive field of position ``at`` (default: the middle) of ``layer`` (a node
    or a module of the analysis) on ``image`` (a file, an RGB array, or the sample
    photo), with the effective field beside it when ``effective``. ``model`` is a torch
    module or a reference (``"torchvision:resnet18"``), ``input_size`` its
    ``N × C × H × W``. (``path=`` is deprecated: the overlay saves itself, ``.save(path)``,
    as a ``.png`` or ``.svg``.)"""
    from stridekit.analysis import analyze
    from stridekit.viz.sample_image import fit_image, load_image, model_input, sample_photo

    if effective:
        module, analysis = _module_and_analysis(model, input_size)
    else:
        module, analysis = None, analyze(model, input_size)
    shape = analysis.input_shape
    if len(shape) != 4:
        raise UnsupportedError(
            f"a receptive field is drawn on an image: the input must be N x C x H x W, "
            f"got {'x'.join(map(str, shape))}"
        )
    if max(shape[2:]) > MAX_PIXELS:
        raise SizeError(f"input {shape[2]}x{shape[3]} is larger than {MAX_PIXELS} per axis")
    from stridekit.viz.effective_field import probe
    from stridekit.viz.layers import find_layer

    node = probe(analysis, layer).node if effective else find_layer(analysis, layer)
    fields = analysis.field_result.fields[node.name]
    if len(fields) != 2 or any(f.is_global for f in fields) or not node.has_positions:
        raise UnsupportedError(
            f"{node.name}'s field is global (every input pixel reaches every position) or "
            "has no positions; choose an earlier layer"
        )
    feature = node.spatial_shape
    position = at if at is not None else (feature[0] // 2, feature[1] // 2)
    if not all(0 <= p < n for p, n in zip(position, feature, strict=True)):
        raise SizeError(
            f"position {tuple(position)} is outside {node.name}'s {feature[0]}x{feature[1]} map"
        )
    if image is None:
        rgb, name = sample_photo(), "sample photo"
    elif isinstance(image, np.ndarray):
        rgb, name = image, "image"
    else:
        rgb, name = load_image(image), Path(image).name
    rgb = fit_image(rgb, (shape[2], shape[3]))
    gradient = None
    if module is not None:
        from stridekit.viz.effective_field import effective_field

        gradient = effective_field(module, analysis, layer, model_input(rgb, shape[1]), position)
    overlay = FieldOverlay(
        model=analysis.model,
        layer=node.name,
        image=rgb,
        at=(int(position[0]), int(position[1])),
        jump=(fields[0].jump, fields[1].jump),
        lo=(fields[0].lo, fields[1].lo),
        hi=(fields[0].hi, fields[1].hi),
        feature_size=(feature[0], feature[1]),
        effective=gradient,
        image_name=name,
    )
    return saved_if_asked(overlay, path, "draw_field")
