"""The planner for detection (``objects=``): the levels it asks for, against the cells
arithmetic; the fields it reports, against the fields pass run on the plan's own network."""

from __future__ import annotations

from fractions import Fraction

import pytest

from stridekit.analysis import analyze_graph
from stridekit.design.detection import pyramid_strides
from stridekit.design.plan_report import plan_graph, plan_report
from stridekit.design.presets import family, task_constraints
from stridekit.errors import UsageError
from stridekit.objects import parse_objects


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("8:256", (4, 8, 16, 32, 64, 128)),  # w/2 for each octave: 8/2 = 4 ... 256/2 = 128
        ("8,128", (4, 64)),  # only the octaves asked for
        ("12:40", (4, 8, 16)),  # 12, 24, 40: halved 6, 12, 20, down to a power of two
        ("3", (1,)),  # under 2·2 px: stride 1 gives it 3 cells
    ],
)
def test_one_level_per_octave_of_object_size(given: str, expected: tuple[int, ...]) -> None:
    objects = parse_objects(given)
    strides = pyramid_strides(objects, 640)
    assert strides == expected
    for size in objects.sizes:  # each size has a level with 2 to 4 cells (2 <= w/S < 4)
        assert any(2 <= Fraction(size, s) < 4 for s in strides)


@pytest.mark.parametrize(("objects", "size"), [("16:64", 128), ("8:32", 96)])
def test_the_plan_exposes_every_level_and_explains_each_size(objects: str, size: int) -> None:
    sizes = parse_objects(objects)
    template = family("plain12")
    constraints = task_constraints("detection", size, sizes)
    report = plan_report("plain12", template, size, constraints, top=2, objects=sizes)
    strides = pyramid_strides(sizes, size)
    for p, coverage in zip(report.plans, report.objects, strict=True):
        assert {s.jump for s in p.steps} >= set(strides)
        assert p.output_stride == strides[-1]
        # the fields pass over the plan's own network, at each level's layer
        fields = analyze_graph(plan_graph(template, p, size)).field_result.fields
        for level in coverage.levels:
            (field, _) = fields[level.source]
            assert level.field == field.size and level.stride == field.jump
            assert level.grid == (size // int(level.stride),) * 2  # same padding: n/S
        for row in coverage.rows:
            assert row.verdict == "served"
            assert row.cells == Fraction(row.size) / row.level.stride
            assert 2 <= row.cells < 4
        assert coverage.levels[-1].field is not None
        assert coverage.levels[-1].field >= sizes.sizes[-1]  # the largest object is seen whole
    data = report.to_dict()["plans"][0]["objects"]
    assert [row["size"] for row in data["rows"]] == list(sizes.sizes)


def test_objects_larger_than_the_input_are_refused() -> None:
    with pytest.raises(UsageError, match="objects of 512 px do not fit in a 320-px input"):
        task_constraints("detection", 320, parse_objects("8:512"))


def test_objects_plan_only_detection() -> None:
    with pytest.raises(UsageError, match="use --task detection"):
        task_constraints("segmentation", 320, parse_objects("8:64"))
