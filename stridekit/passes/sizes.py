"""Valid input sizes of a whole model: no tensor drops a real pixel, every merge fits.

The pass compiles the graph, once per axis, into a flat `SizePlan`: one step per tensor
that has the axis (its slot, its sources' slots, the map from its first input's size to
its own), the drop checks (a tensor and the forward windows that read it) and the merges.
Evaluating the plan at an input size ``n`` is one loop over integers.

Why one period of sizes decides everything. Give every tensor ``t`` its *rate* ``r_t``:
how many pixels it gains per input pixel. The input has ``r = 1``; a forward window of
stride ``s`` divides it by ``s``, a transposed one multiplies it by ``s``; a resample of
factor ``f`` (``floor((m + offset)·f)``) multiplies it by ``f``; a resize to a *fixed*
size gives ``r = 0`` (its size no longer follows ``n``). For a tensor that follows ``n``,
``r_t = 1/J_t`` with ``J_t`` its cumulative stride, the field's jump, which may be a
fraction after upsampling (``J = 1/2`` at twice the input's resolution gives ``r = 2``).

Let ``P`` be the least common multiple of the denominators of the rates (the numerators
of the jumps: 32 for ResNet-50, where the old product of all strides was 65,536; 32 for
Inception-v3 instead of 262,144). Then ``size_t(n + P) = size_t(n) + P·r_t`` for every
tensor, by induction over the graph: if ``m`` gains ``P·r`` (an integer), a forward
window's ``floor((m + lo + hi − e)/s) + 1`` gains ``P·r/s``, an integer because
``P·r/s = P·r_out`` and ``P`` clears ``r_out``'s denominator; a transposed window's
``(m − 1)·s + …`` gains ``s·P·r``; ``floor((m + offset)·f)`` gains ``P·r·f = P·r_out``; a
fixed size gains 0. So every check is periodic in ``n`` with period ``P``:

- a window's dropped end pixels depend on ``(m + lo + hi − e) mod s``, and ``m`` gains a
  multiple of ``s`` (``P·r = s·P·r_out``);
- a merge of branches with equal rates compares sizes whose difference is constant.

Sizes are monotone in ``n`` (every map is), so "every tensor has at least one pixel"
holds exactly from a threshold ``m`` on, and the valid sizes are
``{n ≥ m : n mod P ∈ R}``, found from the ``P`` sizes ``m … m + P − 1``.

A merge of branches with *different* rates (a fixed-size resize merged with a branch
that follows the input, or two branches with different strides) compares sizes whose
difference ``d(n)`` moves by ``P·(r_a − r_b) ≠ 0`` per period: from each residue
``n₀`` at most one ``n = n₀ + k·P`` makes them equal, ``k = −d(n₀)/(P·(r_a − r_b))``. The
valid sizes are then finite, a `SizeSet` with a maximum.

>>> from stridekit.frontends.spec import load_spec
>>> conv = {"type": "conv", "channels": 8, "kernel": 3, "stride": 2}
>>> g = load_spec({"input": [1, 3, 64, 64], "layers": [conv, conv]})   # 64 → 31 → 15
>>> plan = SizePlan.compile(g, axis=0)
>>> plan.period, plan.sizes(67)      # input 67 → floor((67 − 3)/2) + 1 = 33 → 16
(4, [67, 33, 16])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from math import lcm
from typing import TypeVar

from stridekit.errors import OutputSizeError, StrideError, UnsupportedError
from stridekit.geometry import Resample, SizeSet, Window
from stridekit.geometry.solve import reduce_period
from stridekit.graph import GLOBAL_OPS, MERGE_OPS, Graph, Node

SizeMap = Callable[[int], int]
# the threshold search stops here; a period this long would take seconds per axis
LARGEST_SIZE = 1 << 20
LARGEST_PERIOD = 1 << 20


def _floor_affine(slope: Fraction, intercept: Fraction) -> SizeMap:
    """``m ↦ floor(slope·m + intercept)`` in integers: ``(a·m + b) // d``."""
    d = lcm(slope.denominator, intercept.denominator)
    a, b = int(slope * d), int(intercept * d)
    return lambda m: (a * m + b) // d


def _size_map(node: Node, axis: int, rule: Window | Resample) -> tuple[SizeMap, Fraction]:
    """How the node's size on ``axis`` follows its input's, and its gain (output pixels
    per input pixel; 0 when the size is fixed)."""
    if isinstance(rule, Window):
        gain = Fraction(rule.stride) if rule.transposed else Fraction(1, rule.stride)
        return rule.output_size, gain
    sizing = rule.sizing
    if (
        sizing is not None and sizing.follows is None
    ):  # the frontend said how: a fixed size, or floor((m + offset)·f)
        return sizing, Fraction(0) if sizing.fixed is not None else Fraction(sizing.factor)
    # the frontend did not say: affine in n, fitted to the sizes it traced
    traced_in, traced_out = node.input_shapes[0][2 + axis], node.output_shape[2 + axis]
    gain = 1 / rule.scale
    return _floor_affine(gain, traced_out - traced_in * gain), gain


@dataclass(frozen=True)
class _Step:
    """One tensor of the plan: ``sizes[slot] = size(sizes[sources[0]])``."""

    slot: int
    sources: tuple[int, ...]  # slots of the inputs that have the axis; empty for the input
    size: SizeMap | None  # None: the first source's size (the input: n)


@dataclass(frozen=True)
class _DropCheck:
    """A tensor read only by forward windows: its size minus what they read."""

    slot: int
    windows: tuple[Window, ...]
    allowed: int  # pixels a pad node added at the end: padding, harmless to leave unread

    def drops(self, size: int) -> bool:
        return min(w.dropped_end(size) for w in self.windows) > self.allowed


@dataclass(frozen=True)
class _MergeCheck:
    """Two branches of a merge that must have equal sizes."""

    name: str
    first: int
    other: int
    drift: Fraction  # rate(first) − rate(other): 0 when the difference is periodic


@dataclass(frozen=True)
class SizePlan:
    """One axis of a graph, compiled: sizes, drop checks and merges by slot number.

    Build it with `SizePlan.compile`; `valid_sizes` gives the model's valid input sizes.
    """

    axis: int
    names: tuple[str, ...]  # the tensor of each slot
    steps: tuple[_Step, ...]
    rates: tuple[Fraction, ...]  # per slot: pixels gained per input pixel
    drops: tuple[_DropCheck, ...]
    merges: tuple[_MergeCheck, ...]

    @classmethod
    def compile(cls, graph: Graph, axis: int = 0) -> SizePlan:
        """Walk the graph once: which tensors have ``axis``, and how their sizes relate."""
        spatial = len(graph.input_shape) - 2
        slots: dict[str, int] = {}
        steps: list[_Step] = []
        rates: list[Fraction] = []
        merges: list[_MergeCheck] = []
        for node in graph.nodes:
            if node.op == "input":
                sources: tuple[int, ...] = ()
                size: SizeMap | None = None
                rate = Fraction(1)
            else:
                if node.op in GLOBAL_OPS or len(node.output_shape) <= 2:
                    continue
                sources = tuple(slots[s] for s in node.inputs if s in slots)
                if not sources or (node.axes is not None and len(node.axes) != spatial):
                    continue  # no input with the axis, or an op the fields treat as global
                rate, size = rates[sources[0]], None
                rule = node.axes[axis] if node.axes is not None else None
                follows = (
                    rule.sizing.follows if isinstance(rule, Resample) and rule.sizing else None
                )
                if follows is not None and follows in slots:  # a resize to a skip's shape
                    sources = (slots[follows], *sources)
                    rate = rates[slots[follows]]
                elif rule is not None:
                    size, gain = _size_map(node, axis, rule)
                    rate *= gain
            slot = len(steps)
            slots[node.name] = slot
            steps.append(_Step(slot, sources, size))
            rates.append(rate)
            if node.op in MERGE_OPS:
                first = sources[0]
                merges += [
                    _MergeCheck(node.name, first, o, rates[first] - rates[o]) for o in sources[1:]
                ]
        # drops are judged per family of position-wise copies (the doctor's grouping):
        # a pixel one copy leaves unread, another copy's reader may read
        readers = graph.pixel_readers()
        drops = []
        for name, slot in slots.items():
            if name not in readers:
                continue  # a position-wise copy: judged with its source
            windows = []
            for reader in readers[name]:
                rule = reader.axes[axis] if reader.axes and reader.name in slots else None
                if not isinstance(rule, Window) or rule.transposed:
                    break  # this reader reads every pixel (or the plan cannot tell)
                windows.append(rule)
            else:
                if windows:
                    allowed = graph[name].added_padding(axis)[1]
                    drops.append(_DropCheck(slot, tuple(windows), allowed))
        return cls(axis, tuple(slots), tuple(steps), tuple(rates), tuple(drops), tuple(merges))

    @property
    def period(self) -> int:
        """The lcm of the rates' denominators: every check repeats after this many sizes."""
        return lcm(*(r.denominator for r in self.rates if r))

    def sizes(self, n: int) -> list[int] | None:
        """Every tensor's size at input ``n``, by slot; None if some tensor has no pixel."""
        sizes = [0] * len(self.steps)
        try:
            for step in self.steps:
                if not step.sources:
                    out = n
                elif step.size is None:
                    out = sizes[step.sources[0]]
                else:
                    out = step.size(sizes[step.sources[0]])
                if out < 1:
                    return None
                sizes[step.slot] = out
        except OutputSizeError:  # a window or resample with no output
            return None
        return sizes

    def minimum(self) -> int:
        """The smallest input size at which every tensor has a pixel (sizes are monotone)."""
        low, high = 0, 1
        while self.sizes(high) is None:
            low, high = high, high * 2
            if high > LARGEST_SIZE:
                raise OutputSizeError(
                    f"no input size up to {LARGEST_SIZE} gives every layer an output on "
                    f"axis {self.axis}"
                )
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if self.sizes(middle) is not None else (middle, high)
        return high

    def periods_until_merged(self, sizes: list[int], period: int) -> int | None:
        """How many periods past these sizes every merge has equal branches (0: now), or
        None if never. Branches with equal rates must match now; a pair whose rates
        differ matches after exactly ``k = −d/(P·drift)`` periods (``d`` the difference
        now), and every such pair must agree on ``k``."""
        counts: set[Fraction] = set()
        for merge in self.merges:
            difference = sizes[merge.first] - sizes[merge.other]
            if merge.drift:
                counts.add(Fraction(-difference) / (period * merge.drift))
            elif difference:
                return None
        if not counts:
            return 0
        if len(counts) > 1:
            return None
        (count,) = counts
        return int(count) if count.denominator == 1 and count >= 0 else None

    def drops_at(self, sizes: list[int]) -> bool:
        """Whether some tensor leaves real pixels at its end that no window reads."""
        return any(check.drops(sizes[check.slot]) for check in self.drops)

    def valid_sizes(self) -> SizeSet:
        """The input sizes that drop no real pixel at any tensor's end and keep merged
        branches equal (a `SizeSet` with a maximum when merged branches grow at different rates).
        """
        period = self.period
        if period > LARGEST_PERIOD:
            raise UnsupportedError(
                f"the sizes on axis {self.axis} repeat only every {period} input pixels "
                f"(the lcm of the cumulative strides); stridekit stops at {LARGEST_PERIOD}"
            )
        minimum = self.minimum()
        members: list[int] = []
        for n in range(minimum, minimum + period):
            sizes = self.sizes(n)
            assert sizes is not None  # past the threshold every tensor has a pixel
            count = self.periods_until_merged(sizes, period)
            if count is not None and not self.drops_at(sizes):
                members.append(n + count * period)
        if not any(merge.drift for merge in self.merges):
            reduced_period, reduced = reduce_period(period, {n % period for n in members})
            return SizeSet(period=reduced_period, residues=reduced, minimum=minimum)
        return _finite(sorted(members), period)


def _finite(members: list[int], period: int) -> SizeSet:
    """Finitely many sizes as ``{lo ≤ n ≤ hi : n mod p ∈ R}``: with the plan's period
    when that describes them, else with a period longer than their span."""
    if not members:
        return SizeSet(period=1, residues=(), minimum=1)
    lo, hi = members[0], members[-1]
    residues = {n % period for n in members}
    # the sizes in [lo, hi] with those residues; members are some of them, all if as many
    described = sum((hi - r) // period - (lo - 1 - r) // period for r in residues)
    if described != len(members):
        period = hi - lo + 1
        residues = {n % period for n in members}
    reduced_period, reduced = reduce_period(period, residues)
    return SizeSet(period=reduced_period, residues=reduced, minimum=lo, maximum=hi)


def model_valid_sizes(graph: Graph, axis: int = 0) -> SizeSet:
    """Input sizes on ``axis`` at which the model drops no real pixel at the end of any
    tensor and all merged branches keep equal sizes.

    >>> from stridekit.graph import Node
    >>> g = Graph(input_shape=(1, 3, 224, 224))
    >>> w = Window(3, 2)
    >>> _ = g.add(Node("c", "conv", ("input",), ((1, 3, 224, 224),), (1, 8, 111, 111), (w, w)))
    >>> _ = g.add(Node("d", "conv", ("c",), ((1, 8, 111, 111),), (1, 8, 55, 55), (w, w)))
    >>> model_valid_sizes(g).closed_form()
    '4k+3 (n >= 7)'
    """
    return SizePlan.compile(graph, axis).valid_sizes()


T = TypeVar("T")


def each_axis(compute: Callable[[int], T]) -> Callable[[int], T | None]:
    """``compute(axis)`` once per axis asked, None for an axis where it raises a
    `StrideError` (sizes the algebra cannot tell): the doctor's rules ask per axis.

    >>> asked = []
    >>> def period(axis: int) -> int:
    ...     asked.append(axis)
    ...     if axis == 1:
    ...         raise UnsupportedError("no size rule on axis 1")
    ...     return 32
    >>> periods = each_axis(period)
    >>> periods(0), periods(1), periods(0), asked
    (32, None, 32, [0, 1])
    """

    @cache
    def answer(axis: int) -> T | None:
        try:
            return compute(axis)
        except StrideError:
            return None

    return answer
