"""``stridekit plan``: the cheapest stride placements for a template, a task and a budget."""

from __future__ import annotations

import math
from pathlib import Path

import typer
import yaml

from stridekit.cli.app import app
from stridekit.cli.output import Format, emit
from stridekit.design.plan import Constraints
from stridekit.design.plan_report import plan_report
from stridekit.design.presets import (
    TASKS,
    family,
    load_template,
    task_constraints,
    with_overrides,
    with_volume_drop,
)
from stridekit.errors import UsageError
from stridekit.geometry.notation import parse_drop, parse_ints, parse_sizes
from stridekit.objects import parse_objects


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
    max_volume_drop: str = typer.Option(
        None,
        "--max-volume-drop",
        help="Largest factor by which one layer may shrink C*H*W, a hard limit (e.g. 4), or "
        "'off'. The task presets prefer 2 without requiring it: the plans with the fewest "
        "layers over 2 (the first as late as possible) rank first; 'off' lifts that too.",
    ),
    objects: list[str] = typer.Option(
        None,
        "--objects",
        help="Detection: object sizes in input pixels (a range 8:256, a list 8,16,32, "
        "repeatable); the levels are chosen to serve them, one per octave.",
    ),
    top: int = typer.Option(5, "--top", help="How many plans to show."),
    write_spec: Path = typer.Option(None, "--write-spec", help="Write the best plan as a spec."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Place strides (1-4), dilations and paddings to meet a task's constraints at least cost.

    Example: stridekit plan --template vgg16 --input 224 --task classification
    Detection: stridekit plan --task detection --objects 8:256 --input 640
    """
    size = parse_sizes(input_size, "input")[0]
    sizes = None if objects is None else parse_objects(objects)
    if sizes is not None and task is None:
        task = "detection"  # object sizes say what the plan is for
    if Path(template).suffix in (".yaml", ".yml", ".json"):
        layers, channels = load_template(template)
    else:
        layers, channels = family(template), 3
    if task is None and output_stride is None and output_size is None:
        raise UsageError("give a --task, or an --output-stride or --output-size to plan for")
    base = task_constraints(task, size, sizes) if task else Constraints()
    if max_macs is not None and max_flops is not None:
        raise UsageError("give --max-macs or --max-flops, not both")
    for option, value in (("--max-macs", max_macs), ("--max-flops", max_flops)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise UsageError(f"{option} {value}: give a finite budget >= 0, e.g. 2e9")
    budget = max_macs if max_macs is not None else None
    if max_flops is not None:
        budget = max_flops / 2  # two FLOPs per multiply-accumulate
    constraints = with_overrides(
        base,
        output_stride=output_stride,
        output_size=output_size,
        min_rf=min_rf,
        max_macs=int(budget) if budget is not None else None,
        paddings=tuple(p.strip() for p in paddings.split(",")),
        dilations=parse_ints(dilations, "dilations", 1) if dilations else None,
    )
    if max_volume_drop is not None:
        constraints = with_volume_drop(constraints, parse_drop(max_volume_drop))
    report = plan_report(
        template,
        layers,
        size,
        constraints,
        input_channels=channels,
        top=top,
        task=task,
        objects=sizes,
    )
    if write_spec is not None:
        write_spec.write_text(yaml.safe_dump(report.spec(), sort_keys=False))
    emit(report, fmt)
