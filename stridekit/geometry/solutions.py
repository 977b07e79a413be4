"""Inverse problem: every window that maps ``n_in`` pixels to exactly ``n_out``.

Solved from the algebra, not by trying windows on sizes: for a forward window the total
padding ``T = lo + hi`` that gives ``n_out`` outputs satisfies
``(n_out − 1)·s ≤ n_in + T − e < n_out·s``, an interval of ``T``; for a transposed window
``T = (n_in − 1)·s + e + output_padding − n_out`` exactly. What a window misses is counted
per residue of its taps (`covered`), never pixel by pixel.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, overload

from rich.console import RenderableType

from stridekit.errors import SizeError, UsageError
from stridekit.geometry.limits import check_size
from stridekit.geometry.report import window_dict
from stridekit.geometry.window import Window
from stridekit.render import Result, table

# solve_windows lists every window it finds; past this many it asks for a narrower search
MAX_SOLUTIONS = 1 << 16


@dataclass(frozen=True)
class Solution:
    """One window that maps ``n_in → n_out``, with what it costs and what it misses."""

    window: Window
    missed: int  # forward: real input pixels no output reads; transposed: outputs no input writes
    cost: int  # multiply-accumulates per channel pair along this axis

    @property
    def reads_all(self) -> bool:
        return self.missed == 0

    def rank(self) -> tuple[int, ...]:
        w = self.window
        return (
            0 if self.reads_all else 1,
            self.cost,
            0 if w.pad_lo == w.pad_hi else 1,
            w.pad_lo + w.pad_hi,
            w.dilation,
            w.stride,
            w.kernel,
            w.pad_hi,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **window_dict(self.window),
            "reads_all": self.reads_all,
            "missed": self.missed,
            "cost": self.cost,
        }


@dataclass(frozen=True)
class Solutions(Result, Sequence[Solution]):
    """Every window mapping ``input_size → output_size``, best first; a sequence of
    `Solution`. ``shown`` limits how many the table and `to_dict` list (None: all)."""

    input_size: int
    output_size: int
    solutions: tuple[Solution, ...]
    shown: int | None = None

    @overload
    def __getitem__(self, index: int) -> Solution: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Solution, ...]: ...
    def __getitem__(self, index: int | slice) -> Solution | tuple[Solution, ...]:
        return self.solutions[index]

    def __len__(self) -> int:
        return len(self.solutions)

    def __iter__(self) -> Iterator[Solution]:
        return iter(self.solutions)

    def first(self, count: int | None) -> Solutions:
        """The same solutions, listing only the first ``count`` (0 or None: all)."""
        if count is not None and count < 0:
            raise UsageError(f"the number of solutions to show must be >= 0, got {count}")
        return replace(self, shown=count or None)

    def listed(self) -> tuple[Solution, ...]:
        return self.solutions[: self.shown] if self.shown else self.solutions

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_size": self.input_size,
            "output_size": self.output_size,
            "count": len(self.solutions),
            "solutions": [s.to_dict() for s in self.listed()],
        }

    def __rich__(self) -> RenderableType:
        listed = self.listed()
        columns = ("rank", "kernel", "stride", "dilation", "padding", "kind", "reads all", "cost")
        rows = []
        for rank, solution in enumerate(listed, 1):
            w = solution.window
            kind = "transposed" + (f" op={w.output_padding}" if w.output_padding else "")
            rows.append(
                (
                    str(rank),
                    str(w.kernel),
                    str(w.stride),
                    str(w.dilation),
                    f"({w.pad_lo}, {w.pad_hi})",
                    kind if w.transposed else "conv",
                    "yes" if solution.reads_all else f"no ({solution.missed} missed)",
                    str(solution.cost),
                )
            )
        title = (
            f"windows mapping {self.input_size} -> {self.output_size} "
            f"({len(listed)} of {len(self.solutions)})"
        )
        return table(title, columns, rows)


def _splits(total: int, limit: int) -> list[tuple[int, int]]:
    """All ``(lo, hi)`` with ``lo + hi = total`` and each side at most ``limit``."""
    return [(lo, total - lo) for lo in range(max(0, total - limit), min(total, limit) + 1)]


def covered(count: int, step: int, offsets: Iterable[int], size: int) -> int:
    """How many of ``0 … size − 1`` equal ``i·step + o`` for some ``0 ≤ i < count`` and
    offset ``o``: the pixels a window's taps read (``o = t·d − lo``), or the outputs a
    transposed window writes.

    An offset ``o = r + q·step`` (``0 ≤ r < step``) covers ``r + j·step`` for ``j`` in
    ``[q, q + count − 1]``: per residue ``r`` the intervals of ``j`` merge, then are
    clipped to ``0 ≤ r + j·step < size``. O(k log k) instead of a walk over the pixels.

    >>> covered(3, 2, [0, 1, 2], 8)      # k=3 s=2 on 8 pixels: 0..6 read, 7 dropped
    7
    >>> covered(4, 2, [-1], 8)           # k=1 s=2 p=1: reads 1, 3, 5 (-1 is padding)
    3
    """
    per_residue: dict[int, list[int]] = {}
    for offset in offsets:
        per_residue.setdefault(offset % step, []).append(offset // step)
    total = 0
    for residue, starts in per_residue.items():
        last = (size - 1 - residue) // step  # the largest j inside the axis (j ≥ 0 too)
        reach = -1  # the largest j counted so far
        for start in sorted(starts):
            lo, hi = max(start, reach + 1, 0), min(start + count - 1, last)
            if hi >= lo:
                total += hi - lo + 1
            reach = max(reach, start + count - 1)
    return total


def solve_windows(
    n_in: int,
    n_out: int,
    *,
    max_kernel: int = 7,
    max_stride: int | None = None,
    max_dilation: int = 1,
) -> Solutions:
    """All windows (kernel ≤ ``max_kernel``) mapping ``n_in`` pixels to exactly ``n_out``.

    Forward windows when ``n_out ≤ n_in``, transposed ones when ``n_out > n_in``. Padding
    on each side is at most ``e − 1`` (more would only read padding). Ranked: windows
    that read every real pixel first, then by cost (``n_out · k`` MACs for a forward
    window, ``n_in · k`` for a transposed one), then symmetric and smaller padding.

    >>> best = solve_windows(224, 112, max_kernel=3)[0]
    >>> best.window.describe(), best.reads_all
    ('k=2 s=2 p=(0,0)', True)
    >>> solve_windows(56, 112, max_kernel=4)[0].window.describe()
    'k=2 s=2 p=(0,0) transposed'
    """
    check_size(n_in, "size")
    check_size(n_out, "output")
    check_size(max_kernel, "max_kernel")
    check_size(max_dilation, "max_dilation")
    if max_stride is not None:
        check_size(max_stride, "max_stride")
    solutions: list[Solution] = []
    for kernel in range(1, max_kernel + 1):
        for dilation in range(1, (max_dilation if kernel > 1 else 1) + 1):
            extent = dilation * (kernel - 1) + 1
            if n_out <= n_in:
                found = _forward(n_in, n_out, kernel, dilation, extent, max_stride)
            else:
                found = _transposed(n_in, n_out, kernel, dilation, extent, max_stride)
            for solution in found:
                solutions.append(solution)
                if len(solutions) > MAX_SOLUTIONS:
                    raise SizeError(
                        f"more than 2^16 = {MAX_SOLUTIONS:,} windows map {n_in} to {n_out}, "
                        "the most stridekit lists; narrow the search with a smaller "
                        "max_kernel (--max-kernel) or max_stride (--max-stride)"
                    )
    return Solutions(n_in, n_out, tuple(sorted(solutions, key=Solution.rank)))


def _offsets(kernel: int, dilation: int, pad_lo: int) -> range:
    """Where each tap of a window starting at 0 lands: ``t·d − lo``."""
    return range(-pad_lo, -pad_lo + kernel * dilation, dilation)


def _forward(
    n_in: int, n_out: int, kernel: int, dilation: int, extent: int, max_stride: int | None
) -> Iterator[Solution]:
    if n_out == 1:
        first, last = 1, 1  # a single window: the stride never matters
    else:
        # n_out outputs need (n_out − 1)·s ≤ n_in + T − e < n_out·s with 0 ≤ T ≤ 2(e − 1):
        # s ≥ (n_in − e + 1)/n_out and s ≤ (n_in + e − 2)/(n_out − 1)
        first = max(1, -(-(n_in - extent + 1) // n_out))
        last = (n_in + extent - 2) // (n_out - 1)
        last = min(last, max_stride or last)
    for stride in range(first, last + 1):
        low = max(0, (n_out - 1) * stride + extent - n_in)
        high = min(2 * (extent - 1), n_out * stride + extent - n_in - 1)
        for total in range(low, high + 1):
            for pads in _splits(total, extent - 1):
                window = Window(kernel, stride, dilation, pads)
                read = covered(n_out, stride, _offsets(kernel, dilation, pads[0]), n_in)
                yield Solution(window, n_in - read, n_out * kernel)


def _transposed(
    n_in: int, n_out: int, kernel: int, dilation: int, extent: int, max_stride: int | None
) -> Iterator[Solution]:
    # n_out = (n_in − 1)·s − T + e + op  ⇒  s ≤ (n_out + 2(e−1)) / (n_in − 1)
    bound = (n_out + 2 * (extent - 1)) // max(1, n_in - 1)
    # and T ≥ 0 with op ≤ max(s, d) − 1 needs n_in·s ≥ n_out − e − d + 1 (either way)
    first = max(2, (n_out - extent - dilation + 1) // n_in)
    for stride in range(first, min(bound, max_stride or bound) + 1):
        # T = (n_in − 1)·s + e + op − n_out must lie in [0, 2(e − 1)], op < max(s, d)
        base = (n_in - 1) * stride + extent - n_out
        for output_padding in range(
            max(0, -base), min(max(stride, dilation), 2 * (extent - 1) - base + 1)
        ):
            total = base + output_padding
            for pads in _splits(total, extent - 1):
                window = Window(
                    kernel, stride, dilation, pads, transposed=True, output_padding=output_padding
                )
                # input j writes outputs j·s − lo + t·d: the outputs no input writes stay empty
                written = covered(n_in, stride, _offsets(kernel, dilation, pads[0]), n_out)
                yield Solution(window, n_out - written, n_in * kernel)
