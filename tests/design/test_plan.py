"""The planner against exhaustive search, and its answers when nothing fits."""

from __future__ import annotations

import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

import stridekit
from stridekit.design.plan import Constraints, Infeasible, Layer, Plan, plan
from stridekit.design.plan_report import bottleneck_note, plan_findings, plan_spec
from stridekit.design.presets import family, task_constraints, with_volume_drop
from stridekit.geometry import Window
from tests.design.exhaustive import exhaustive, exhaustive_all

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
    "prefer_2": Constraints(output_stride=8, preferred_volume_drop=Fraction(2)),
    "prefer_2_stride16": Constraints(output_stride=16, preferred_volume_drop=Fraction(2)),
    "prefer_1_levels": Constraints(
        output_stride=8, levels=(2, 4, 8), preferred_volume_drop=Fraction(1)
    ),
    "prefer_3/2_valid_rf": Constraints(
        output_stride=4,
        min_rf=25,
        paddings=("same", "valid"),
        preferred_volume_drop=Fraction(3, 2),
    ),
    "prefer_2_within_hard_4": Constraints(
        output_stride=16, preferred_volume_drop=Fraction(2), max_volume_drop=Fraction(4)
    ),
    "prefer_2_dilated_rf": Constraints(
        output_stride=4, min_rf=40, dilations=(1, 2), preferred_volume_drop=Fraction(2)
    ),
}


def ranked(p: Plan) -> tuple[int, tuple[int, ...], int]:
    """A plan's rank in the reference's terms: layers over, their lateness, MACs."""
    return len(p.bottlenecks), tuple(-i for i in p.bottlenecks), p.macs


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("constraint", sorted(CONSTRAINTS))
def test_optimum_equals_exhaustive_search(template: str, constraint: str) -> None:
    layers, c = TEMPLATES[template], CONSTRAINTS[constraint]
    expected = exhaustive(layers, 56, c)
    if expected is None:
        with pytest.raises(Infeasible):
            plan(layers, 56, c)
        return
    # top=1 keeps one plan per state beyond the Pareto front: the pruning alone is exact
    assert ranked(plan(layers, 56, c, top=1)[0]) == expected.key
    assert ranked(plan(layers, 56, c)[0]) == expected.key


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize(
    "constraint", sorted(k for k, c in CONSTRAINTS.items() if c.min_rf is None)
)
def test_ranking_equals_exhaustive_search(template: str, constraint: str) -> None:
    # without a field to reach, the top plans are exact, not only the first
    layers, c = TEMPLATES[template], CONSTRAINTS[constraint]
    expected = [r.key for r in exhaustive_all(layers, 56, c)[:5]]
    if not expected:
        with pytest.raises(Infeasible):
            plan(layers, 56, c, top=5)
        return
    assert [ranked(p) for p in plan(layers, 56, c, top=5)] == expected


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("over_budget", [1, 1000])
def test_a_budget_trades_the_preference_for_macs_exactly(template: str, over_budget: int) -> None:
    # a budget just under the preferred plan's MACs: the plan that fits may have to put a
    # layer over the preferred drop, or earlier; a plan ranked better at some state but
    # dearer must not have been pruned for it
    layers = TEMPLATES[template]
    c = Constraints(output_stride=8, preferred_volume_drop=Fraction(1))
    preferred = exhaustive(layers, 56, c)
    assert preferred is not None
    budgeted = replace(c, max_macs=preferred.macs - over_budget)
    expected = exhaustive(layers, 56, budgeted)
    if expected is None:
        with pytest.raises(Infeasible, match="over"):
            plan(layers, 56, budgeted)
        return
    assert ranked(plan(layers, 56, budgeted, top=1)[0]) == expected.key


def test_under_a_budget_a_better_ranked_but_dearer_plan_does_not_prune_a_cheaper_one() -> None:
    # found by random search against the reference with the pruning on (rank, field) alone:
    # at some state the plan whose layer over 3/2 comes later costs more MACs, and only the
    # one with it earlier completes within the budget
    layers = [Layer(1, 4), Layer(3, 16), Layer(5, 32), Layer(1, 16), Layer(1, 8)]
    c = Constraints(
        output_stride=4,
        min_rf=5,
        max_macs=487_728,
        allow_gaps=True,
        preferred_volume_drop=Fraction(3, 2),
    )
    expected = exhaustive(layers, 11, c)
    assert expected is not None and expected.bottlenecks == (2, 3, 4)
    assert ranked(plan(layers, 11, c, top=1)[0]) == expected.key


@st.composite
def planning_problems(draw: st.DrawFn) -> tuple[list[Layer], int, Constraints]:
    """A small template, an input size and constraints, most with a volume-drop preference."""
    depth = draw(st.integers(2, 5))
    layers = [
        Layer(draw(st.sampled_from([1, 3, 5])), draw(st.sampled_from([4, 8, 16, 32])))
        for _ in range(depth)
    ]
    strides = tuple(sorted(draw(st.sets(st.sampled_from([3, 4]), max_size=2)) | {1, 2}))
    roomy = depth <= 3  # more choices per layer only where brute force stays small
    dilations = draw(st.sampled_from([(1,), (1, 2)])) if roomy else (1,)
    paddings = draw(st.sampled_from([("same",), ("same", "valid")])) if roomy else ("same",)
    drops = [Fraction(1), Fraction(3, 2), Fraction(2), Fraction(4)]
    size = draw(st.integers(8, 40))
    constraints = Constraints(
        output_stride=draw(st.sampled_from([None, 2, 4, 4, 8, 8])),
        min_rf=draw(st.sampled_from([None, None, 5, 9, 15])),
        allow_gaps=draw(st.booleans()),
        strides=strides,
        dilations=dilations,
        paddings=paddings,
        preferred_volume_drop=draw(st.sampled_from([None, *drops])),
        max_volume_drop=draw(st.sampled_from([None, None, Fraction(4), Fraction(16)])),
    )
    if constraints.output_stride is None:  # a size some halvings give
        constraints = replace(constraints, output_size=-(-size // draw(st.sampled_from([2, 4]))))
    return layers, size, constraints


@settings(max_examples=200, deadline=None)
@given(planning_problems(), st.data())
def test_optimum_equals_exhaustive_search_on_random_problems(
    problem: tuple[list[Layer], int, Constraints], data: st.DataObject
) -> None:
    layers, size, c = problem
    found = exhaustive_all(layers, size, c)
    if found and data.draw(st.booleans(), label="with a budget"):
        # a budget exactly at some plan's MACs: where the preference and MACs trade off
        budget = data.draw(st.sampled_from(sorted({r.macs for r in found})), label="budget")
        c = replace(c, max_macs=budget)
        found = exhaustive_all(layers, size, c)
    event("infeasible" if not found else f"best plan: {found[0].over} layers over")
    if not found:
        with pytest.raises(Infeasible):
            plan(layers, size, c)
        return
    assert ranked(plan(layers, size, c, top=1)[0]) == found[0].key  # the pruning alone
    plans = plan(layers, size, c, top=5)
    assert ranked(plans[0]) == found[0].key
    exact_ranking = c.min_rf is None and (c.max_macs is None or c.preferred_volume_drop is None)
    if exact_ranking:
        assert [ranked(p) for p in plans] == [r.key for r in found[:5]]


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


def volumes_over(layers: list[Layer], p: Plan, size: int, limit: int) -> list[int]:
    """The oracle: layers whose C·H·W shrinks more than ``limit``, counted from the sizes
    the geometry gives for the plan's windows."""
    channels, n, over = [3] + [layer.channels for layer in layers], size, []
    for i, window in enumerate(p.windows(layers)):
        out = window.output_size(n)
        if channels[i] * n * n > limit * channels[i + 1] * out * out:
            over.append(i)
        n = out
    return over


@pytest.mark.parametrize(("name", "size"), [("plain12", 128), ("plain20", 224), ("resnet18", 224)])
def test_the_bottleneck_preset_puts_strides_where_channels_grow(name: str, size: int) -> None:
    layers = family(name)
    constraints = task_constraints("classification", size)
    best = plan(layers, size, constraints)[0]
    assert volumes_over(layers, best, size, 2) == [] == list(best.bottlenecks)
    channels = [3] + [layer.channels for layer in layers]
    for i, step in enumerate(best.steps):
        if step.stride > 1:
            assert channels[i + 1] >= 2 * channels[i] or i == 0
    unconstrained = plan(layers, size, replace(constraints, preferred_volume_drop=None))[0]
    assert best.macs >= unconstrained.macs


def test_vgg16_strides_where_it_widens_and_exceeds_the_drop_once_and_last() -> None:
    # VGG16 widens three times after its stem (64 → 128 → 256 → 512): with the stem, four
    # strides of 2 keep C·H·W within 2; output stride 32 needs a fifth halving at constant
    # width, a 4x drop. The preset prefers it, as late as the field (>= 224) allows
    layers, constraints = family("vgg16"), task_constraints("classification", 224)
    best = plan(layers, 224, constraints)[0]
    strides = [s.stride for s in best.steps]
    assert [i for i, s in enumerate(strides) if s > 1] == [0, 2, 4, 7, 12]
    assert volumes_over(layers, best, 224, 2) == [12] == list(best.bottlenecks)
    assert volumes_over(layers, best, 224, 4) == []
    assert best.rf >= 224 and best.output_stride == 32
    # one layer over is the fewest: within 2 everywhere is infeasible
    with pytest.raises(Infeasible):
        plan(layers, 224, with_volume_drop(constraints, Fraction(2)))
    cheapest = plan(layers, 224, with_volume_drop(constraints, None))[0]
    assert [s.stride for s in cheapest.steps][:5] == [2, 2, 2, 2, 2]  # the misconception
    assert volumes_over(layers, cheapest, 224, 2) == [1, 3]  # 64 → 64 and 128 → 128, halved
    assert best.macs > cheapest.macs


def test_the_note_says_the_target_needs_more_than_the_channels_grow() -> None:
    layers, constraints = family("vgg16"), task_constraints("classification", 224)
    note = bottleneck_note(layers, plan(layers, 224, constraints)[0], 224, constraints)
    assert note is not None
    assert "layer 12 shrinks C·H·W 4x, more than the preferred 2x" in note
    assert "output stride 32 needs more downsampling than the channel growth allows" in note
    assert "grow at layers 0, 2, 4, 7" in note  # 3 → 64, 64 → 128, 128 → 256, 256 → 512


def test_the_note_blames_the_field_when_the_target_alone_would_fit() -> None:
    # the channels grow at layers 0, 2, 3: stride 8 fits within 2 by striding there, with
    # a field of 1 + 2·(1 + 2 + 2 + 4 + 8) = 35; a field of 40 needs the strides earlier,
    # at 0, 1, 2 (1 + 2·(1 + 2 + 4 + 8 + 8) = 47), and layer 1 halves 8 channels: 4x
    layers = [Layer(3, 8), Layer(3, 8), Layer(3, 16), Layer(3, 32), Layer(3, 32)]
    c = Constraints(output_stride=8, min_rf=40, preferred_volume_drop=Fraction(2))
    best = plan(layers, 64, c)[0]
    assert best.bottlenecks == (1,) and best.rf == 47
    note = bottleneck_note(layers, best, 64, c)
    assert note is not None and "the receptive field asked for pulls the strides" in note
    free = plan(layers, 64, replace(c, min_rf=None))[0]
    assert free.bottlenecks == () and bottleneck_note(layers, free, 64, c) is None


def test_a_hard_limit_that_cannot_be_met_says_where_it_bites() -> None:
    # VGG16 widens three times (64 → 128 → 256 → 512): with the stem, four strides of 2;
    # the fifth must shrink C·H·W 4x somewhere, at the latest at layer 12
    hard = with_volume_drop(task_constraints("classification", 224), Fraction(2))
    with pytest.raises(Infeasible, match=r"within 2: .* shrinks it 4x at layer 12;"):
        plan(family("vgg16"), 224, hard)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_a_hard_limit_error_lists_the_layers_of_the_plan_fewest_over_it(template: str) -> None:
    layers, hard = TEMPLATES[template], Constraints(output_stride=8, max_volume_drop=Fraction(1))
    assert exhaustive(layers, 56, hard) is None  # every stride-2 layer here shrinks C·H·W
    fewest = exhaustive(
        layers, 56, replace(hard, max_volume_drop=None, preferred_volume_drop=Fraction(1))
    )
    assert fewest is not None
    with pytest.raises(Infeasible) as error:
        plan(layers, 56, hard)
    message = str(error.value)
    listed = [int(layer) for layer in re.findall(r"x at layer (\d+)", message)]
    assert listed == list(fewest.bottlenecks)


@pytest.mark.parametrize("name", ["max_volume_drop", "preferred_volume_drop"])
def test_a_volume_drop_below_one_is_refused(name: str) -> None:
    c = replace(Constraints(output_stride=2), **{name: Fraction(1, 2)})
    with pytest.raises(stridekit.StrideError, match=f"{name} 1/2 must be >= 1"):
        plan(family("plain4"), 32, c)
