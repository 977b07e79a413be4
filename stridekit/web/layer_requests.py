"""The layer tab's requests: one op on one input (``/api/shape``, ``/api/window``) and
the windows between two sizes (``/api/solve``).

Fields take JSON numbers (``224``, ``[224, 320]``, ``[[2, 3], 1]``) or the CLI's notation
(``"224x320"``, ``"2:3x1"``, ``"same"``); numbers become that notation
(`stridekit.web.request_values`) and everything goes through the parser the CLI uses
(`stridekit.Op.parse`), so
``POST /api/shape {"size": 224, "kernel": 3, "stride": 2}`` answers exactly what
``stridekit shape --size 224 --kernel 3 --stride 2 --format json`` prints (the tests
compare the two).

>>> ShapeRequest(size=[224], kernel=7, stride="2", padding=3).report().to_dict()["output_size"]
[112]
>>> ShapeRequest(size=[224, 320], kernel=3, padding=[[0, 1], 1]).key()
('conv', '224x320', '3', None, '0:1x1', '1', False, '0', 'torch')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from stridekit.errors import SizeError
from stridekit.geometry import Op, ShapeReport, Solutions
from stridekit.geometry.limits import MAX_SIZE
from stridekit.geometry.notation import parse_sizes
from stridekit.web.limits import Limits
from stridekit.web.request_values import Count, NonNegatives, Paddings, Positive, Positives, Sizes
from stridekit.web.window_picture import WindowPicture, window_picture

if TYPE_CHECKING:
    from stridekit.doctor import Report

OpName = Literal["conv", "conv_transpose", "max_pool", "avg_pool"]
Convention = Literal["torch", "tf", "onnx-upper", "onnx-lower"]


class ShapeRequest(BaseModel):
    """The options of ``stridekit shape``."""

    model_config = ConfigDict(extra="forbid")

    size: Sizes = Field(description="Pixels per axis: 224, [224, 320] or '224x320' (1 to 3 axes)")
    kernel: Positives = Field(description="One for all axes or one per axis: 3, [7, 5], '7x5'")
    stride: Positives | None = Field(
        None, description="Default 1; for pooling the kernel (PyTorch's rule)"
    )
    padding: Paddings = Field(
        "0",
        description="Per axis an integer or [lo, hi] (1, [[2, 3], 1]), or the CLI's text: 1, "
        "2:3, 1x2:3, same, valid, causal",
    )
    dilation: Positives = "1"
    op: OpName = "conv"
    ceil_mode: bool = False
    output_padding: NonNegatives = "0"
    convention: Convention = "torch"

    def key(self) -> tuple[str | bool | None, ...]:
        """The request as the CLI's text, field by field: equal keys, equal answers."""
        return (
            self.op,
            self.size,
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.output_padding,
            self.convention,
        )

    def sizes(self, limit: int = MAX_SIZE) -> tuple[int, ...]:
        sizes = parse_sizes(self.size, "size")
        if len(sizes) > 3:
            raise SizeError(f"--size {self.size!r}: the explorer takes 1 to 3 axes")
        for n in sizes:
            if n > limit:
                raise SizeError(
                    f"--size {self.size!r}: {n:,} is beyond {limit:,} pixels per axis, the "
                    "largest this explorer takes for one layer"
                )
        return sizes

    def to_op(self, limit: int = MAX_SIZE) -> Op:
        """The `Op` asked for, as ``stridekit shape`` reads it, its sizes within ``limit``.

        >>> ShapeRequest(size=[8, 8], kernel=3, op="max_pool").to_op().windows[0].stride
        3
        """
        self.sizes(limit)  # the explorer's own bounds first
        return Op.parse(**self.model_dump())  # the fields are Op.parse's, in the CLI's text

    def report(self, limits: Limits | None = None) -> ShapeReport:
        """``stridekit shape``'s answer."""
        return self.to_op((limits or Limits()).max_layer_size).describe()

    def layer_spec(self, limits: Limits | None = None) -> dict[str, Any]:
        """The op as a one-layer spec (padding made explicit), for the doctor.

        >>> ShapeRequest(size="6", kernel="3", stride="2", padding="same",
        ...              convention="tf").layer_spec()["layers"]
        [{'type': 'conv', 'name': 'layer', 'kernel': [3], 'stride': [2], 'padding': [[0, 1]], 'dilation': [1], 'channels': 1}]
        """  # noqa: E501
        op = self.to_op((limits or Limits()).max_layer_size)
        windows = op.windows
        layer: dict[str, Any] = {
            "type": self.op,
            "name": "layer",
            "kernel": [w.kernel for w in windows],
            "stride": [w.stride for w in windows],
            "padding": [[w.pad_lo, w.pad_hi] for w in windows],
        }
        if self.op != "avg_pool":
            layer["dilation"] = [w.dilation for w in windows]
        if self.op.endswith("pool"):
            layer["ceil_mode"] = self.ceil_mode
        else:
            layer["channels"] = 1
        if self.op == "conv_transpose":
            layer["output_padding"] = [w.output_padding for w in windows]
        return {"name": "layer", "input": [1, 1, *op.sizes], "layers": [layer]}

    def findings(self, limits: Limits | None = None) -> Report:
        """The doctor's findings on this op alone (``stridekit doctor`` on its spec)."""
        from stridekit.analysis import analyze_graph
        from stridekit.doctor import doctor
        from stridekit.frontends.spec import load_spec

        return doctor(analyze_graph(load_spec(self.layer_spec(limits)), "layer"))

    def picture(self, limits: Limits | None = None) -> WindowPicture:
        """What the layer tab draws: each output's taps and each pixel's coverage."""
        limit = (limits or Limits()).max_picture_size
        op = self.to_op(limit)
        for w, n in zip(op.windows, op.sizes, strict=True):
            drawn = (w.extent, w.pad_lo + n + w.pad_hi, w.output_size(n))
            if max(drawn) > 4 * limit:
                raise SizeError(
                    f"{w.describe()} on {n} pixels: the picture draws at most {4 * limit} "
                    "cells per axis (window, padded input, output); use a smaller window"
                )
        return window_picture(op.op, op.windows, op.sizes)


class SolveRequest(BaseModel):
    """The options of ``stridekit solve``."""

    model_config = ConfigDict(extra="forbid")

    size: Positive = Field(description="Input size (one axis): 224 or '224'")
    output: Positive = Field(description="Wanted output size: 112 or '112'")
    max_kernel: Positive = 7
    max_dilation: Positive = 1
    max_stride: Positive | None = None
    limit: Count = Field(10, description="How many solutions to list (0: all)")

    def key(self) -> tuple[int | None, ...]:
        """The request's numbers: equal keys, equal answers."""
        return (
            self.size,
            self.output,
            self.max_kernel,
            self.max_dilation,
            self.max_stride,
            self.limit,
        )

    def solutions(self, limits: Limits | None = None) -> Solutions:
        from stridekit.geometry import solve_windows

        limits = limits or Limits()
        bounds = (
            ("size", self.size, limits.max_layer_size),
            ("output", self.output, limits.max_layer_size),
            ("max_kernel", self.max_kernel, limits.max_kernel),
            ("max_dilation", self.max_dilation, limits.max_dilation),
            ("max_stride", self.max_stride or 0, limits.max_layer_size),
            ("limit", self.limit, limits.max_solutions),
        )
        for name, value, bound in bounds:
            if value > bound:
                raise SizeError(f"{name} {value:,} is beyond {bound:,}, the explorer's bound")
        found = solve_windows(
            self.size,
            self.output,
            max_kernel=self.max_kernel,
            max_stride=self.max_stride,
            max_dilation=self.max_dilation,
        )
        return found.first(self.limit or limits.max_solutions)
