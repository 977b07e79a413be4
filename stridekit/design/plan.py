"""The stride planner: where to put strides (and dilations) in a layer template.

A template is a chain of convolutions (kernel, output channels). A plan gives every layer
a stride in ``{1, 2, 3, 4}``, a dilation and the padding ``(e − 1)//2`` each side. Its cost
is the MACs ``Σ n_i² · k_i² · c_in · c_out`` (``n_i`` the layer's output size), its field
grows as ``rf += (e − 1)·J`` and its jump as ``J *= s``.

Representational bottlenecks (Szegedy et al. 2016, "avoid bottlenecks, especially
early"; `stridekit.design.bottleneck`): a layer's volume drop is how many times it shrinks
``C·H·W``, ``c_in·n_in² / (c_out·n_out²)``. ``max_volume_drop = f`` is a hard limit: no
layer may exceed ``f``. ``preferred_volume_drop = f`` (the task presets use 2) is a
preference: the plans with the fewest layers over ``f`` come first, among those the ones
whose first such layer comes latest (then the next), and only then the cheapest. A stride
of 2 divides ``H·W`` by 4, so within 2 it lands where the channels at least double: where
the network widens, not in the first layers because they are cheapest.

The search is a dynamic programme over layers whose state is ``(J, n)`` (cumulative
stride and current size) and the detection levels met: every plan reaching a state has
the same future, so only the plans on the Pareto front of (rank low, receptive field
high) need to be kept there, where the rank is (excess, MACs) compared lexicographically;
under a MACs budget with a preference, MACs low is a third criterion of the front (a plan
ranked better but dearer may not fit the budget once completed). Exact, and polynomial in
the number of layers where brute force is ``(|S|·|D|·|P|)^L``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from rich.console import RenderableType
from rich.table import Table

from stridekit.design.bottleneck import drop_text, exceeds, excess_bit, excess_rank, volume_drop
from stridekit.errors import ChoiceError, Infeasible, UsageError
from stridekit.geometry import Window
from stridekit.geometry.limits import check_size
from stridekit.layer_record import jsonable
from stridekit.render import Result, human, table

__all__ = [
    "PADDINGS",
    "Constraints",
    "Infeasible",
    "Layer",
    "Plan",
    "Step",
    "plan",
    "volume_drop",
]
MAX_TOP = 100  # plans kept per search state: the search grows with it


@dataclass(frozen=True)
class Layer:
    """One conv of a template: kernel size and output channels."""

    kernel: int
    channels: int


@dataclass(frozen=True)
class Constraints:
    """What a plan must satisfy (None: no constraint)."""

    output_stride: int | None = None
    output_size: int | None = None
    min_rf: int | None = None
    max_macs: int | None = None
    levels: tuple[int, ...] = ()  # cumulative strides that must appear (detection)
    strides: tuple[int, ...] = (1, 2, 3, 4)
    dilations: tuple[int, ...] = (1,)
    paddings: tuple[str, ...] = ("same",)  # "same": (e − 1)//2 each side; "valid": none
    allow_gaps: bool = False  # strides larger than the window skip pixels
    space_to_depth: bool = False  # downsample by space-to-depth + stride-1 conv (SPD-Conv)
    max_volume_drop: Fraction | None = None  # hard: no layer's c_in·n_in² / (c_out·n_out²) above
    # soft: fewest layers above it first (the earliest as late as possible), then MACs
    preferred_volume_drop: Fraction | None = None


@dataclass(frozen=True)
class Step:
    stride: int
    dilation: int
    padding: int
    output_size: int
    jump: int
    rf: int
    macs: int
    volume_in: int  # the activation volume C·H·W the layer reads
    volume_out: int  # and the one it writes
    space_to_depth: bool = False  # a (stride × stride) space-to-depth, then a stride-1 conv

    @property
    def volume_drop(self) -> Fraction:
        """How many times the layer shrinks ``C·H·W`` (below 1: it grows)."""
        return Fraction(self.volume_in, self.volume_out)


@dataclass(frozen=True)
class Plan(Result):
    """A stride placement with its per-layer sizes, fields and cost, for ``template``."""

    steps: tuple[Step, ...]
    macs: int
    template: tuple[Layer, ...] = ()
    preferred_volume_drop: Fraction | None = None  # the limit `bottlenecks` are over

    @property
    def bottlenecks(self) -> tuple[int, ...]:
        """The layers that shrink ``C·H·W`` more than the preferred volume drop."""
        limit = self.preferred_volume_drop
        if limit is None:
            return ()
        return tuple(i for i, s in enumerate(self.steps) if s.volume_drop > limit)

    @property
    def output_stride(self) -> int:
        return self.steps[-1].jump if self.steps else 1

    @property
    def rf(self) -> int:
        return self.steps[-1].rf if self.steps else 1

    @property
    def output_size(self) -> int:
        return self.steps[-1].output_size

    def windows(self, template: Sequence[Layer] | None = None) -> list[Window]:
        """The windows of the plan's convs (a space-to-depth step's conv has stride 1)."""
        return [
            Window(layer.kernel, 1 if s.space_to_depth else s.stride, s.dilation, (s.padding,) * 2)
            for layer, s in zip(template or self.template, self.steps, strict=True)
        ]

    def layer_table(self, title: str = "plan, layer by layer") -> Table:
        """Each layer's kernel, channels, stride, dilation, padding, size, jump, field, MACs
        and volume drop (``!`` where it is over the preferred one)."""
        columns = ("layer", "kernel", "channels", "stride", "dilation", "padding", "out")
        over = set(self.bottlenecks)
        rows = (
            (
                str(i),
                str(layer.kernel),
                str(layer.channels),
                str(s.stride),
                str(s.dilation),
                str(s.padding),
                str(s.output_size),
                str(s.jump),
                str(s.rf),
                human(s.macs),
                drop_text(s.volume_drop) + (" !" if i in over else ""),
            )
            for i, (layer, s) in enumerate(zip(self.template, self.steps, strict=True))
        )
        return table(title, (*columns, "jump", "rf", "MACs", "C·H·W drop"), rows)

    def __rich__(self) -> RenderableType:
        return self.layer_table()

    def to_dict(self) -> dict[str, Any]:
        over = set(self.bottlenecks)
        return {
            "macs": self.macs,
            "output_stride": self.output_stride,
            "output_size": self.output_size,
            "receptive_field": self.rf,
            "preferred_volume_drop": jsonable(self.preferred_volume_drop),
            "over_preferred_volume_drop": sorted(over),
            "layers": [
                jsonable(
                    {
                        **s.__dict__,
                        "volume_drop": s.volume_drop,
                        "over_preferred_volume_drop": i in over,
                    }
                )
                for i, s in enumerate(self.steps)
            ],
        }


@dataclass
class _Partial:
    macs: int
    rf: int
    steps: tuple[Step, ...]
    levels: frozenset[int] = field(default_factory=frozenset)
    excess: int = 0  # an `excess_bit` for each layer over the preferred volume drop


Rank = Callable[[_Partial], tuple[int, ...]]


def _ranking(c: Constraints) -> Rank:
    """How plans rank, better first: the bottleneck preference if any, then MACs, then the
    larger field (without a preference the excess is always 0, so it is left out)."""
    if c.preferred_volume_drop is None:
        return lambda p: (p.macs, -p.rf)
    return lambda p: (*excess_rank(p.excess), p.macs, -p.rf)


def _prune(partials: Iterable[_Partial], keep: int, rank: Rank, by_macs: bool) -> list[_Partial]:
    """Keep the ``keep`` best and every plan that no better-ranked one matches in field
    (and, with ``by_macs``, in MACs: under a budget, a better rank that costs more may not
    fit once the plan is completed)."""
    kept: list[_Partial] = []
    best_rf = 0
    front: list[tuple[int, int]] = []  # (rf, macs) of the plans kept, none dominating another
    for place, p in enumerate(sorted(partials, key=rank)):
        if by_macs:
            dominated = any(rf >= p.rf and macs <= p.macs for rf, macs in front)
            if not dominated:
                front = [(rf, m) for rf, m in front if rf > p.rf or m < p.macs]
                front.append((p.rf, p.macs))
        else:
            dominated = p.rf <= best_rf
            best_rf = max(best_rf, p.rf)
        if place < keep or not dominated:
            kept.append(p)
    return kept


PADDINGS = ("same", "valid")


def _advance(
    partial: _Partial,
    layer: Layer,
    c_in: int,
    n: int,
    jump: int,
    choice: tuple[int, int, str],
    c: Constraints,
    bit: int,
) -> tuple[int, int, _Partial] | None:
    stride, dilation, padding = choice
    extent = dilation * (layer.kernel - 1) + 1
    pad = (extent - 1) // 2 if padding == "same" else 0
    spd = c.space_to_depth and stride > 1
    if spd:
        # SPD-Conv: n → n/s pixels with s²·c channels, then a stride-1 conv; no pixel lost
        if n % stride:
            return None
        out = (n // stride + 2 * pad - extent) + 1
        macs = out * out * layer.kernel * layer.kernel * c_in * stride * stride * layer.channels
    else:
        if stride > extent and not c.allow_gaps:
            return None
        out = (n + 2 * pad - extent) // stride + 1
        macs = out * out * layer.kernel * layer.kernel * c_in * layer.channels
    if out < 1:
        return None
    volume_in, volume_out = c_in * n * n, layer.channels * out * out
    if c.max_volume_drop is not None and exceeds(volume_in, volume_out, c.max_volume_drop):
        return None  # a representational bottleneck, over the hard limit
    excess = partial.excess
    if c.preferred_volume_drop is not None and exceeds(
        volume_in, volume_out, c.preferred_volume_drop
    ):
        excess += bit  # over the preferred limit: ranked after the plans that are not
    if spd:  # the s×s block widens the field first, then the conv runs on the new grid
        rf = partial.rf + (stride - 1) * jump + (extent - 1) * jump * stride
    else:
        rf = partial.rf + (extent - 1) * jump
    step = Step(stride, dilation, pad, out, jump * stride, rf, macs, volume_in, volume_out, spd)
    levels = partial.levels | {jump * stride}
    steps = (*partial.steps, step)
    return out, jump * stride, _Partial(partial.macs + macs, rf, steps, levels, excess)


def plan(
    template: Sequence[Layer],
    input_size: int,
    constraints: Constraints,
    *,
    input_channels: int = 3,
    top: int = 5,
) -> list[Plan]:
    """The best plans that meet ``constraints``, best first: the cheapest (by MACs), or
    with a ``preferred_volume_drop``, those with the fewest layers over it (the earliest as
    late as possible) first, then the cheapest.

    The first plan is the exact optimum. Each state also keeps its ``top`` best partial
    plans, so the ranking is exact when no receptive-field constraint prunes (nor a MACs
    budget together with a preferred volume drop).

    >>> net = [Layer(3, 16), Layer(3, 32), Layer(3, 64), Layer(3, 64)]
    >>> best = plan(net, 64, Constraints(output_stride=4))[0]
    >>> [s.stride for s in best.steps], best.output_size, best.rf   # 1 + 2 + 2·2 + 2·4·2
    ([2, 2, 1, 1], 16, 23)
    >>> best.steps[1].volume_drop   # 16·32² → 32·16²
    Fraction(2, 1)
    >>> narrow = [Layer(3, 16), Layer(3, 32), Layer(3, 32), Layer(3, 32)]  # grows twice
    >>> [s.stride for s in plan(narrow, 64, Constraints(output_stride=8))[0].steps]
    [2, 2, 2, 1]
    >>> prefer = Constraints(output_stride=8, preferred_volume_drop=Fraction(2))
    >>> late = plan(narrow, 64, prefer)[0]   # the third stride cannot double the channels
    >>> [s.stride for s in late.steps], late.bottlenecks, late.steps[3].volume_drop
    ([2, 2, 1, 2], (3,), Fraction(4, 1))
    """
    if not template:
        raise UsageError("the template has no layers")
    unknown = set(constraints.paddings) - set(PADDINGS)
    if unknown or not constraints.paddings:
        raise ChoiceError(
            f"paddings must be among {', '.join(PADDINGS)}, got {constraints.paddings}"
        )
    check_size(input_size, "input size")
    for name in ("max_volume_drop", "preferred_volume_drop"):
        drop = getattr(constraints, name)
        if drop is not None and not drop >= 1:
            raise UsageError(
                f"{name} {drop} must be >= 1 (1: no layer may shrink C·H·W; 2: by at most "
                "half); leave it unset for no limit"
            )
    if not 1 <= top <= MAX_TOP:
        raise UsageError(
            f"top must be in 1..{MAX_TOP}, got {top}: the search keeps that many plans per "
            "state, so its time grows with it"
        )
    target = constraints.output_stride
    states: dict[tuple[int, int, frozenset[int]], list[_Partial]] = {
        (1, input_size, frozenset()): [_Partial(0, 1, ())]
    }
    c_in = input_channels
    # a plan's better rank can cost more MACs only when a preference ranks before MACs
    by_macs = constraints.max_macs is not None and constraints.preferred_volume_drop is not None
    rank = _ranking(constraints)
    for index, layer in enumerate(template):
        bit = excess_bit(index, len(template))
        following: dict[tuple[int, int, frozenset[int]], list[_Partial]] = {}
        for (jump, n, _), partials in states.items():
            for stride in constraints.strides:
                if target is not None and target % (jump * stride):
                    continue  # the jump only grows: it must stay a divisor of the target
                choices = [
                    (stride, dilation, padding)
                    for dilation in constraints.dilations
                    for padding in constraints.paddings
                ]
                for choice in choices:
                    for partial in partials:
                        moved = _advance(partial, layer, c_in, n, jump, choice, constraints, bit)
                        if moved is None:
                            continue
                        out, new_jump, new = moved
                        if constraints.max_macs is not None and new.macs > constraints.max_macs:
                            continue
                        wanted = frozenset(lv for lv in new.levels if lv in constraints.levels)
                        following.setdefault((new_jump, out, wanted), []).append(new)
        states = {key: _prune(partials, top, rank, by_macs) for key, partials in following.items()}
        c_in = layer.channels
    finals = [p for partials in states.values() for p in partials]
    feasible = [p for p in finals if _meets(p, constraints)]
    if not feasible and constraints.max_macs is not None:
        try:  # is it the budget? find the cheapest plan that meets everything else
            relaxed = replace(constraints, max_macs=None, preferred_volume_drop=None)
            cheapest = plan(template, input_size, relaxed, input_channels=input_channels, top=1)[0]
        except Infeasible:
            pass
        else:
            raise Infeasible(
                f"no plan fits in {constraints.max_macs:,} MACs: the cheapest that meets the "
                f"other constraints needs {cheapest.macs:,} "
                f"({cheapest.macs - constraints.max_macs:,} over)"
            )
    if not feasible and constraints.max_volume_drop is not None:
        _explain_bottleneck(template, input_size, constraints, input_channels)
    if not feasible:
        raise Infeasible(_why(finals, constraints))
    feasible.sort(key=rank)
    preferred = constraints.preferred_volume_drop
    return [Plan(p.steps, p.macs, tuple(template), preferred) for p in feasible[:top]]


def _explain_bottleneck(
    template: Sequence[Layer], input_size: int, constraints: Constraints, input_channels: int
) -> None:
    """When the volume limit is what makes the plan infeasible, say where it bites: in the
    plan that meets the other constraints with the fewest layers over it, as late as
    possible (the hard limit becomes the preference)."""
    limit = constraints.max_volume_drop
    try:
        relaxed = replace(constraints, max_volume_drop=None, preferred_volume_drop=limit)
        best = plan(template, input_size, relaxed, input_channels=input_channels, top=1)[0]
    except Infeasible:
        return
    over = best.bottlenecks
    if not over:  # the limit is not what prunes (the search said infeasible with it)
        return
    where = [f"{drop_text(best.steps[i].volume_drop)}x at layer {i}" for i in over]
    strides = " ".join(str(s.stride) for s in best.steps)
    raise Infeasible(
        f"no plan keeps every layer's volume drop C·H·W within {limit}: the plan that meets "
        f"the other constraints with the fewest layers over it ({strides}) shrinks it "
        f"{', '.join(where)}; raise --max-volume-drop, or widen the template where it "
        "downsamples"
    )


def _meets(p: _Partial, c: Constraints) -> bool:
    last = p.steps[-1]
    return (
        (c.output_stride is None or last.jump == c.output_stride)
        and (c.output_size is None or last.output_size == c.output_size)
        and (c.min_rf is None or p.rf >= c.min_rf)
        and set(c.levels) <= p.levels
    )


def _violations(p: _Partial, c: Constraints) -> list[str]:
    last, missed = p.steps[-1], []
    if c.output_stride is not None and last.jump != c.output_stride:
        missed.append(f"output stride {last.jump} instead of {c.output_stride}")
    if c.output_size is not None and last.output_size != c.output_size:
        missed.append(f"output size {last.output_size} instead of {c.output_size}")
    if c.min_rf is not None and p.rf < c.min_rf:
        missed.append(f"receptive field {p.rf}, {c.min_rf - p.rf} short of {c.min_rf}")
    absent = sorted(set(c.levels) - p.levels)
    if absent:
        missed.append(f"no feature map at stride {', '.join(map(str, absent))}")
    return missed


def _why(finals: list[_Partial], c: Constraints) -> str:
    if not finals:
        return "no stride placement gives every layer an output within the MACs budget"
    closest = min(finals, key=lambda p: (len(_violations(p, c)), p.macs))
    return (
        "no plan meets the constraints; the closest one ("
        + " ".join(str(step.stride) for step in closest.steps)
        + ") has "
        + "; ".join(_violations(closest, c))
    )
