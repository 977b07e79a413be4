"""Inverse problems: which windows map ``n_in → n_out``; which input sizes a chain accepts.

Both are solved from the algebra, not by trying sizes:

- for a forward window the total padding ``T = lo + hi`` that gives ``n_out`` outputs
  satisfies ``(n_out − 1)·s ≤ n_in + T − e < n_out·s``, an interval of ``T``; for a
  transposed window ``T = (n_in − 1)·s + e + output_padding − n_out`` exactly;
- a chain's valid input sizes are periodic: if the sizes valid after layer ``i`` are
  ``{n ≥ m : n mod P ∈ R}``, those valid before it are ``{n ≥ m' : n mod P·s ∈ R'}``,
  because ``f(n + P·s) = f(n) + P`` for ``f(n) = floor((n + lo + hi − e)/s) + 1``. Walking
  the chain backwards from "any size ≥ 1" yields the closed form, e.g. ``32k+1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from stridekit.errors import InvalidWindowError
from stridekit.geometry.window import Window

SizeRule = Literal["exact", "no-drop"]
SIZE_RULES: tuple[str, ...] = ("exact", "no-drop")


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


def _splits(total: int, limit: int) -> list[tuple[int, int]]:
    """All ``(lo, hi)`` with ``lo + hi = total`` and each side at most ``limit``."""
    return [(lo, total - lo) for lo in range(max(0, total - limit), min(total, limit) + 1)]


def solve_windows(
    n_in: int,
    n_out: int,
    *,
    max_kernel: int = 7,
    max_stride: int | None = None,
    max_dilation: int = 1,
) -> list[Solution]:
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
    for name, value in (("size", n_in), ("output", n_out), ("max_kernel", max_kernel)):
        if value < 1:
            raise InvalidWindowError(f"{name} must be >= 1, got {value}")
    if max_dilation < 1:
        raise InvalidWindowError(f"max_dilation must be >= 1, got {max_dilation}")
    solutions: list[Solution] = []
    for kernel in range(1, max_kernel + 1):
        for dilation in range(1, (max_dilation if kernel > 1 else 1) + 1):
            extent = dilation * (kernel - 1) + 1
            if n_out <= n_in:
                solutions += _forward(n_in, n_out, kernel, dilation, extent, max_stride)
            else:
                solutions += _transposed(n_in, n_out, kernel, dilation, extent, max_stride)
    return sorted(solutions, key=Solution.rank)


def _forward(
    n_in: int, n_out: int, kernel: int, dilation: int, extent: int, max_stride: int | None
) -> list[Solution]:
    found = []
    if n_out == 1:
        strides = [1]  # a single window: the stride never matters
    else:
        # (n_out − 1)·s ≤ n_in + T − e ≤ n_in + 2(e − 1) − e
        bound = (n_in + extent - 2) // (n_out - 1)
        strides = list(range(1, min(bound, max_stride or bound) + 1))
    for stride in strides:
        low = max(0, (n_out - 1) * stride + extent - n_in)
        high = min(2 * (extent - 1), n_out * stride + extent - n_in - 1)
        for total in range(low, high + 1):
            for pads in _splits(total, extent - 1):
                window = Window(kernel, stride, dilation, pads)
                unread = len(window.unread(n_in).real)
                found.append(Solution(window, unread, n_out * kernel))
    return found


def _transposed(
    n_in: int, n_out: int, kernel: int, dilation: int, extent: int, max_stride: int | None
) -> list[Solution]:
    found = []
    # n_out = (n_in − 1)·s − T + e + op  ⇒  s ≤ (n_out + 2(e−1)) / (n_in − 1)
    bound = (n_out + 2 * (extent - 1)) // max(1, n_in - 1)
    for stride in range(2, min(bound, max_stride or bound) + 1):
        for output_padding in range(max(stride, dilation)):
            total = (n_in - 1) * stride + extent + output_padding - n_out
            if not 0 <= total <= 2 * (extent - 1):
                continue
            for pads in _splits(total, extent - 1):
                window = Window(
                    kernel, stride, dilation, pads, transposed=True, output_padding=output_padding
                )
                empty = sum(
                    1 for i in range(n_out) if not any(0 <= j < n_in for j in window.taps(i))
                )
                found.append(Solution(window, empty, n_in * kernel))
    return found


@dataclass(frozen=True)
class SizeSet:
    """A periodic set of sizes ``{n ≥ minimum : n mod period ∈ residues}``.

    >>> sizes = SizeSet(period=32, residues=(1,), minimum=1)
    >>> sizes.closed_form(), 513 in sizes, sizes.between(1, 100)
    ('32k+1', True, [1, 33, 65, 97])
    """

    period: int
    residues: tuple[int, ...]
    minimum: int

    def __contains__(self, n: object) -> bool:
        return isinstance(n, int) and n >= self.minimum and n % self.period in self.residues

    def between(self, lo: int, hi: int) -> list[int]:
        """The members in ``[lo, hi]``, in order."""
        start = max(lo, self.minimum)
        return [
            n
            for base in range(start - start % self.period, hi + 1, self.period)
            for n in (base + r for r in self.residues)
            if start <= n <= hi
        ]

    def nearest(self, n: int) -> int | None:
        """The member closest to ``n`` (the smaller one on a tie); None if empty."""
        if not self.residues:
            return None
        candidates = self.between(max(self.minimum, n - self.period), n + self.period)
        return min(candidates, key=lambda m: (abs(m - n), m)) if candidates else self.minimum

    def closed_form(self) -> str:
        """``32k+1``, ``16k, 16k+8``, ``every n >= 3``, or ``none``."""
        if not self.residues:
            return "none"
        if len(self.residues) == self.period:
            return f"every n >= {self.minimum}"
        terms = [f"{self.period}k" + (f"+{r}" if r else "") for r in self.residues]
        text = ", ".join(terms)
        # the smallest positive member each term would have without a threshold
        natural = min(r if r > 0 else self.period for r in self.residues)
        if self.minimum > natural:
            text += f" (n >= {self.minimum})"
        return text


def reduce_period(period: int, residues: set[int]) -> tuple[int, tuple[int, ...]]:
    """The smallest period that describes the same residue set."""
    for candidate in range(1, period + 1):
        if period % candidate:
            continue
        reduced = {r % candidate for r in residues}
        if {r for r in range(period) if r % candidate in reduced} == residues:
            return candidate, tuple(sorted(reduced))
    return period, tuple(sorted(residues))


def _threshold(forward: Callable[[int], int], start: int, minimum_next: int) -> int:
    """Smallest ``n ≥ start`` with ``forward(n) ≥ minimum_next`` (``forward`` is monotone)."""
    n = start
    while forward(n) < minimum_next:
        n += 1
    return n


def valid_input_sizes(windows: Sequence[Window], rule: str = "exact") -> SizeSet:
    """Input sizes at which every layer of a chain reads every real pixel.

    ``rule="exact"``: every layer's windows end exactly at the end of its padded input
    (``(n + lo + hi − e) mod s = 0``: sizes land on integers, DeepLab's alignment);
    ``rule="no-drop"``: no real pixel after the last window (padding may be left over).
    Interior gaps (``Window.has_gaps``) are independent of the size and not judged here.

    >>> deeplab = [Window(3, 2, padding=(1, 1))] * 5
    >>> valid_input_sizes(deeplab).closed_form()
    '32k+1'
    >>> valid_input_sizes([Window(3, 2)] * 2, rule="no-drop").closed_form()
    '4k+3 (n >= 7)'
    """
    if rule not in SIZE_RULES:
        raise InvalidWindowError(f"unknown size rule {rule!r}; choose one of {SIZE_RULES}")
    period, residues, minimum = 1, {0}, 1
    for window in reversed(list(windows)):
        size_of = window._raw_output_size
        start = window.min_input_size()
        new_period = period if window.transposed else period * window.stride
        # a representative of each residue class, large enough that every size in the
        # chain is past its threshold, so membership depends on the residue alone
        big = (minimum + 2) * window.stride + window.extent + new_period + start
        new_residues = set()
        for residue in range(new_period):
            n = big + (residue - big) % new_period
            if size_of(n) % period not in residues:
                continue
            if not window.transposed:
                if rule == "exact" and window.remainder(n) != 0:
                    continue
                if rule == "no-drop" and window.dropped_end(n) != 0:
                    continue
            new_residues.add(residue)
        minimum = _threshold(size_of, start, minimum)
        period, reduced = reduce_period(new_period, new_residues)
        residues = set(reduced)
    return SizeSet(period=period, residues=tuple(sorted(residues)), minimum=minimum)
