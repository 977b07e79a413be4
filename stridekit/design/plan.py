"""The stride planner: where to put strides (and dilations) in a layer template.

A template is a chain of convolutions (kernel, output channels). A plan gives every layer
a stride in ``{1, 2, 3, 4}``, a dilation and the padding ``(e − 1)//2`` each side. Its cost
is the MACs ``Σ n_i² · k_i² · c_in · c_out`` (``n_i`` the layer's output size), its field
grows as ``rf += (e − 1)·J`` and its jump as ``J *= s``.

The representational-bottleneck constraint (Szegedy et al. 2016, "avoid bottlenecks,
especially early"): with ``max_volume_drop = f`` no layer may shrink the activation volume
``C·H·W`` by more than ``f``, i.e. ``c_in·n_in² ≤ f·c_out·n_out²`` (exact, in integers and
Fractions). A stride of 2 divides ``H·W`` by 4, so with ``f = 2`` it lands only where the
channels at least double: where the network widens, not in the first layers because
they are cheapest.

The search is a dynamic programme over layers whose state is ``(J, n)`` (cumulative
stride and current size): every plan reaching a state has the same future, so only the
plans on the Pareto front of (cost low, receptive field high) need to be kept there.
Exact, and polynomial in the number of layers where brute force is ``(|S|·|D|)^L``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from rich.console import RenderableType
from rich.table import Table

from stridekit.errors import ChoiceError, Infeasible, UsageError
from stridekit.geometry import Window
from stridekit.geometry.limits import check_size
from stridekit.render import Result, human, table

__all__ = ["PADDINGS", "Constraints", "Infeasible", "Layer", "Plan", "Step", "plan"]
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
    max_volume_drop: Fraction | None = None  # largest c_in·n_in² / (c_out·n_out²) of a layer


def volume_drop(c_in: int, n_in: int, c_out: int, n_out: int) -> Fraction:
    """How many times a layer shrinks the activation volume ``C·H·W`` (square maps).

    >>> volume_drop(64, 56, 64, 28), volume_drop(64, 56, 128, 28), volume_drop(3, 224, 64, 112)
    (Fraction(4, 1), Fraction(2, 1), Fraction(3, 16))
    """
    return Fraction(c_in * n_in * n_in, c_out * n_out * n_out)


@dataclass(frozen=True)
class Step:
    stride: int
    dilation: int
    padding: int
    output_size: int
    jump: int
    rf: int
    macs: int
    space_to_depth: bool = False  # a (stride × stride) space-to-depth, then a stride-1 conv


@dataclass(frozen=True)
class Plan(Result):
    """A stride placement with its per-layer sizes, fields and cost, for ``template``."""

    steps: tuple[Step, ...]
    macs: int
    template: tuple[Layer, ...] = ()

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
        """Each layer's kernel, channels, stride, dilation, padding, size, jump, field, MACs."""
        columns = ("layer", "kernel", "channels", "stride", "dilation", "padding", "out")
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
            )
            for i, (layer, s) in enumerate(zip(self.template, self.steps, strict=True))
        )
        return table(title, (*columns, "jump", "rf", "MACs"), rows)

    def __rich__(self) -> RenderableType:
        return self.layer_table()

    def to_dict(self) -> dict[str, Any]:
        return {
            "macs": self.macs,
            "output_stride": self.output_stride,
            "output_size": self.output_size,
            "receptive_field": self.rf,
            "layers": [s.__dict__ for s in self.steps],
        }


@dataclass
class _Partial:
    macs: int
    rf: int
    steps: tuple[Step, ...]
    levels: frozenset[int] = field(default_factory=frozenset)


def _prune(partials: Iterable[_Partial], keep: int) -> list[_Partial]:
    """Keep the Pareto front of (cost low, field high) and the ``keep`` cheapest."""
    ordered = sorted(partials, key=lambda p: (p.macs, -p.rf))
    kept: list[_Partial] = []
    best_rf = 0
    for rank, p in enumerate(ordered):
        if rank < keep or p.rf > best_rf:
            kept.append(p)
        best_rf = max(best_rf, p.rf)
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
    if (
        c.max_volume_drop is not None
        and volume_drop(c_in, n, layer.channels, out) > c.max_volume_drop
    ):
        return None  # a representational bottleneck
    if spd:  # the s×s block widens the field first, then the conv runs on the new grid
        rf = partial.rf + (stride - 1) * jump + (extent - 1) * jump * stride
    else:
        rf = partial.rf + (extent - 1) * jump
    step = Step(stride, dilation, pad, out, jump * stride, rf, macs, spd)
    levels = partial.levels | {jump * stride}
    return out, jump * stride, _Partial(partial.macs + macs, rf, (*partial.steps, step), levels)


def plan(
    template: Sequence[Layer],
    input_size: int,
    constraints: Constraints,
    *,
    input_channels: int = 3,
    top: int = 5,
) -> list[Plan]:
    """The cheapest plans (by MACs) that meet ``constraints``, best first.

    The first plan is the exact optimum. Each state also keeps its ``top`` cheapest
    partial plans, so the ranking is exact when no receptive-field constraint prunes.

    >>> net = [Layer(3, 16), Layer(3, 32), Layer(3, 64), Layer(3, 64)]
    >>> best = plan(net, 64, Constraints(output_stride=4))[0]
    >>> [s.stride for s in best.steps], best.output_size, best.rf   # 1 + 2 + 2·2 + 2·4·2
    ([2, 2, 1, 1], 16, 23)
    """
    if not template:
        raise UsageError("the template has no layers")
    unknown = set(constraints.paddings) - set(PADDINGS)
    if unknown or not constraints.paddings:
        raise ChoiceError(
            f"paddings must be among {', '.join(PADDINGS)}, got {constraints.paddings}"
        )
    check_size(input_size, "input size")
    drop = constraints.max_volume_drop
    if drop is not None and not drop >= 1:
        raise UsageError(
            f"max_volume_drop {drop} must be >= 1 (1: no layer may shrink C·H·W; 2: by at most "
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
    for layer in template:
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
                        moved = _advance(partial, layer, c_in, n, jump, choice, constraints)
                        if moved is None:
                            continue
                        out, new_jump, new = moved
                        if constraints.max_macs is not None and new.macs > constraints.max_macs:
                            continue
                        wanted = frozenset(lv for lv in new.levels if lv in constraints.levels)
                        following.setdefault((new_jump, out, wanted), []).append(new)
        states = {key: _prune(partials, top) for key, partials in following.items()}
        c_in = layer.channels
    finals = [p for partials in states.values() for p in partials]
    feasible = [p for p in finals if _meets(p, constraints)]
    if not feasible and constraints.max_macs is not None:
        try:  # is it the budget? find the cheapest plan that meets everything else
            relaxed = replace(constraints, max_macs=None)
            cheapest = plan(template, input_size, relaxed, input_channels=input_channels, top=1)[0]
        except Infeasible:
            pass
        else:
            raise Infeasible(
                f"no plan fits in {constraints.max_macs:,} MACs: the cheapest that meets the "
                f"other constraints needs {cheapest.macs:,} "
                f"({cheapest.macs - constraints.max_macs:,} over)"
            )
    if not feasible and drop is not None:
        _explain_bottleneck(template, input_size, constraints, input_channels)
    if not feasible:
        raise Infeasible(_why(finals, constraints))
    feasible.sort(key=lambda p: (p.macs, -p.rf))
    return [Plan(p.steps, p.macs, tuple(template)) for p in feasible[:top]]


def _explain_bottleneck(
    template: Sequence[Layer], input_size: int, constraints: Constraints, input_channels: int
) -> None:
    """When the volume limit is what makes the plan infeasible, say where it bites."""
    try:
        relaxed = replace(constraints, max_volume_drop=None)
        cheapest = plan(template, input_size, relaxed, input_channels=input_channels, top=1)[0]
    except Infeasible:
        return
    c_in, n, worst = input_channels, input_size, (Fraction(0), 0)
    for index, (layer, step) in enumerate(zip(template, cheapest.steps, strict=True)):
        drop = volume_drop(c_in, n, layer.channels, step.output_size)
        worst = max(worst, (drop, index))
        c_in, n = layer.channels, step.output_size
    drop, index = worst
    strides = " ".join(str(s.stride) for s in cheapest.steps)
    raise Infeasible(
        f"no plan keeps every layer's volume drop C·H·W within {constraints.max_volume_drop}: "
        f"the cheapest plan that meets the other constraints ({strides}) shrinks it "
        f"{float(drop):.3g}x at layer {index}; raise --max-volume-drop, or widen the "
        "template where it downsamples"
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
