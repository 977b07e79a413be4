"""Each doctor rule on graphs that must trigger it (with the numbers) and that must not."""

from __future__ import annotations

import pytest

from stridekit.analysis import analyze_graph
from stridekit.doctor import RULES, Finding, Severity, doctor
from stridekit.errors import StrideError
from stridekit.geometry import Window
from tests.doctor.builders import Builder


def findings(builder: Builder, code: str) -> list[Finding]:
    return list(doctor(analyze_graph(builder.graph), select=[code]).findings)


def test_three_by_three_stride_two_drops_one_row_and_one_column() -> None:
    b = Builder(224)
    b.head(b.window("conv", "conv", "input", Window(3, 2)))
    found = findings(b, "dropped-pixels")
    # floor((224 − 3)/2) + 1 = 111 windows; the last ends at pixel 222, so 223 is unread
    assert [(f.data["axes"], f.data["count"], f.data["sides"]["end"]) for f in found] == [
        ([0, 1], 1, 1)
    ]
    assert "on axes 0, 1" in found[0].message
    assert all(f.severity == Severity.warning and f.node == "conv" for f in found)
    assert "padding (0, 1)" in found[0].fix


def test_shortcut_pixels_read_by_main_path_are_not_dropped_but_gapped() -> None:
    b = Builder(56)
    main = b.window("main", "conv", "input", Window(3, 2, padding=(1, 1)))
    short = b.window("shortcut", "conv", "input", Window(1, 2))
    b.head(b.merge("add", "add", main, short))
    assert findings(b, "dropped-pixels") == []
    gaps = findings(b, "gaps")
    assert {(f.node, f.severity) for f in gaps} == {("shortcut", Severity.info)}


def test_lone_strided_one_by_one_drops_every_other_pixel() -> None:
    b = Builder(8)
    b.head(b.window("conv", "conv", "input", Window(1, 2)))
    dropped = findings(b, "dropped-pixels")
    assert dropped[0].data["count"] == 4  # pixels 1, 3, 5, 7
    assert dropped[0].data["sides"] == {"start": 0, "end": 1, "interior": 3}
    assert {f.severity for f in findings(b, "gaps")} == {Severity.warning}


@pytest.mark.parametrize(("kernel", "expected"), [(3, [[2, 1]]), (4, [])])
def test_transposed_checkerboard(kernel: int, expected: list[list[int]]) -> None:
    b = Builder(16)
    b.window("up", "conv_transpose", "input", Window(kernel, 2, padding=(1, 1), transposed=True))
    found = [f for f in findings(b, "uneven-coverage") if f.severity == Severity.warning]
    # k=3, s=2, p=1: taps t=0,1,2 land on phases (t − 1) mod 2 = 1, 0, 1 → [1 tap, 2 taps]
    assert [sorted(f.data["pattern"], reverse=True) for f in found] == expected


def test_tf_same_branch_is_misaligned_with_torch_branch() -> None:
    b = Builder(32)
    a = b.window("torch_pad", "conv", "input", Window(3, 2, padding=(1, 1)))
    c = b.window("tf_same", "conv", "input", Window(3, 2, padding=(0, 1)))
    b.head(b.merge("add", "add", a, c))
    found = findings(b, "misaligned-merge")
    # centres: torch (−1 + 1)/2 = 0, TF (0 + 2)/2 = 1 → 1 input pixel apart on each axis
    assert [(f.node, f.data["offset"]) for f in found] == [("add", ["1", "1"])]


def test_aligned_merge_has_no_finding() -> None:
    b = Builder(32)
    a = b.window("a", "conv", "input", Window(3, 2, padding=(1, 1)))
    c = b.window("c", "conv", "input", Window(5, 2, padding=(2, 2)))
    b.head(b.merge("add", "add", a, c))
    assert findings(b, "misaligned-merge") == []


@pytest.mark.parametrize(("dilation", "holes"), [(4, True), (1, False)])
def test_rf_holes(dilation: int, holes: bool) -> None:
    b = Builder(64)
    first = b.window("first", "conv", "input", Window(1))
    b.head(b.window("dilated", "conv", first, Window(3, dilation=dilation, padding=(4, 4))))
    found = findings(b, "rf-holes")
    # taps 4·1 = 4 pixels apart, each seeing 1 pixel → 3-pixel holes
    assert [(f.data["spacing"], f.data["axes"]) for f in found] == (
        [("4", [0, 1])] if holes else []
    )


def test_collapse_before_the_head() -> None:
    b = Builder(8)
    x = b.window("c1", "conv", "input", Window(2, 2))  # 4
    x = b.window("c2", "conv", x, Window(2, 2))  # 2
    x = b.window("c3", "conv", x, Window(2, 2))  # 1
    b.head(b.window("c4", "conv", x, Window(1)))
    assert [f.node for f in findings(b, "collapse")] == ["c3"]


def test_portability_shift_for_stem_conv() -> None:
    b = Builder(224)
    b.head(b.window("stem", "conv", "input", Window(7, 2, padding=(3, 3))))
    found = findings(b, "portability")
    # TF SAME on 224 with k7 s2: total (112 − 1)·2 + 7 − 224 = 5 → (2, 3), not (3, 3)
    assert [(f.data["tf"], f.data["axes"]) for f in found] == [([2, 3], [0, 1])]
    assert all(f.severity == Severity.info for f in found)


def test_exit_codes_and_select_ignore() -> None:
    b = Builder(224)
    b.head(b.window("conv", "conv", "input", Window(3, 2)))
    analysis = analyze_graph(b.graph)
    assert doctor(analysis).exit_code == 1
    assert doctor(analysis, ignore=["dropped-pixels"]).exit_code == 0
    with pytest.raises(StrideError, match="unknown rule"):
        doctor(analysis, select=["nope"])


def test_every_rule_is_registered_once() -> None:
    assert set(RULES) == {
        "dropped-pixels",
        "gaps",
        "collapse",
        "misaligned-merge",
        "portability",
        "uneven-coverage",
        "aliasing",
        "rf-holes",
        "rf-coverage",
    }
