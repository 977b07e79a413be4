"""The outputs and levels of real models built from their packages' configs (no
weights), against the packages' own answers: YOLO's ``model.stride``, the feature maps
torchvision's detection heads run on (hooks on an eager forward), output shapes from a
real forward."""

from __future__ import annotations

import importlib.util
from fractions import Fraction

import numpy as np
import pytest
import torch

from stridekit.analysis import analyze
from stridekit.frontends.torch_outputs import flatten_outputs


def _eager(model: torch.nn.Module, shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(shape))
    return [(name, tuple(t.shape)) for name, t in flatten_outputs(out)]


def test_yolov8n_levels_are_the_package_strides_and_grids() -> None:
    if importlib.util.find_spec("ultralytics") is None:  # found, not imported: see below
        pytest.skip("ultralytics is not installed")
    printing = np.get_printoptions()
    analysis = analyze("ultralytics:yolov8n.yaml", (1, 3, 320, 320))
    # importing ultralytics sets numpy's print options for the whole process; stridekit's
    # reference puts the user's back
    assert np.get_printoptions() == printing
    from ultralytics import YOLO

    model = YOLO("yolov8n.yaml", verbose=False).model
    eager = _eager(model, (1, 3, 320, 320))
    assert [(o.name, o.shape) for o in analysis.outputs] == eager
    feats = [shape for name, shape in eager if name.startswith("1.feats")]
    strides = [int(s) for s in model.stride]  # the package's own: 8, 16, 32
    for output in analysis.outputs[:3]:  # 0 (boxes and classes), 1.boxes, 1.scores
        assert [lv.stride for lv in output.levels] == [(s, s) for s in strides]
        assert [lv.grid for lv in output.levels] == [f[2:] for f in feats]
        ends = [sum(f[2] * f[3] for f in feats[: i + 1]) for i in range(len(feats))]
        assert [lv.rows for lv in output.levels] == list(zip([0, *ends[:-1]], ends, strict=True))
        assert ends[-1] == output.shape[2]
    assert [o.stride for o in analysis.outputs[3:]] == [(s, s) for s in strides]


@pytest.mark.soak  # ~12 s on 2 cores: two traces with real tensors
def test_faster_rcnn_levels_relative_to_its_resize_are_the_anchor_strides() -> None:
    torchvision = pytest.importorskip("torchvision")
    model = torchvision.models.detection.fasterrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, min_size=320, max_size=320
    ).eval()
    sizes: list[tuple[int, int]] = []
    hook = model.rpn.anchor_generator.register_forward_hook(
        lambda module, args, out: sizes.extend(tuple(f.shape[-2:]) for f in args[1])
    )
    image = 256
    try:
        eager = _eager(model, (1, 3, image, image))
    finally:
        hook.remove()
    analysis = analyze(model, (1, 3, image, image), device="cpu")
    # how many boxes survive depends on the values: compare names and the box size
    assert [(o.name, o.shape[1:]) for o in analysis.outputs] == [(n, s[1:]) for n, s in eager]
    resized = 320  # min_size: the transform resizes 256 → 320
    anchor_strides = [resized // h for h, _ in sizes]  # what AnchorGenerator computes
    anchors = model.rpn.anchor_generator.num_anchors_per_location()
    for output in analysis.outputs:
        assert output.resize is not None and output.resize.sizes_out == (resized, resized)
        assert [lv.grid for lv in output.levels] == sizes
        assert [lv.per_position for lv in output.levels] == anchors
        assert [lv.stride_resized for lv in output.levels] == [(s, s) for s in anchor_strides]
        scale = Fraction(image, resized)
        assert [lv.stride for lv in output.levels] == [(s * scale,) * 2 for s in anchor_strides]
        assert all(lv.rows is None for lv in output.levels)  # chosen by NMS


@pytest.mark.parametrize("name", ["fcn_resnet50", "deeplabv3_resnet50"])
def test_segmentation_with_aux_reports_both_outputs(name: str) -> None:
    torchvision = pytest.importorskip("torchvision")
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None, aux_loss=True)
    shape = (1, 3, 64, 64)
    analysis = analyze(model, shape)
    assert [(o.name, o.shape) for o in analysis.outputs] == _eager(model, shape)
    assert [o.stride for o in analysis.outputs] == [(1, 1), (1, 1)]  # resized to the input


def test_segformer_logits_by_its_class_name() -> None:
    pytest.importorskip("transformers")
    analysis = analyze(
        "hf:SegformerForSemanticSegmentation", (1, 3, 64, 64), config={"num_labels": 5}
    )
    import transformers

    model = transformers.SegformerForSemanticSegmentation(
        transformers.SegformerConfig(num_labels=5)
    )
    eager = _eager(model, (1, 3, 64, 64))
    assert [(o.name, o.shape) for o in analysis.outputs] == eager == [("logits", (1, 5, 16, 16))]
    assert analysis.outputs[0].stride == (64 // 16, 64 // 16)
