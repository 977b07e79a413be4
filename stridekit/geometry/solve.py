"""Inverse problem: which input sizes a chain of windows accepts (`SizeSet`), solved from
the algebra, not by trying sizes (`stridekit.geometry.solutions` finds the windows that
map one size to another).

A chain's valid input sizes are periodic: if the sizes valid after layer ``i`` are
``{n ≥ m : n mod P ∈ R}``, those valid before it are ``{n ≥ m' : n mod P·s ∈ R'}``,
because ``f(n + P·s) = f(n) + P`` for ``f(n) = floor((n + lo + hi − e)/s) + 1``. Walking
the chain backwards from "any size ≥ 1" yields the closed form, e.g. ``32k+1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Group, RenderableType
from rich.text import Text

from stridekit.errors import ChoiceError, SizeError, UsageError
from stridekit.geometry.limits import MAX_SIZE, check_size
from stridekit.geometry.report import AxisReport, describe_chain, preview
from stridekit.geometry.window import Window
from stridekit.render import Result, table

SizeRule = Literal["exact", "no-drop"]
SIZE_RULES: tuple[str, ...] = ("exact", "no-drop")


@dataclass(frozen=True)
class SizeSet(Result):
    """A periodic set of sizes ``{minimum ≤ n (≤ maximum) : n mod period ∈ residues}``.

    A model whose merged branches grow at different rates (a fixed-size resize merged
    with a branch that follows the input) accepts finitely many sizes: ``maximum``.

    >>> sizes = SizeSet(period=32, residues=(1,), minimum=1)
    >>> sizes.closed_form(), 513 in sizes, sizes.between(1, 100)
    ('32k+1', True, [1, 33, 65, 97])
    >>> print(sizes)
    32k+1: 1, 33, 65, 97, 129, 161, 193, 225, ...
    <BLANKLINE>
    >>> ends = SizeSet(period=4, residues=(0,), minimum=8, maximum=16)
    >>> ends.between(1, 100), 20 in ends, ends.nearest(30), ends.closed_form()
    ([8, 12, 16], False, 16, 'n in 8, 12, 16')
    >>> SizeSet(period=4, residues=(0, 1), minimum=8, maximum=40).closed_form()
    '4k, 4k+1 (8 <= n <= 40)'
    """

    period: int
    residues: tuple[int, ...]
    minimum: int
    maximum: int | None = None

    def __post_init__(self) -> None:
        if self.period < 1 or self.minimum < 1:
            raise UsageError(
                f"a size set needs period >= 1 and minimum >= 1, got {self.period}, {self.minimum}"
            )
        if any(not 0 <= r < self.period for r in self.residues):
            raise UsageError(f"residues {self.residues} must lie in 0..{self.period - 1}")

    def __contains__(self, n: object) -> bool:
        return (
            isinstance(n, int)
            and n >= self.minimum
            and (self.maximum is None or n <= self.maximum)
            and n % self.period in self.residues
        )

    def between(self, lo: int, hi: int) -> list[int]:
        """The members in ``[lo, hi]``, in order."""
        start = max(lo, self.minimum)
        if self.maximum is not None:
            hi = min(hi, self.maximum)
        return [
            n
            for base in range(start - start % self.period, hi + 1, self.period)
            for n in (base + r for r in self.residues)
            if start <= n <= hi
        ]

    def nearest(self, n: int) -> int | None:
        """The member closest to ``n`` (the smaller one on a tie); None if there is none.

        >>> SizeSet(period=32, residues=(0,), minimum=224).nearest(10)   # below the minimum
        224
        >>> SizeSet(period=2, residues=(), minimum=1).nearest(10) is None
        True
        """
        if not self.residues:
            return None
        if self.maximum is not None:
            members = self.between(self.minimum, self.maximum)
            return min(members, key=lambda m: (abs(m - n), m)) if members else None
        # every `period` consecutive sizes from the minimum on hold a member
        top = max(n, self.minimum) + self.period
        candidates = self.between(max(self.minimum, n - self.period), top)
        return min(candidates, key=lambda m: (abs(m - n), m))

    def closed_form(self) -> str:
        """``32k+1``, ``16k, 16k+8``, ``every n >= 3``, ``n in 8, 12``, or ``none``."""
        if not self.residues:
            return "none"
        if self.maximum is not None:
            members = self.between(self.minimum, self.maximum)
            if len(members) <= 8:
                return f"n in {', '.join(map(str, members))}" if members else "none"
            bounds = f"{self.minimum} <= n <= {self.maximum}"
            if len(self.residues) == self.period:
                return f"every n with {bounds}"
            unbounded = SizeSet(self.period, self.residues, 1).closed_form()
            return f"{unbounded} ({bounds})"
        if len(self.residues) == self.period:
            return f"every n >= {self.minimum}"
        terms = [f"{self.period}k" + (f"+{r}" if r else "") for r in self.residues]
        text = ", ".join(terms)
        # the smallest positive member each term would have without a threshold
        natural = min(r if r > 0 else self.period for r in self.residues)
        if self.minimum > natural:
            text += f" (n >= {self.minimum})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "closed_form": self.closed_form(),
            "period": self.period,
            "residues": list(self.residues),
            "minimum": self.minimum,
        } | ({"maximum": self.maximum} if self.maximum is not None else {})

    def __rich__(self) -> RenderableType:
        first = self.between(self.minimum, self.minimum + 8 * self.period)[:8]
        shown = ", ".join(map(str, first)) + (", ..." if first else "")
        return Text(f"{self.closed_form()}: {shown or 'no size'}")


def reduce_period(period: int, residues: set[int]) -> tuple[int, tuple[int, ...]]:
    """The smallest period that describes the same residue set (residues in ``0..period−1``).

    >>> reduce_period(32, {1, 17}), reduce_period(4, {0, 1, 2, 3})
    ((16, (1,)), (1, (0,)))
    """
    for candidate in range(1, period + 1):
        if period % candidate:
            continue
        reduced = {r % candidate for r in residues}
        # the residues always lie in the lift of `reduced`; they are all of it iff as many
        if len(residues) == len(reduced) * (period // candidate):
            return candidate, tuple(sorted(reduced))
    return period, tuple(sorted(residues))


def _threshold(forward: Callable[[int], int], start: int, minimum_next: int) -> int:
    """Smallest ``n ≥ start`` with ``forward(n) ≥ minimum_next`` (``forward`` is monotone
    and grows without bound): doubling, then bisection."""
    if forward(start) >= minimum_next:
        return start
    low, step = start, 1  # forward(low) < minimum_next
    while forward(low + step) < minimum_next:
        low, step = low + step, step * 2
    high = low + step  # forward(high) >= minimum_next
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if forward(middle) >= minimum_next else (middle, high)
    return high


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
        raise ChoiceError(f"unknown size rule {rule!r}; choose one of {', '.join(SIZE_RULES)}")
    period, residues, minimum = 1, {0}, 1
    for window in reversed(list(windows)):
        size_of = window._raw_output_size
        start = window.min_input_size()
        new_period = period if window.transposed else period * window.stride
        if new_period > MAX_SIZE:
            raise SizeError(
                f"the strides of this chain repeat only every {new_period:,} sizes, beyond "
                f"2^20 = {MAX_SIZE:,}: stridekit checks one size per residue, so it handles "
                "periods up to 2^20"
            )
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


@dataclass(frozen=True)
class ChainSizes(Result):
    """The valid input sizes of a chain of windows, listed over ``span``, and each layer's
    sizes at one input when ``chain`` is given: the answer of ``stridekit sizes --layer``.

    >>> found = chain_sizes([Window(3, 2)] * 2, "no-drop", span=(1, 20), input_size=224)
    >>> found.sizes.closed_form(), found.members(), found.to_dict()["nearest_valid"]
    ('4k+3 (n >= 7)', [7, 11, 15, 19], 223)
    """

    layers: tuple[Window, ...]
    rule: str
    sizes: SizeSet
    span: tuple[int, int]
    chain: tuple[AxisReport, ...] | None = None

    def members(self) -> list[int]:
        """The valid sizes in ``span``."""
        return self.sizes.between(*self.span)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "layers": [layer.describe() for layer in self.layers],
            "rule": self.rule,
            **self.sizes.to_dict(),
            "range": list(self.span),
            "sizes": self.members(),
            "gaps": [i for i, layer in enumerate(self.layers) if layer.has_gaps],
        }
        if self.chain:
            size = self.chain[0].input_size
            data["input"] = size
            data["chain"] = [report.to_dict() for report in self.chain]
            if size not in self.sizes:
                data["nearest_valid"] = self.sizes.nearest(size)
        return data

    def __rich__(self) -> RenderableType:
        chain = self.chain
        title = f"chain of {len(self.layers)} layers, rule {self.rule}"
        if chain:
            title += f", input {chain[0].input_size}"
        columns = ["layer", "window"] + (["in", "out", "unread real"] if chain else []) + ["gaps"]
        rows = []
        for i, layer in enumerate(self.layers):
            cells = [str(i), layer.describe()]
            if chain:
                r = chain[i]
                cells += [str(r.input_size), str(r.output_size), preview(r.unread_real, 6)]
            cells.append("yes: interior pixels unread" if layer.has_gaps else "-")
            rows.append(cells)
        members = self.members()
        shown = ", ".join(str(n) for n in members[:24])
        if len(members) > 24:
            shown += f", ... ({len(members)} in all)"
        lines = [
            f"valid input sizes: {self.sizes.closed_form()}",
            f"in {self.span[0]}..{self.span[1]}: {shown or 'none'}",
        ]
        if chain and chain[0].input_size not in self.sizes:
            nearest = self.sizes.nearest(chain[0].input_size)
            lines.append(
                f"input {chain[0].input_size} is not valid; "
                + (f"the nearest valid size is {nearest}" if nearest else "no size is valid")
            )
        return Group(table(title, columns, rows), Text("\n".join(lines)))


def check_span(span: tuple[int, int], what: str = "range") -> tuple[int, int]:
    """A range of sizes ``START..STOP`` with ``1 <= START <= STOP <= MAX_SIZE``."""
    start, stop = span
    check_size(start, f"{what} start")
    check_size(stop, f"{what} stop")
    if stop < start:
        raise UsageError(f"{what} {start}..{stop}: the start must not pass the stop")
    return start, stop


def chain_sizes(
    layers: Sequence[Window],
    rule: str = "exact",
    span: tuple[int, int] = (1, 1024),
    input_size: int | None = None,
) -> ChainSizes:
    """`valid_input_sizes` of ``layers`` listed over ``span``, with each layer's sizes and
    unread pixels at ``input_size`` when given."""
    chain = None
    if input_size is not None:
        chain = tuple(describe_chain(list(layers), input_size))
    sizes = valid_input_sizes(layers, rule)
    return ChainSizes(tuple(layers), rule, sizes, check_span(span), chain)
