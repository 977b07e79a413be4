"""Network diagrams: what is drawn (sizes, strides, fields, stage bands, merge marks) is
read back from the figure's artists and compared with the analysis and the graph."""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from stridekit.analysis import analyze
from stridekit.geometry import Window
from stridekit.graph import MERGE_OPS, Graph, Node
from stridekit.viz import NetworkStory, draw_network


def misaligned_pair() -> Graph:
    """Two branches of a 32-pixel input: k3 s2 with PyTorch's padding (1, 1) and with TF's
    SAME (0, 1); centres (-1 + 1)/2 = 0 and (0 + 2)/2 = 1: off by one pixel."""
    g = Graph(input_shape=(1, 3, 32, 32))
    a, b = Window(3, 2, padding=(1, 1)), Window(3, 2, padding=(0, 1))
    g.add(Node("torch", "conv", ("input",), ((1, 3, 32, 32),), (1, 8, 16, 16), (a, a)))
    g.add(Node("tf", "conv", ("input",), ((1, 3, 32, 32),), (1, 8, 16, 16), (b, b)))
    g.add(Node("sum", "add", ("torch", "tf"), ((1, 8, 16, 16),) * 2, (1, 8, 16, 16)))
    return g


MODELS: dict[str, tuple[Any, tuple[int, ...] | None]] = {
    "resnet18": ("torchvision:resnet18", (1, 3, 64, 64)),
    "fpn_spec": ("stridekit/examples/specs/fpn_small.yaml", None),
    "deeplab_spec": ("stridekit/examples/specs/deeplab_encoder.yaml", None),
    "misaligned_pair": (misaligned_pair(), None),
}


@pytest.fixture(scope="module")
def stories() -> dict[str, tuple[NetworkStory, Any]]:
    result = {}
    for name, (model, shape) in MODELS.items():
        analysis = analyze(model, shape)
        result[name] = (draw_network(analysis), analysis)
    return result


def _artist(figure: Any, gid: str) -> Any:
    found = [
        a
        for ax in figure.axes
        for a in [*ax.lines, *ax.patches, *ax.collections]
        if a.get_gid() == gid
    ]
    return found


@pytest.mark.parametrize("name", sorted(MODELS))
def test_layers_drawn_are_those_that_move_or_merge_pixels(name: str, stories: Any) -> None:
    story, analysis = stories[name]
    nodes = analysis.graph.nodes
    last = next(k for k, n in enumerate(nodes) if n.name == analysis.head.name)
    expected = [
        n.name
        for n in nodes[: last + 1]
        if (n.op == "input" or n.axes or n.op in MERGE_OPS) and n.has_positions
    ]
    assert [layer.name for layer in story.layers] == expected


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sizes_and_strides_drawn_are_the_analysis(name: str, stories: Any) -> None:
    story, analysis = stories[name]
    figure = story.to_matplotlib()
    records = {r.name: r for r in analysis.layers}
    (sizes,) = _artist(figure, "size-rows")
    rows = [analysis.graph[layer.name].spatial_shape[0] for layer in story.layers]
    assert sizes.get_data().values.tolist() == rows
    (jumps,) = _artist(figure, "jump")
    assert jumps.get_data().values.tolist() == [
        float(records[layer.name].jump[0]) for layer in story.layers
    ]
    (fields,) = _artist(figure, "rf")
    expected = [
        float((records[layer.name].rf or records[layer.name].local_rf)[0]) for layer in story.layers
    ]
    assert fields.get_ydata().tolist() == expected


@pytest.mark.parametrize("name", sorted(MODELS))
def test_stage_bands_hold_one_stride_each(name: str, stories: Any) -> None:
    story, analysis = stories[name]
    figure = story.to_matplotlib()
    records = {r.name: r for r in analysis.layers}
    covered = []
    for number, stage in enumerate(story.stages):
        bands = _artist(figure, f"stage-{number}")
        assert len(bands) == 2  # one per panel
        x0, x1 = bands[0].get_x(), bands[0].get_x() + bands[0].get_width()
        members = [layer for layer in story.layers if x0 < layer.index < x1]
        assert {records[layer.name].jump for layer in members} == {stage.jump}
        covered += members
    assert covered == list(story.layers)  # every layer in exactly one band, in order
    for before, after in itertools.pairwise(story.stages):
        assert before.jump != after.jump  # a band ends where the stride changes


@pytest.mark.parametrize("name", sorted(MODELS))
def test_merges_are_marked_and_misaligned_ones_red(name: str, stories: Any) -> None:
    story, analysis = stories[name]
    figure = story.to_matplotlib()
    index = {layer.name: layer.index for layer in story.layers}
    merges = [n.name for n in analysis.graph.nodes if n.op in MERGE_OPS and n.name in index]
    off = {m for m in merges if any(analysis.field_result.misalignment.get(m, ()))}
    drawn: dict[str, list[float]] = {"merges": [], "merges-misaligned": []}
    for gid in drawn:
        for line in _artist(figure, gid):
            drawn[gid] += line.get_xdata().tolist()
    assert sorted(drawn["merges-misaligned"]) == sorted(index[m] for m in off)
    assert sorted(drawn["merges"]) == sorted(index[m] for m in merges if m not in off)


def test_the_tf_same_trap_is_off_by_one_pixel(stories: Any) -> None:
    story, _ = stories["misaligned_pair"]
    (merge,) = story.merges
    assert (merge.name, merge.misalignment, merge.aligned) == ("sum", (Fraction(1),) * 2, False)
    assert story.to_dict()["merges"][0]["misalignment"] == [1, 1]
    assert "1 merges (1 misaligned)" in story.summary()


def test_rendering_is_deterministic(stories: Any) -> None:
    story, _ = stories["fpn_spec"]
    assert story.render("svg") == story.render("svg")
    assert story.render("png") == story.render("png")


def test_json_is_what_was_drawn(stories: Any) -> None:
    story, analysis = stories["resnet18"]
    data = story.to_dict()
    assert [s["jump"] for s in data["stages"]] == [
        [1, 1],
        [2, 2],
        [4, 4],
        [8, 8],
        [16, 16],
        [32, 32],
    ]
    assert data["head"] == analysis.head.name
    assert np.all(np.diff([s["first"] for s in data["stages"]]) > 0)


def test_a_detectors_pyramid_levels_are_drawn_with_the_packages_strides() -> None:
    """YOLOv8n at 640: its three levels at ultralytics' own ``model.stride`` (8, 16, 32),
    each on a 640/s grid, marked at the conv that makes the level's map and drawn at
    that size in the figure."""
    import importlib.util

    if importlib.util.find_spec("ultralytics") is None:  # found, not imported: stridekit's
        pytest.skip("ultralytics is not installed")  # reference keeps its print options out
    from stridekit.frontends.resolve import resolve

    resolved = resolve("ultralytics:yolov8n.yaml")
    assert resolved.module is not None and resolved.input_shape is not None
    strides = [int(s) for s in resolved.module.stride]  # the package's own: [8, 16, 32]
    story = draw_network(analyze(resolved.module, resolved.input_shape))
    assert [m.stride for m in story.outputs] == [(Fraction(s),) * 2 for s in strides]
    assert [m.grid for m in story.outputs] == [(640 // s,) * 2 for s in strides]
    for mark in story.outputs:
        layer = story.layers[mark.index]
        assert layer.size == mark.grid and layer.jump == mark.stride
    (drawn,) = _artist(story.to_matplotlib(), "outputs")
    assert list(drawn.get_ydata()) == [640 // s for s in strides]
    assert [o["stride"] for o in story.to_dict()["outputs"]] == [[s, s] for s in strides]


def test_every_map_a_segmenter_returns_is_drawn() -> None:
    """FCN with its auxiliary head returns two maps (``out``, ``aux``), each resized back
    to the input by its own upsampling (stride 1, 64x64): two marks, named by the keys
    of the returned dict, each at its upsampling."""
    from torchvision.models.segmentation import fcn_resnet50

    model = fcn_resnet50(weights=None, weights_backbone=None, aux_loss=True, num_classes=5)
    story = draw_network(analyze(model, (1, 3, 64, 64)))
    assert [(m.output, m.stride, m.grid) for m in story.outputs] == [
        (name, (Fraction(1),) * 2, (64, 64)) for name in ("out", "aux")
    ]
    assert len({m.index for m in story.outputs}) == 2
    assert all(story.layers[m.index].op == "upsample" for m in story.outputs)
