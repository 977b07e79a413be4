"""The planner against exhaustive search, and its answers when nothing fits."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

import stridekit
from stridekit.design.plan import Constraints, Infeasible, Layer, plan
from stridekit.design.plan_report import plan_findings, plan_spec
from stridekit.design.presets import family, task_constraints
from stridekit.geometry import Window
from tests.design.exhaustive import exhaustive

TEMPLATES = {
    "plain5": [Layer(3, 8), Layer(3, 16), Layer(3, 16), Layer(3, 32), Layer(3, 32)],
    "mixed5": [Layer(7, 8), Layer(1, 16), Layer(3, 16), Layer(5, 32), Layer(3, 64)],
    "wide_then_narrow": [Layer(3, 64), Layer(3, 8), Layer(3, 64), Layer(3, 8), Layer(3, 64)],
}
CONSTRAINTS = {
    "stride4": Constraints(output_stride=4),
    "stride8_rf": Constraints(output_stride=8, min_rf=40),
    "stride6": Constraints(output_stride=6),
    "size_7": Constraints(output_size=7),
    "dilated_stride2_rf": Constraints(output_stride=2, min_rf=30, dilations=(1, 2)),
    "levels": Constraints(output_stride=8, levels=(2, 4, 8)),
    "gaps_allowed": Constraints(output_stride=16, allow_gaps=True),
    "valid_or_same_size_9": Constraints(output_size=9, paddings=("same", "valid")),
    "bottleneck_2": Constraints(output_stride=4, max_volume_drop=Fraction(2)),
    "bottleneck_3/2_valid": Constraints(
        output_size=12, paddings=("same", "valid"), max_volume_drop=Fraction(3, 2)
    ),
}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("constraint", sorted(CONSTRAINTS))
def test_optimum_equals_exhaustive_search(template: str, constraint: str) -> None:
    layers, c = TEMPLATES[template], CONSTRAINTS[constraint]
    expected = exhaustive(layers, 56, c)
    if expected is None:
        with pytest.raises(Infeasible):
            plan(layers, 56, c)
        return
    best = plan(layers, 56, c)[0]
    assert best.macs == expected[0]


def test_plans_are_ranked_and_sizes_match_the_geometry() -> None:
    layers = family("plain8")
    plans = plan(layers, 64, Constraints(output_stride=8), top=5)
    assert [p.macs for p in plans] == sorted(p.macs for p in plans)
    for p in plans:
        n = 64
        for window, step in zip(p.windows(layers), p.steps, strict=True):
            n = window.output_size(n)
            assert step.output_size == n
        assert p.output_stride == 8


def test_receptive_field_out_of_reach_says_by_how_much() -> None:
    # three 3x3 convs, strides 2 at most: rf ≤ 1 + 2·1 + 2·2 + 2·4 = 15 with strides 2,2,2
    with pytest.raises(Infeasible, match=r"short of 100"):
        plan([Layer(3, 8)] * 3, 64, Constraints(min_rf=100, strides=(1, 2)))


def test_budget_too_small_says_by_how_much() -> None:
    with pytest.raises(Infeasible, match=r"over\)"):
        plan(family("plain8"), 224, Constraints(output_stride=8, max_macs=1000))


def test_unreachable_stride_is_explained() -> None:
    with pytest.raises(Infeasible, match="output stride"):
        plan([Layer(3, 8)] * 2, 64, Constraints(output_stride=5))


@pytest.mark.parametrize("task", ["classification", "segmentation", "detection", "small-objects"])
def test_task_presets_give_plans_without_warnings(task: str) -> None:
    layers = family("plain12")
    constraints = task_constraints(task, 128)
    best = plan(layers, 128, constraints)[0]
    assert best.output_stride == constraints.output_stride
    warnings = [f for f in plan_findings(layers, best, 128) if f.severity.rank >= 1]
    if task != "segmentation":  # dilated plans may grid; the doctor says so
        assert warnings == []


def test_small_objects_uses_space_to_depth_cost() -> None:
    layers = [Layer(3, 8)] * 4
    spd = plan(layers, 32, Constraints(output_stride=4, space_to_depth=True))[0]
    strided = plan(layers, 32, Constraints(output_stride=4))[0]
    # SPD keeps every pixel but runs its conv on s²·c channels: dearer than a strided conv
    assert spd.macs > strided.macs


def test_spec_round_trip_has_the_plan_windows() -> None:
    layers = [Layer(3, 8), Layer(3, 16)]
    best = plan(layers, 32, Constraints(output_stride=2))[0]
    spec = yaml.safe_load(yaml.safe_dump(plan_spec(layers, best, 32)))
    convs = [layer for layer in spec["layers"] if layer["type"] == "conv"]
    assert [Window(c["kernel"], c["stride"], c["dilation"], c["padding"]) for c in convs] == [
        Window(w.kernel, w.stride, w.dilation, w.padding) for w in best.windows(layers)
    ]


@pytest.mark.parametrize("space_to_depth", [False, True])
def test_plan_spec_reads_back_into_the_same_network(tmp_path: Path, space_to_depth: bool) -> None:
    layers = [Layer(3, 8)] * 4
    best = plan(layers, 32, Constraints(output_stride=4, space_to_depth=space_to_depth))[0]
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan_spec(layers, best, 32)))
    analysis = stridekit.analyze(str(path), None)
    assert analysis.output_stride == (Fraction(4),) * 2
    assert analysis.receptive_field == (Fraction(best.rf),) * 2
    assert analysis.total_macs == best.macs


@pytest.mark.parametrize(("name", "size"), [("plain12", 128), ("plain20", 224), ("resnet18", 224)])
def test_the_bottleneck_preset_puts_strides_where_channels_grow(name: str, size: int) -> None:
    layers = family(name)
    constraints = task_constraints("classification", size)
    best = plan(layers, size, constraints)[0]
    channels = [3] + [layer.channels for layer in layers]
    n = size
    for i, step in enumerate(best.steps):
        # the oracle: C·H·W before and after, counted from the sizes the geometry gives
        assert channels[i] * n * n <= 2 * channels[i + 1] * step.output_size**2
        if step.stride > 1:
            assert channels[i + 1] >= 2 * channels[i] or i == 0
        n = step.output_size
    unconstrained = plan(layers, size, replace(constraints, max_volume_drop=None))[0]
    assert best.macs >= unconstrained.macs


def test_a_bottleneck_that_cannot_be_met_says_where_it_bites() -> None:
    # VGG16 widens three times (64 → 128 → 256 → 512): with the stem, four strides of 2;
    # the fifth must shrink C·H·W 4x somewhere
    with pytest.raises(Infeasible, match=r"within 2: .* shrinks it 4x at layer"):
        plan(family("vgg16"), 224, task_constraints("classification", 224))


def test_a_volume_drop_below_one_is_refused() -> None:
    with pytest.raises(stridekit.StrideError, match="must be >= 1"):
        plan(family("plain4"), 32, Constraints(output_stride=2, max_volume_drop=Fraction(1, 2)))
