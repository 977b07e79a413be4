"""Plans as results: the ranked plans with the doctor's findings (`PlanReport`), a plan as
a graph (for the doctor) and as a spec file (for the analysis)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from stridekit.analysis import analyze_graph
from stridekit.design.bottleneck import drop_text
from stridekit.design.detection import plan_coverage
from stridekit.design.plan import Constraints, Infeasible, Layer, Plan, plan
from stridekit.doctor import Finding, doctor
from stridekit.geometry import Window
from stridekit.graph import Graph, Node
from stridekit.object_coverage import ObjectCoverage
from stridekit.objects import MIN_CELLS, ObjectSizes
from stridekit.render import Result, human, table


def plan_graph(
    template: Sequence[Layer], plan: Plan, input_size: int, input_channels: int = 3
) -> Graph:
    """The plan as a chain of conv nodes ending in global pooling.

    >>> from stridekit.design.plan import Constraints, plan as make_plan
    >>> net = [Layer(3, 8), Layer(3, 8)]
    >>> g = plan_graph(net, make_plan(net, 32, Constraints(output_stride=2))[0], 32)
    >>> [n.output_shape for n in g.nodes]
    [(1, 3, 32, 32), (1, 8, 16, 16), (1, 8, 16, 16), (1, 8, 1, 1)]
    """
    graph = Graph(input_shape=(1, input_channels, input_size, input_size), name="plan")
    source, channels, size = "input", input_channels, input_size
    for i, (layer, window, step) in enumerate(
        zip(template, plan.windows(template), plan.steps, strict=True)
    ):
        if step.space_to_depth:  # space-to-depth is exactly an s×s window with stride s
            block = Window(step.stride, step.stride)
            blocked = size // step.stride
            unshuffled = (1, channels * step.stride**2, blocked, blocked)
            graph.add(
                Node(
                    f"space_to_depth{i}",
                    "pixel_unshuffle",
                    (source,),
                    ((1, channels, size, size),),
                    unshuffled,
                    axes=(block, block),
                )
            )
            source, channels, size = f"space_to_depth{i}", unshuffled[1], blocked
        name = f"conv{i}"
        shape = (1, layer.channels, step.output_size, step.output_size)
        graph.add(
            Node(
                name,
                "conv",
                (source,),
                ((1, channels, size, size),),
                shape,
                axes=(window, window),
                params=layer.kernel**2 * channels * layer.channels,  # no bias
                macs=step.macs,
                flops=2 * step.macs,
            )
        )
        source, channels, size = name, layer.channels, step.output_size
    graph.add(
        Node("pool", "global_pool", (source,), ((1, channels, size, size),), (1, channels, 1, 1))
    )
    return graph


def plan_findings(
    template: Sequence[Layer], plan: Plan, input_size: int, input_channels: int = 3
) -> list[Finding]:
    """The doctor's findings on the plan's network."""
    return list(
        doctor(analyze_graph(plan_graph(template, plan, input_size, input_channels))).findings
    )


def plan_spec(
    template: Sequence[Layer], plan: Plan, input_size: int, input_channels: int = 3
) -> dict[str, Any]:
    """The plan as a layer spec that `stridekit analyze` reads back."""
    layers: list[dict[str, Any]] = []
    for layer, step in zip(template, plan.steps, strict=True):
        if step.space_to_depth:
            layers.append({"type": "space_to_depth", "factor": step.stride})
        layers.append(
            {
                "type": "conv",
                "kernel": layer.kernel,
                "stride": 1 if step.space_to_depth else step.stride,
                "padding": step.padding,
                "dilation": step.dilation,
                "channels": layer.channels,
            }
        )
    layers.append({"type": "global_pool"})
    return {"name": "plan", "input": [1, input_channels, input_size, input_size], "layers": layers}


@dataclass(frozen=True)
class PlanReport(Result):
    """The best plans for a template, each with the doctor's findings on its network.

    >>> report = plan_report("tiny", [Layer(3, 8), Layer(3, 8)], 32, Constraints(output_stride=2))
    >>> [p["layers"][0]["stride"] for p in report.to_dict()["plans"]]
    [2, 1]
    """

    template_name: str
    template: tuple[Layer, ...]
    input_size: int
    plans: tuple[Plan, ...]
    findings: tuple[tuple[Finding, ...], ...]  # per plan
    task: str | None = None
    input_channels: int = 3
    bottleneck_note: str | None = None  # why the best plan has layers over the preferred drop
    objects: tuple[ObjectCoverage, ...] = ()  # per plan, with object sizes: the level of each

    def to_dict(self) -> dict[str, Any]:
        plans = []
        for i, (p, found) in enumerate(zip(self.plans, self.findings, strict=True)):
            entry = {**p.to_dict(), "findings": [f.to_dict() for f in found]}
            if self.objects:
                entry["objects"] = self.objects[i].to_dict()
            plans.append(entry)
        return {
            "template": self.template_name,
            "input_size": self.input_size,
            "task": self.task,
            "bottleneck_note": self.bottleneck_note,
            "plans": plans,
        }

    def spec(self) -> dict[str, Any]:
        """The best plan as a layer spec (`plan_spec`)."""
        return plan_spec(self.template, self.plans[0], self.input_size, self.input_channels)

    def __rich__(self) -> RenderableType:
        columns = ("rank", "strides", "dilations", "paddings", "output", "stride", "rf", "FLOPs")
        preferred = self.plans[0].preferred_volume_drop
        over = () if preferred is None else (f"over {drop_text(preferred)}x",)
        rows = []
        for rank, (p, found) in enumerate(zip(self.plans, self.findings, strict=True), 1):
            warnings = sum(f.severity.rank >= 1 for f in found)
            rows.append(
                (
                    str(rank),
                    " ".join(str(s.stride) for s in p.steps),
                    " ".join(str(s.dilation) for s in p.steps),
                    " ".join(str(s.padding) for s in p.steps),
                    str(p.output_size),
                    str(p.output_stride),
                    str(p.rf),
                    human(2 * p.macs),
                    *([" ".join(map(str, p.bottlenecks)) or "-"] if over else []),
                    f"{warnings} warnings, {len(found) - warnings} info",
                )
            )
        title = f"{len(self.plans)} plans for {len(self.template)} layers at {self.input_size}"
        ranking = table(title, (*columns, *over, "findings"), rows)
        counts = Counter((f.severity.value, f.code) for f in self.findings[0])
        notes = [f"{n} x {severity} {code}" for (severity, code), n in sorted(counts.items())]
        summary = "best plan's findings: " + (", ".join(notes) or "none")
        why = [Text(self.bottleneck_note)] if self.bottleneck_note else []
        levels = [self.objects[0].__rich__()] if self.objects else []
        return Group(
            ranking,
            self.plans[0].layer_table("best plan, layer by layer"),
            *levels,
            *why,
            Text(summary + " (stridekit doctor on --write-spec shows them all)"),
        )


def bottleneck_note(
    template: Sequence[Layer],
    best: Plan,
    input_size: int,
    constraints: Constraints,
    input_channels: int = 3,
) -> str | None:
    """Why the best plan (``plan(...)[0]`` under ``constraints``) has layers that shrink
    ``C·H·W`` more than the preferred volume drop; None when it has none.

    >>> from fractions import Fraction
    >>> net = [Layer(3, 16), Layer(3, 32), Layer(3, 32), Layer(3, 32)]
    >>> c = Constraints(output_stride=8, preferred_volume_drop=Fraction(2))
    >>> print(bottleneck_note(net, plan(net, 64, c)[0], 64, c))
    ! layer 3 shrinks C·H·W 4x, more than the preferred 2x (Szegedy et al. 2016: avoid bottlenecks, especially early): output stride 8 needs more downsampling than the channel growth allows (the channels grow at layers 0, 1); no plan that meets the constraints has fewer layers over 2x, nor as many placed later
    """  # noqa: E501
    over, limit = best.bottlenecks, best.preferred_volume_drop
    if not over or limit is None:
        return None
    drops = [drop_text(best.steps[i].volume_drop) + "x" for i in over]
    layers = f"layer {over[0]} shrinks" if len(over) == 1 else f"layers {_listed(over)} shrink"
    channels = [input_channels] + [layer.channels for layer in template]
    growth = [i for i in range(len(template)) if channels[i + 1] > channels[i]]
    if constraints.output_stride is not None:
        target = f"output stride {constraints.output_stride}"
    elif constraints.output_size is not None:
        target = f"output size {constraints.output_size}"
    else:
        target = "the target"
    cause = (
        f"{target} needs more downsampling than the channel growth allows (the channels grow "
        f"at {'no layer' if not growth else 'layers ' + _listed(growth)})"
    )
    extra = [name for name, value in _EARLY_CAUSES if getattr(constraints, value) is not None]
    if extra:  # is it the target, or a field or budget that pulls the strides early?
        relaxed = replace(constraints, min_rf=None, max_macs=None)
        try:
            free = plan(template, input_size, relaxed, input_channels=input_channels, top=1)[0]
        except Infeasible:
            free = None
        if free is not None and not free.bottlenecks:
            cause = (
                f"the {' and the '.join(extra)} {'pull' if len(extra) > 1 else 'pulls'} the "
                "strides earlier than the channels grow (without "
                f"{'them' if len(extra) > 1 else 'it'}, no layer need exceed {drop_text(limit)}x)"
            )
    return (
        f"! {layers} C·H·W {_listed(drops)}, more than the preferred {drop_text(limit)}x "
        f"(Szegedy et al. 2016: avoid bottlenecks, especially early): {cause}; no plan that "
        f"meets the constraints has fewer layers over {drop_text(limit)}x, nor as many placed "
        "later"
    )


_EARLY_CAUSES = (("receptive field asked for", "min_rf"), ("MACs budget", "max_macs"))


def _listed(items: Sequence[object]) -> str:
    return ", ".join(map(str, items))


def plan_report(
    template_name: str,
    template: Sequence[Layer],
    input_size: int,
    constraints: Constraints,
    *,
    input_channels: int = 3,
    top: int = 5,
    task: str | None = None,
    objects: ObjectSizes | None = None,
    min_cells: int = MIN_CELLS,
) -> PlanReport:
    """`plan` the template, then run the doctor over each plan's network; with
    ``objects``, explain each object size on each plan's levels (``constraints.levels``,
    `stridekit.design.detection`).

    >>> from stridekit.design.presets import family, task_constraints
    >>> from stridekit.objects import parse_objects
    >>> objects = parse_objects("8:32")
    >>> c = task_constraints("detection", 128, objects)     # levels 4, 8, 16
    >>> report = plan_report("plain8", family("plain8"), 128, c, top=1, objects=objects)
    >>> [(r.size, r.level.name, str(r.cells)) for r in report.objects[0].rows]
    [(8, 'P2', '2'), (16, 'P3', '2'), (32, 'P4', '2')]
    """
    plans = plan(template, input_size, constraints, input_channels=input_channels, top=top)
    findings = tuple(tuple(plan_findings(template, p, input_size, input_channels)) for p in plans)
    note = bottleneck_note(template, plans[0], input_size, constraints, input_channels)
    coverage: tuple[ObjectCoverage, ...] = ()
    if objects is not None:
        strides = sorted(constraints.levels)
        coverage = tuple(plan_coverage(p, objects, strides, min_cells) for p in plans)
    return PlanReport(
        template_name,
        tuple(template),
        input_size,
        tuple(plans),
        findings,
        task,
        input_channels,
        note,
        coverage,
    )
