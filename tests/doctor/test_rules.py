"""Each doctor rule on graphs that must trigger it (with the numbers) and that must not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import pytest

from stridekit.analysis import analyze_graph
from stridekit.doctor import RULES, Finding, Severity, doctor
from stridekit.errors import StrideError
from stridekit.geometry import Resample, Sizing, Window
from stridekit.graph import Node
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


def test_dropped_pixels_fix_names_a_far_valid_size_of_a_bounded_set() -> None:
    # a branch resized to a fixed 8 merged with floor((n − 3)/2) + 1: only n = 17, 18
    # fit, and 18 leaves pixel 17 after the last 3x3 stride-2 window: 17 is the one size
    b = Builder(40)
    first = b.window("first", "conv", "input", Window(1))  # the side branch reads the input
    conv = b.window("conv", "conv", first, Window(3, 2))  # 19 at 40: pixel 39 unread
    fixed = Resample(Fraction(5), Fraction(0), Fraction(4), sizing=Sizing(fixed=8))
    b.graph.add(
        Node("side", "upsample", ("input",), ((1, 3, 40, 40),), (1, 8, 8, 8), (fixed, fixed))
    )
    b.head(b.merge("cat", "concat", conv, "side"))
    found = findings(b, "dropped-pixels")
    assert [f.node for f in found] == ["conv"]
    assert "model inputs 17 on axes 0, 1 drop nothing" in found[0].fix


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


def test_tf_same_offset_is_a_warning_and_an_even_pooling_shortcut_info() -> None:
    """Both merges split at a stride-2 stem (grid: 2 input pixels). TF SAME's (0, 1)
    padding shifts its branch by a whole pixel of that grid: a warning. ResNet-D's 2x2
    average-pool shortcut is centred half a pixel of it off, (0 + 1)/2 = 1/2, from the
    3x3 main path: 1 input pixel, a constant sub-pixel offset: info, with the number."""
    b = Builder(64)
    stem = b.window("stem", "conv", "input", Window(3, 2, padding=(1, 1)))
    main = b.window("main", "conv", stem, Window(3, 2, padding=(1, 1)))
    tf = b.window("tf_same", "conv", stem, Window(3, 2, padding=(0, 1)))
    pooled = b.window("short.pool", "avg_pool", stem, Window(2, 2))
    short = b.window("short", "conv", pooled, Window(1))
    b.head(b.merge("tf_add", "add", main, tf))
    b.graph.add(Node("d_add", "add", (main, short), ((1, 8, 16, 16),) * 2, (1, 8, 16, 16)))
    found = {f.node: f for f in findings(b, "misaligned-merge")}
    tf_merge, d_merge = found["tf_add"], found["d_add"]
    assert (tf_merge.severity, tf_merge.data["offset"]) == (Severity.warning, ["2", "2"])
    assert tf_merge.data["grid_offset"] == ["1", "1"] and tf_merge.data["split"] == "stem"
    assert (d_merge.severity, d_merge.data["offset"]) == (Severity.info, ["1", "1"])
    assert d_merge.data["grid_offset"] == ["1/2", "1/2"]
    assert "1/2, 1/2 of a pixel" in d_merge.message


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


def _pointwise(b: Builder, name: str, source: str) -> str:
    shape = b.graph[source].output_shape
    b.graph.add(Node(name, "elementwise", (source,), (shape,), shape))
    return name


def test_a_squeeze_excitation_gate_is_not_a_collapse() -> None:
    # the gate is pooled to 1x1 and multiplied back onto the 8x8 map: not the path to the head
    b = Builder(16)
    x = b.window("conv", "conv", "input", Window(3, 2, padding=(1, 1)))
    b.graph.add(Node("se.pool", "global_pool", (x,), ((1, 8, 8, 8),), (1, 8, 1, 1)))
    fc = b.window("se.fc", "conv", "se.pool", Window(1))
    gate = _pointwise(b, "se.sigmoid", fc)
    b.head(b.merge("scale", "mul", x, gate))
    assert findings(b, "collapse") == []


def test_tokens_without_positions_are_not_a_collapse() -> None:
    # (1, 3, 1, 768): a token tensor whose layout holds no spatial axis (the class token
    # joined the patches); read by rank it would look like a 3x1 map
    b = Builder(32)
    x = b.window("patches", "conv", "input", Window(16, 16), channels=768)
    tokens = (1, 3, 1, 768)
    b.graph.add(
        Node("tokens", "other", (x,), ((1, 768, 2, 2),), tokens, sizes=None, positional=False)
    )
    b.graph.add(Node("head", "linear", ("tokens",), (tokens,), (1, 10)))
    assert findings(b, "collapse") == []


@pytest.mark.parametrize(("main_reads_the_block_input", "dropped"), [(True, False), (False, True)])
def test_a_pre_activation_projection_drops_nothing_the_main_path_reads(
    main_reads_the_block_input: bool, dropped: bool
) -> None:
    """DPN: the 1x1 stride-2 projection reads its own BN → ReLU copy of the block input;
    the main path reads another copy of the same pixels, so nothing is lost (gaps: info).
    With a main path that reads something else, 3 of every 4 pixels are lost."""
    b = Builder(16)
    block = b.window("block", "conv", "input", Window(3, padding=(1, 1)))
    projection = b.window("proj", "conv", _pointwise(b, "proj.act", block), Window(1, 2))
    source = _pointwise(b, "main.act", block) if main_reads_the_block_input else "input"
    main = b.window("main", "conv", source, Window(3, 2, padding=(1, 1)))
    b.head(b.merge("add", "add", main, projection))
    assert bool(findings(b, "dropped-pixels")) is dropped
    (gap,) = findings(b, "gaps")
    assert gap.severity == (Severity.warning if dropped else Severity.info)


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


@pytest.mark.parametrize(
    ("size", "kernel", "expected"),
    [
        (64, 3, [("3", 64, "covers 5%")]),  # 3 < 64/2: 3/64 = 4.7%
        (64, 33, []),  # 33 ≥ 64/2: the head sees more than half the image
        (4, 19, [("19", 4, "4.8x the input")]),  # 19 > 4·4: 19/4 = 4.75
        (4, 15, []),  # 15 ≤ 4·4
    ],
)
def test_rf_coverage(size: int, kernel: int, expected: list[tuple[str, int, str]]) -> None:
    b = Builder(size)
    b.head(b.window("conv", "conv", "input", Window(kernel, padding=(kernel // 2,) * 2)))
    found = findings(b, "rf-coverage")
    assert [(f.data["rf"], f.data["input"], f.data["axes"]) for f in found] == [
        (rf, n, [0, 1]) for rf, n, _ in expected
    ]
    assert all(text in f.message for f, (_, _, text) in zip(found, expected, strict=True))
    assert all(f.severity == Severity.info and f.node == "conv" for f in found)


# --- every registered rule: a graph that earns its finding, one that just does not ------


@dataclass(frozen=True)
class Case:
    """``trigger`` earns the rule's findings ``expected`` (node, severity, data items);
    ``near_miss`` differs from it in the one thing the rule judges and earns none."""

    trigger: Callable[[], Builder]
    expected: tuple[tuple[str, Severity, dict[str, object]], ...]
    near_miss: Callable[[], Builder]


def single(size: int, window: Window, op: str = "conv") -> Callable[[], Builder]:
    def build() -> Builder:
        b = Builder(size)
        b.head(b.window(op, op, "input", window))
        return b

    return build


def branches(first: Window, second: Window) -> Callable[[], Builder]:
    def build() -> Builder:
        b = Builder(32)
        a, c = b.window("a", "conv", "input", first), b.window("c", "conv", "input", second)
        b.head(b.merge("add", "add", a, c))
        return b

    return build


def chain(size: int) -> Callable[[], Builder]:
    def build() -> Builder:
        b = Builder(size)
        x = "input"
        for i in range(3):
            x = b.window(f"c{i}", "conv", x, Window(2, 2))
        b.head(b.window("last", "conv", x, Window(1)))
        return b

    return build


def antialiased(build: Callable[[], Builder]) -> Callable[[], Builder]:
    def mark() -> Builder:
        b = build()
        b.graph["conv"].attributes["antialiased"] = True
        return b

    return mark


def dilated(dilation: int) -> Callable[[], Builder]:
    def build() -> Builder:
        b = Builder(64)
        first = b.window("first", "conv", "input", Window(1))
        b.head(b.window("dilated", "conv", first, Window(3, dilation=dilation, padding=(4, 4))))
        return b

    return build


AXES = {"axes": [0, 1]}
CASES: dict[str, Case] = {
    # floor((224 − 3)/2) + 1 = 111 windows end at 222: pixel 223 unread; padding 1 reads it
    "dropped-pixels": Case(
        single(224, Window(3, 2)),
        (("conv", Severity.warning, {"count": 1, "size": 224, **AXES}),),
        single(224, Window(3, 2, padding=(1, 1))),
    ),
    # kernel 1 < stride 2: every other pixel is skipped; kernel 2 reads them all
    "gaps": Case(
        single(9, Window(1, 2)),
        (("conv", Severity.warning, {"stride": 2, "extent": 1, **AXES}),),
        single(9, Window(2, 2)),
    ),
    # 8 → 4 → 2 → 1 at c2, before the head; from 16 the last map is 2x2
    "collapse": Case(chain(8), (("c2", Severity.warning, {"shape": [1, 1]}),), chain(16)),
    # centres (−1 + 1)/2 = 0 and (0 + 2)/2 = 1: one pixel apart; equal padding aligns them
    "misaligned-merge": Case(
        branches(Window(3, 2, padding=(1, 1)), Window(3, 2, padding=(0, 1))),
        (("add", Severity.warning, {"offset": ["1", "1"]}),),
        branches(Window(3, 2, padding=(1, 1)), Window(5, 2, padding=(2, 2))),
    ),
    # TF SAME at 224: (112 − 1)·2 + 7 − 224 = 5 → (2, 3); at 225: 6 → (3, 3), as PyTorch
    "portability": Case(
        single(224, Window(7, 2, padding=(3, 3))),
        (("conv", Severity.info, {"torch": [3, 3], "tf": [2, 3], "shift": -1, **AXES}),),
        single(225, Window(7, 2, padding=(3, 3))),
    ),
    # k3 s2 p1 transposed: taps t = 0, 1, 2 land on phases (t − 1) mod 2 = 1, 0, 1
    "uneven-coverage": Case(
        single(16, Window(3, 2, padding=(1, 1), transposed=True), "conv_transpose"),
        (("conv_transpose", Severity.warning, {"pattern": [1, 2], **AXES}),),
        single(16, Window(4, 2, padding=(1, 1), transposed=True), "conv_transpose"),
    ),
    "aliasing": Case(
        single(32, Window(2, 2)),
        (("conv", Severity.info, {"stride": 2}),),
        antialiased(single(32, Window(2, 2))),
    ),
    # taps 4·1 = 4 pixels apart, each seeing 1: 3-pixel holes; dilation 1 has none
    "rf-holes": Case(
        dilated(4),
        (("dilated", Severity.warning, {"spacing": "4", "field": "1", **AXES}),),
        dilated(1),
    ),
    # a 3-pixel field over 64 pixels (< 64/2); 33 pixels cover more than half
    "rf-coverage": Case(
        single(64, Window(3, padding=(1, 1))),
        (("conv", Severity.info, {"rf": "3", "input": 64, **AXES}),),
        single(64, Window(33, padding=(16, 16))),
    ),
}


def test_the_table_covers_every_registered_rule() -> None:
    assert sorted(CASES) == sorted(RULES)


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_finds_its_case(code: str) -> None:
    case = CASES[code]
    found = findings(case.trigger(), code)
    got = [
        (f.node, f.severity, {key: f.data.get(key) for key in data})
        for f, (_, _, data) in zip(found, case.expected, strict=False)
    ]
    assert len(found) == len(case.expected) and got == list(case.expected)


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_is_quiet_on_the_near_miss(code: str) -> None:
    assert findings(CASES[code].near_miss(), code) == []


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_is_quiet_on_a_healthy_model(code: str) -> None:
    # stride 1, padded, no dilation: nothing dropped, skipped or shifted; a 7-pixel
    # field over 8 pixels (3 + 2 + 2) is between half the input and 4 times it
    b = Builder(8)
    x = b.window("c0", "conv", "input", Window(3, padding=(1, 1)))
    x = b.window("c1", "conv", x, Window(3, padding=(1, 1)))
    b.head(b.window("c2", "conv", x, Window(3, padding=(1, 1))))
    assert findings(b, code) == []


def test_nearest_upsampling_in_a_top_down_path_is_info_with_its_cause() -> None:
    """FPN's top-down path: p4 (stride 16) reaches the stride-4 level through two nearest
    ×2 upsamplings, ×4 in all; fine pixel i reads coarse pixel floor(i/4), so the copies
    sit 0, 1, 2, 3 fine pixels after it, (0 + 3)/2 = 3/2 on average: 3/2 pixels of the
    stride-4 grid, 6 input pixels. The same at every input size, not a padding: info,
    naming the upsampling (a TF-SAME branch beside it stays a warning, above)."""
    from stridekit.analysis import analyze

    report = doctor(analyze("stridekit/examples/specs/fpn_small.yaml"), select=["misaligned-merge"])
    found = {f.node: f for f in report.findings}
    p2 = found["p2"]
    assert p2.severity is Severity.info and p2.data["upsampling"] == "p4.up"
    assert p2.data["grid_offset"] == [str(Fraction(3, 2))] * 2 and p2.data["offset"] == ["6"] * 2


def _factorized_reduction(with_even_path: bool) -> Builder:
    """NASNet's factorized reduction on a 16-pixel map: path 1 reads the even pixels (a
    1x1 average pool, stride 2), path 2 crops one pixel at the start and pads one at the
    end (``Resample.pad(-1, 1)``: output i reads input i + 1), then reads the even pixels
    of that, the input's odd ones; the two halves are concatenated."""
    b = Builder(16)
    shift = (Resample.pad(-1, 1),) * 2
    b.graph.add(Node("path2.pad", "pad", ("input",), ((1, 3, 16, 16),), (1, 3, 16, 16), shift))
    odd = b.window("path2.pool", "avg_pool", "path2.pad", Window(1, 2), channels=3)
    if not with_even_path:
        b.head(odd)
        return b
    even = b.window("path1.pool", "avg_pool", "input", Window(1, 2), channels=3)
    b.head(b.merge("cat", "concat", even, odd))
    return b


def test_a_shifted_path_reads_what_the_other_skips() -> None:
    """Pixels 0, 2, …, 14 of the input through path 1 and 1, 3, …, 15 through path 2: none
    is dropped, and each path's gaps are read by the other (info). Without path 1, the
    even pixels are lost: dropped (the ones of the shifted copy its pool skips) and the
    gaps are a warning."""
    both = _factorized_reduction(with_even_path=True)
    assert findings(both, "dropped-pixels") == []
    assert {f.severity for f in findings(both, "gaps")} == {Severity.info}
    alone = _factorized_reduction(with_even_path=False)
    dropped = findings(alone, "dropped-pixels")
    assert [f.data["tensor"] for f in dropped] == ["path2.pad"]
    assert {f.severity for f in findings(alone, "gaps")} == {Severity.warning}
