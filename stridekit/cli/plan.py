"""``stridekit plan``: the cheapest stride placements for a template, a task and a budget."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
import yaml
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.cli.parsing import UsageError, parse_ints
from stridekit.design.plan import Constraints, Layer, Plan, plan
from stridekit.design.plan_report import plan_findings, plan_spec
from stridekit.design.presets import TASKS, family, load_template, task_constraints, with_overrides
from stridekit.doctor import Finding
from stridekit.render import human


def _tables(
    template: list[Layer], plans: list[Plan], findings: list[list[Finding]], size: int
) -> list[RenderableType]:
    ranking = Table(title=f"{len(plans)} plans for {len(template)} layers at {size}")
    columns = ("rank", "strides", "dilations", "paddings", "output", "stride", "rf", "FLOPs")
    for column in (*columns, "findings"):
        ranking.add_column(column)
    for rank, (p, found) in enumerate(zip(plans, findings, strict=True), 1):
        warnings = sum(f.severity.rank >= 1 for f in found)
        ranking.add_row(
            str(rank),
            " ".join(str(s.stride) for s in p.steps),
            " ".join(str(s.dilation) for s in p.steps),
            " ".join(str(s.padding) for s in p.steps),
            str(p.output_size),
            str(p.output_stride),
            str(p.rf),
            human(2 * p.macs),
            f"{warnings} warnings, {len(found) - warnings} info",
        )
    best = Table(title="best plan, layer by layer")
    for column in (
        "layer",
        "kernel",
        "channels",
        "stride",
        "dilation",
        "padding",
        "out",
        "jump",
        "rf",
        "MACs",
    ):
        best.add_column(column)
    for i, (layer, s) in enumerate(zip(template, plans[0].steps, strict=True)):
        best.add_row(
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
    counts = Counter((f.severity.value, f.code) for f in findings[0])
    notes = [f"{n} x {severity} {code}" for (severity, code), n in sorted(counts.items())]
    summary = "best plan's findings: " + (", ".join(notes) or "none")
    return [ranking, best, Text(summary + " (stridekit doctor on --write-spec shows them all)")]


@app.command("plan")
def plan_command(
    template: str = typer.Option(
        "plain20",
        "--template",
        help="A spec file of conv layers, or a family: vgg16, resnet18, plainN.",
    ),
    input_size: str = typer.Option("224", "--input", help="Input size (square), e.g. 224."),
    task: str = typer.Option(None, "--task", help=f"Preset: {', '.join(TASKS)}."),
    output_stride: int = typer.Option(None, "--output-stride", help="Target output stride."),
    output_size: int = typer.Option(None, "--output-size", help="Target output size."),
    min_rf: int = typer.Option(None, "--min-rf", help="Minimum receptive field."),
    max_macs: float = typer.Option(None, "--max-macs", help="Largest MACs allowed (e.g. 2e9)."),
    max_flops: float = typer.Option(
        None, "--max-flops", help="Largest FLOPs allowed (2 per multiply-accumulate)."
    ),
    paddings: str = typer.Option(
        "same",
        "--paddings",
        help="Paddings to try: same ((e-1)//2 each side), valid, or same,valid.",
    ),
    dilations: str = typer.Option(None, "--dilations", help="Dilations to try, e.g. 1x2x4."),
    top: int = typer.Option(5, "--top", help="How many plans to show."),
    write_spec: Path = typer.Option(None, "--write-spec", help="Write the best plan as a spec."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Place strides (1-4), dilations and paddings to meet a task's constraints at least cost.

    Example: stridekit plan --template vgg16 --input 224 --task classification
    """
    size = parse_ints(input_size, "input")[0]
    if Path(template).suffix in (".yaml", ".yml", ".json"):
        layers, channels = load_template(template)
    else:
        layers, channels = family(template), 3
    if task is None and output_stride is None and output_size is None:
        raise UsageError("give a --task, or an --output-stride or --output-size to plan for")
    base = task_constraints(task, size) if task else Constraints()
    if max_macs is not None and max_flops is not None:
        raise UsageError("give --max-macs or --max-flops, not both")
    budget = max_macs if max_macs is not None else (max_flops / 2 if max_flops else None)
    constraints = with_overrides(
        base,
        output_stride=output_stride,
        output_size=output_size,
        min_rf=min_rf,
        max_macs=int(budget) if budget is not None else None,
        paddings=tuple(p.strip() for p in paddings.split(",")),
        dilations=parse_ints(dilations, "dilations") if dilations else None,
    )
    plans = plan(layers, size, constraints, input_channels=channels, top=top)
    findings = [plan_findings(layers, p, size, channels) for p in plans]
    if write_spec is not None:
        write_spec.write_text(
            yaml.safe_dump(plan_spec(layers, plans[0], size, channels), sort_keys=False)
        )
    data = {
        "template": template,
        "input_size": size,
        "task": task,
        "plans": [
            {**p.to_dict(), "findings": [f.to_dict() for f in found]}
            for p, found in zip(plans, findings, strict=True)
        ],
    }
    emit(fmt, data, lambda: _tables(layers, plans, findings, size))
