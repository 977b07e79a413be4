"""What one window does to one axis of an input, as a plain record for renderers."""

from __future__ import annotations

from dataclasses import dataclass

from stridekit.geometry.window import Window


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
        w = self.window
        return {
            "input_size": self.input_size,
            "kernel": w.kernel,
            "stride": w.stride,
            "dilation": w.dilation,
            "padding": [w.pad_lo, w.pad_hi],
            "ceil_mode": w.ceil_mode,
            "transposed": w.transposed,
            "output_padding": w.output_padding,
            "output_size": self.output_size,
            "unread_real": list(self.unread_real),
            "unread_padding": list(self.unread_padding),
            "coverage": {"min": self.coverage_min, "max": self.coverage_max},
            "formula": self.formula,
        }


def describe_axis(window: Window, n: int) -> AxisReport:
    """Everything stridekit knows about ``window`` applied to ``n`` pixels."""
    output = window.output_size(n)
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
