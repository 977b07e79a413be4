"""Conv animations: one frame per output position, and each frame highlights exactly the
cells its window reads, checked against torch (its op's output shape; im2col over
coordinate ids; a transposed conv's Jacobian) and read back from what was drawn: the SVG's
elements and the GIF's pixel colours."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageSequence

from stridekit.geometry import Op
from stridekit.viz import ConvAnimation, animate_conv
from stridekit.viz.animation_gif import INDEX
from stridekit.viz.animation_layout import animation_layout
from stridekit.viz.animation_svg import prefix
from stridekit.viz.palette import PALETTE, rgb
from tests.viz import oracles

SVG = "{http://www.w3.org/2000/svg}"

CASES: dict[str, dict[str, Any]] = {
    "conv1d_k3_s2_p1": {"size": 7, "kernel": 3, "stride": 2, "padding": 1},
    "conv1d_dilated": {"size": 9, "kernel": 3, "dilation": 2},
    "conv2d_k3_s2_p1": {"size": (5, 5), "kernel": 3, "stride": 2, "padding": 1},
    "conv2d_k1_s2_gaps": {"size": (6, 6), "kernel": 1, "stride": 2},
    "conv2d_per_axis": {"size": (5, 7), "kernel": [3, 2], "stride": [2, 1], "padding": [1, 0]},
    "conv2d_tf_same": {
        "size": (6, 6),
        "kernel": 3,
        "stride": 2,
        "padding": "same",
        "convention": "tf",
    },
    "conv2d_dilated_gaps": {"size": (7, 7), "kernel": 3, "stride": 2, "dilation": 2, "padding": 1},
    "max_pool_ceil": {
        "size": (6, 6),
        "kernel": 3,
        "stride": 2,
        "op": "max_pool",
        "ceil_mode": True,
    },
    "avg_pool_ceil_padded": {
        "size": (6, 5),
        "kernel": 3,
        "stride": 2,
        "padding": 1,
        "op": "avg_pool",
        "ceil_mode": True,
    },
    "transposed2d": {
        "size": (3, 3),
        "kernel": 3,
        "stride": 2,
        "padding": 1,
        "output_padding": 1,
        "op": "conv_transpose",
    },
    "transposed1d_dilated": {
        "size": 4,
        "kernel": 2,
        "stride": 3,
        "dilation": 2,
        "op": "conv_transpose",
    },
}


def movie(name: str) -> ConvAnimation:
    return animate_conv(**CASES[name])


def expected_taps(m: ConvAnimation) -> list[set[tuple[int, ...]]]:
    if m.transposed:
        return oracles.transposed_taps(m.windows, m.sizes)
    return oracles.forward_taps(m.windows, m.sizes)


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_frame_per_output_position(name: str) -> None:
    m = movie(name)
    shape = oracles.output_shape(m.op, m.windows, m.sizes)
    assert len(m.frames) == int(np.prod(shape))
    assert [f.output for f in m.frames] == list(np.ndindex(*shape))


@pytest.mark.parametrize("name", sorted(CASES))
def test_frames_read_what_torch_reads(name: str) -> None:
    m = movie(name)
    assert [set(f.cells) for f in m.frames] == expected_taps(m)


def _svg_frames(svg: str, p: str) -> tuple[list[set[tuple[int, ...]]], list[tuple[int, ...]]]:
    """Read back each frame's highlighted input cells and filled output cell, by position:
    a highlight is a rect drawn where a base cell is, and the base cell says where it is."""
    root = ET.fromstring(svg)
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g")}

    def cells(group: ET.Element) -> dict[tuple[str, str], tuple[int, ...]]:
        return {
            (r.get("x"), r.get("y")): tuple(int(v) for v in r.get("data-at", "").split(","))
            for r in group.iter(f"{SVG}rect")
        }

    inputs, outputs = cells(groups[f"{p}-input"]), cells(groups[f"{p}-output"])
    taps, filled = [], []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != f"{p}-f":
            continue
        rects = list(group.iter(f"{SVG}rect"))
        taps.append(
            {inputs[(r.get("x"), r.get("y"))] for r in rects if r.get("class") == f"{p}-tap"}
        )
        (now,) = [outputs[(r.get("x"), r.get("y"))] for r in rects if r.get("class") == f"{p}-now"]
        filled.append(now)
    return taps, filled


@pytest.mark.parametrize("name", sorted(CASES))
def test_svg_highlights_exactly_the_taps(name: str) -> None:
    m = movie(name)
    taps, filled = _svg_frames(m.render("svg").decode(), prefix(m))
    assert taps == expected_taps(m)
    shape = oracles.output_shape(m.op, m.windows, m.sizes)
    assert filled == list(np.ndindex(*shape))


@pytest.mark.parametrize(
    "name",
    ["conv2d_k3_s2_p1", "conv2d_dilated_gaps", "max_pool_ceil", "transposed2d", "conv1d_dilated"],
)
def test_gif_pixels_show_exactly_the_taps(name: str) -> None:
    m = movie(name)
    layout = animation_layout(m)
    gif = Image.open(io.BytesIO(m.render("gif")))
    tap = rgb(PALETTE["tap"])
    half = layout.cell // 2
    read_back = []
    for frame in ImageSequence.Iterator(gif):
        pixels = np.asarray(frame.convert("RGB"))
        centres = {cell: layout.input_cell(cell) for cell, _ in m.cells}
        read_back.append(
            {cell for cell, (x, y) in centres.items() if tuple(pixels[y + half, x + half]) == tap}
        )
    assert read_back == expected_taps(m)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cells_never_read_are_those_torch_never_reads(name: str) -> None:
    m = movie(name)
    counts = oracles.read_counts(m.op, m.windows, m.sizes)
    never = {tuple(int(i) for i in c) for c in np.argwhere(counts == 0)}
    drawn = {cell for cell, kind in m.cells if kind == "unread"}
    assert drawn == never
    # padding: cells outside the input on some axis; past the padding only with ceil mode
    outside = {
        cell
        for cell, _ in m.cells
        if any(not 0 <= c < n for c, n in zip(cell, m.sizes, strict=True))
    }
    assert outside == {cell for cell, kind in m.cells if kind in ("padding", "implicit")}
    past = {
        cell
        for cell, _ in m.cells
        if any(
            not -w.pad_lo <= c < n + w.pad_hi
            for c, n, w in zip(cell, m.sizes, m.windows, strict=True)
        )
    }
    assert past == {cell for cell, kind in m.cells if kind == "implicit"}
    assert not past or m.windows[0].ceil_mode  # only ceil mode's last window reaches there


def test_caption_gives_the_formula_with_numbers() -> None:
    m = movie("conv2d_k3_s2_p1")
    svg = m.render("svg").decode()
    # floor((5 + 1 + 1 - 3)/2) + 1 = 3 on both axes
    assert svg.count("floor((5 + 1 + 1 - 3)/2) + 1 = 3") == 2
    assert "output (2, 1) reads rows 3..5, columns 1..3" in svg


@pytest.mark.parametrize("fmt", ["gif", "svg", "html"])
def test_rendering_is_deterministic(fmt: str) -> None:
    assert movie("conv2d_k3_s2_p1").render(fmt) == movie("conv2d_k3_s2_p1").render(fmt)


def test_svg_animates_each_frame_in_turn() -> None:
    m = animate_conv((3, 3), 2, fps=4)  # 4 frames of 0.25 s in a loop of 1 s
    svg = m.render("svg").decode()
    p = prefix(m)
    assert f"animation:{p}-show 1s step-end infinite" in svg
    assert f"@keyframes {p}-show{{0%{{opacity:1}}25%{{opacity:0}}" in svg
    delays = re.findall(r'class="[^"]+-f" data-frame="\d+" style="animation-delay:([\d.]+)s"', svg)
    assert delays == ["0", "0.25", "0.5", "0.75"]


def test_html_player_is_self_contained() -> None:
    m = movie("conv2d_k3_s2_p1")
    page = m.render("html").decode()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 1
    for control in ('data-act="prev"', 'data-act="play"', 'data-act="next"', 'type="range"'):
        assert control in page
    assert f'max="{len(m.frames) - 1}"' in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing to fetch
    assert m._repr_html_() in page


def test_notebook_forms() -> None:
    m = movie("conv1d_k3_s2_p1")
    assert m._repr_svg_().startswith("<svg")
    assert "<script>" in m._repr_html_()
    assert m.to_dict()["frames"][0]["taps"] == [[-1], [0], [1]]
    assert str(m).startswith("conv k=3 s=2 p=(1,1): 7 -> 4: 4 frames")


def test_two_animations_on_one_page_do_not_share_names() -> None:
    a, b = animate_conv(5, 3), animate_conv(5, 3, stride=2)
    assert prefix(a) != prefix(b)
    assert f'id="{prefix(b)}-input"' not in a.render("svg").decode()


def test_gif_frame_timing() -> None:
    gif = Image.open(io.BytesIO(animate_conv(4, 2, fps=5).render("gif")))
    assert gif.n_frames == 3 and gif.info["duration"] == 200 and gif.info["loop"] == 0


def test_gif_uses_the_palette_exactly() -> None:
    gif = Image.open(io.BytesIO(movie("conv2d_k3_s2_p1").render("gif")))
    used = set(np.unique(np.asarray(gif)).tolist())
    assert used <= set(INDEX.values())


PLAYER_HARNESS = r"""
function element(attributes) {
  const classes = new Set();
  return {classes, textContent: "", value: 0, getAttribute: (k) => attributes[k],
          classList: {add: (c) => classes.add(c), remove: (c) => classes.delete(c)}};
}
const frames = __CAPTIONS__.map((caption) => element({"data-caption": caption}));
const buttons = {prev: element({}), play: element({}), next: element({})};
const slider = element({}), label = element({});
const root = {
  querySelectorAll: () => frames,
  querySelector: (s) => s === "input" ? slider : s.startsWith(".") ? label
                        : buttons[s.match(/data-act="(\w+)"/)[1]],
};
const document = {currentScript: {parentNode: root}};
let tick = null;
function setInterval(f) { tick = f; return 1; }
function clearInterval() { tick = null; }
__SCRIPT__
const shown = () => frames.flatMap((f, i) => f.classes.has(__ON__) ? [i] : []);
const log = [shown()];
buttons.next.onclick(); log.push(shown());
buttons.prev.onclick(); buttons.prev.onclick(); log.push(shown());
buttons.play.onclick(); tick(); tick(); log.push(shown(), buttons.play.textContent);
buttons.play.onclick(); log.push(tick === null, buttons.play.textContent);
slider.value = "2"; slider.oninput(); log.push(shown(), label.textContent);
console.log(JSON.stringify(log));
"""


def test_the_player_plays_pauses_and_steps() -> None:
    """The player's script run by node against a stand-in for the page's elements."""
    import json
    import shutil
    import subprocess

    from stridekit.viz.animation_html import SCRIPT

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    m = animate_conv(4, 2)  # 3 frames
    p = prefix(m)
    program = (
        PLAYER_HARNESS.replace("__CAPTIONS__", json.dumps([f.caption for f in m.frames]))
        .replace("__SCRIPT__", SCRIPT % {"p": p, "interval": 500})
        .replace("__ON__", json.dumps(f"{p}-on"))
    )
    result = subprocess.run([node, "-e", program], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == [
        [0],
        [1],
        [2],  # step, then two steps back: from 0 back to the last frame
        [1],
        "pause",  # two ticks of play from the last frame: 0, 1
        True,
        "play",  # pause stops the timer
        [2],
        "3/3: output 2 reads positions 2..3",  # the slider
    ]


# --- the old path= keyword: still written, with a DeprecationWarning ------------------


OP = ((5, 5), 3)  # the keyword form; with stride=2, padding=1, the same as NEW_OP
OP_OPTIONS = {"stride": 2, "padding": 1}
NEW_OP = (Op((5, 5), 3, stride=2, padding=1),)
SPEC = ("stridekit/examples/specs/resnet_stem.yaml",)  # a model, analysed without tracing


@pytest.mark.parametrize(
    ("draw", "name", "arguments", "options", "new"),
    [
        ("animate_conv", "old.gif", OP, OP_OPTIONS, NEW_OP),
        ("animate_conv", "old.svg", OP, OP_OPTIONS, NEW_OP),
        ("draw_coverage", "old.png", OP, OP_OPTIONS, NEW_OP),
        ("draw_network", "old.svg", SPEC, {}, SPEC),
    ],
)
def test_the_old_path_keyword_warns_and_writes_the_same_file(
    draw: str,
    name: str,
    arguments: tuple[Any, ...],
    options: dict[str, Any],
    new: tuple[Any, ...],
    tmp_path: Path,
) -> None:
    import stridekit.viz

    function = getattr(stridekit.viz, draw)
    target = tmp_path / name
    with pytest.warns(DeprecationWarning, match=rf"{draw}\(\.\.\.\)\.save\(path\)"):
        written = function(*arguments, **options, path=target)
    assert written == target
    picture = function(*new)
    assert target.read_bytes() == picture.render(target.suffix[1:])
