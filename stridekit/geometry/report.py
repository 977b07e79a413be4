"""What one window does to one axis of an input (`AxisReport`), and an op's report over
every axis (`ShapeReport`, the answer of ``stridekit shape``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.text import Text

from stridekit.geometry.limits import check_size, check_taps
from stridekit.geometry.window import Window
from stridekit.render import Result, table


@dataclass(frozen=True)
class AxisReport:
    """Output size, padding, unread pixels, coverage and the formula for one axis.

    >>> report = describe_axis(Window(3, 2), 224)
    >>> report.output_size, report.unread_real, report.coverage_min, report.coverage_max
    (111, (223,), 0, 2)
    """

    input_size: int
    window: Window
    output_size: int
    unread_real: tuple[int, ...]
    unread_padding: tuple[int, ...]
    coverage_min: int
    coverage_max: int
    formula: str

    def to_dict(self) -> dict[str, object]:
        return {
            "input_size": self.input_size,
            **window_dict(self.window),
            "output_size": self.output_size,
            "unread_real": list(self.unread_real),
            "unread_padding": list(self.unread_padding),
            "coverage": {"min": self.coverage_min, "max": self.coverage_max},
            "formula": self.formula,
        }


def window_dict(window: Window) -> dict[str, object]:
    """A window's arguments for JSON, as the reports of ``shape`` and ``solve`` give them.

    >>> window_dict(Window(3, 2, padding=(0, 1)))
    {'kernel': 3, 'stride': 2, 'dilation': 1, 'padding': [0, 1], 'ceil_mode': False, 'transposed': False, 'output_padding': 0}
    """  # noqa: E501
    return {
        "kernel": window.kernel,
        "stride": window.stride,
        "dilation": window.dilation,
        "padding": [window.pad_lo, window.pad_hi],
        "ceil_mode": window.ceil_mode,
        "transposed": window.transposed,
        "output_padding": window.output_padding,
    }


def describe_axis(window: Window, n: int) -> AxisReport:
    """Everything stridekit knows about ``window`` applied to ``n`` pixels."""
    check_size(n, "input size")
    output = window.output_size(n)
    # coverage counts every (output, tap) pair; a transposed window every (input, tap) one
    check_taps(n if window.transposed else output, window.kernel, window.describe())
    coverage = window.coverage(n)
    unread = window.unread(n)
    return AxisReport(
        input_size=n,
        window=window,
        output_size=output,
        unread_real=unread.real,
        unread_padding=unread.padding,
        coverage_min=int(coverage.min()),
        coverage_max=int(coverage.max()),
        formula=window.formula(n),
    )


def describe_chain(windows: list[Window], n: int) -> list[AxisReport]:
    """`describe_axis` for each window of a chain, each fed the previous output.

    >>> [r.output_size for r in describe_chain([Window(3, 2)] * 2, 224)]
    [111, 55]
    """
    reports = []
    for window in windows:
        reports.append(describe_axis(window, n))
        n = reports[-1].output_size
    return reports


def preview(indices: Sequence[int], limit: int = 8) -> str:
    """The first ``limit`` indices and how many there are in all.

    >>> preview([]), preview([223]), preview(range(10), limit=3)
    ('-', '223', '0, 1, 2, ... (10 in all)')
    """
    if not indices:
        return "-"
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", ... ({len(indices)} in all)" if len(indices) > limit else "")


@dataclass(frozen=True)
class ShapeReport(Result):
    """One op applied to an input, axis by axis: sizes, unread pixels, coverage, formulas.

    >>> report = describe_op("conv", [Window(3, 2)] * 2, [224, 225])
    >>> report.to_dict()["output_size"], [r.unread_real for r in report.axes]
    ([111, 112], [(223,), ()])
    """

    op: str
    convention: str
    axes: tuple[AxisReport, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "op": self.op,
            "convention": self.convention,
            "input_size": [r.input_size for r in self.axes],
            "output_size": [r.output_size for r in self.axes],
            "axes": [r.to_dict() for r in self.axes],
        }

    def __rich__(self) -> RenderableType:
        sizes = " x ".join(str(r.input_size) for r in self.axes)
        outputs = " x ".join(str(r.output_size) for r in self.axes)
        columns = ("axis", "in", "window", "out", "unread real", "unread padding", "coverage")
        rows = (
            (
                str(axis),
                str(r.input_size),
                r.window.describe(),
                str(r.output_size),
                preview(r.unread_real),
                preview(r.unread_padding),
                f"{r.coverage_min}..{r.coverage_max}",
            )
            for axis, r in enumerate(self.axes)
        )
        formulas = "\n".join(f"axis {a}: {r.formula}" for a, r in enumerate(self.axes))
        return Group(table(f"{self.op}: {sizes} -> {outputs}", columns, rows), Text(formulas))


def describe_op(
    op: str, windows: Sequence[Window], sizes: Sequence[int], convention: str = "torch"
) -> ShapeReport:
    """`describe_axis` for each axis: ``windows[i]`` applied to ``sizes[i]`` pixels."""
    axes = tuple(describe_axis(w, n) for w, n in zip(windows, sizes, strict=True))
    return ShapeReport(op, convention, axes)
