"""Object sizes and the level that serves each: the parser, the serving stride against its
definition, and the assignment against a brute-force reading of the criterion."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stridekit.errors import StrideError
from stridekit.object_coverage import object_coverage, pyramid_level
from stridekit.objects import parse_objects, serving_stride


@pytest.mark.parametrize(
    ("given_sizes", "expected"),
    [
        ("8:256", (8, 16, 32, 64, 128, 256)),  # one octave apart, both ends
        ("10:100", (10, 20, 40, 80, 100)),  # 80·2 = 160 > 100: the end closes it
        ("8,16,32,128", (8, 16, 32, 128)),
        (["32", "8:16"], (8, 16, 32)),  # repeated --objects: the union, sorted
        ("12:12", (12,)),
        (" 4 , 6 ", (4, 6)),
        ([16, 8, 16], (8, 16)),
        (7, (7,)),
    ],
)
def test_object_sizes_parse(given_sizes: object, expected: tuple[int, ...]) -> None:
    assert parse_objects(given_sizes).sizes == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad", ["8:", ":8", "abc", "0:10", "256:8", "-4", "", " ", "8,,16", "8:16:32", "1.5", []]
)
def test_malformed_object_sizes_are_one_line_errors(bad: object) -> None:
    with pytest.raises(StrideError) as caught:
        parse_objects(bad)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith("--objects") and "\n" not in message
    assert "8:256" in message or "1.." in message  # says how to write them, or the bounds


@given(st.integers(1, 100_000), st.integers(1, 6))
def test_serving_stride_is_the_coarsest_power_of_two_with_enough_cells(
    size: int, min_cells: int
) -> None:
    stride = serving_stride(size, min_cells)
    assert stride & (stride - 1) == 0  # a power of two
    coarser = 2 * stride
    assert size < coarser * min_cells  # the next octave has fewer than min_cells cells
    assert size >= stride * min_cells or stride == 1  # and this one enough (or stride 1)


def _reference(size: int, levels: list[tuple[int, int | None]], min_cells: int) -> tuple[int, str]:
    """The criterion read literally: among the (stride, field) levels on which the object
    spans min_cells cells, the coarsest one whose field holds it."""
    enough = [(s, f) for s, f in levels if Fraction(size, s) >= min_cells]
    whole = [(s, f) for s, f in enough if f is None or f >= size]
    if whole:
        return max(whole)[0], "served"
    if enough:
        return max(enough)[0], "beyond field"
    finest = min(levels)[0]
    return finest, "lost" if size < finest else "undersampled"


@given(
    st.lists(st.tuples(st.integers(1, 64), st.one_of(st.none(), st.integers(1, 600))), min_size=1),
    st.lists(st.integers(1, 512), min_size=1),
    st.integers(1, 4),
)
def test_assignment_follows_the_criterion(
    levels: list[tuple[int, int | None]], sizes: list[int], min_cells: int
) -> None:
    # one level per stride (levels of equal stride and grid count once)
    distinct = list({stride: field for stride, field in levels}.items())
    made = [
        pyramid_level(f"s{s}", (s, s), (640 // s,) * 2, None if f is None else (f, f))
        for s, f in distinct
    ]
    coverage = object_coverage(parse_objects(sizes), made, min_cells)
    for row in coverage.rows:
        stride, verdict = _reference(row.size, distinct, min_cells)
        assert (row.level.stride, row.verdict) == (stride, verdict)
        assert row.cells == Fraction(row.size, stride)
    used = {row.level.stride for row in coverage.rows}
    assert {lv.stride for lv in coverage.unused()} == {s for s, _ in distinct} - used
