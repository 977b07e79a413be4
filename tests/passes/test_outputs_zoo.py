"""The outputs and levels of real models built from their packages' configs (no
weights), against oracles computed here: the packages' own strides (YOLO's
``model.stride``), output shapes from a real forward, and receptive fields measured by
autograd at one position of every output and every level (`levels_oracle`): a local
field holds every pixel the gradient reaches, a global one is reported only where the
gradient reaches the whole image. torchvision's detectors: `test_outputs_detectors`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch

from stridekit.analysis import Analysis, analyze
from stridekit.frontends.torch_outputs import flatten_outputs
from tests.passes.levels_oracle import check_extent, make_positive, measure


@dataclass
class Built:
    """A model, stridekit's analysis of it and its eager outputs (before `make_positive`)."""

    model: torch.nn.Module
    analysis: Analysis
    shape: tuple[int, ...]
    eager: list[tuple[str, tuple[int, ...]]]


def _eager(model: torch.nn.Module, shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(shape))
    return [(name, tuple(t.shape)) for name, t in flatten_outputs(out)]


def _built(model: torch.nn.Module, analysis: Analysis, shape: tuple[int, ...]) -> Built:
    torch.manual_seed(0)
    return Built(model.eval(), analysis, shape, _eager(model, shape))


def _ultralytics(name: str, shape: tuple[int, ...]) -> Built:
    if importlib.util.find_spec("ultralytics") is None:  # found, not imported: see below
        pytest.skip("ultralytics is not installed")
    from PIL import Image

    printing, save, image_open = np.get_printoptions(), torch.save, Image.open
    analysis = analyze(f"ultralytics:{name}", shape)
    # importing ultralytics sets numpy's print options and patches torch.save and
    # PIL.Image.open for the whole process; stridekit's reference puts the user's back
    assert np.get_printoptions() == printing
    assert torch.save is save and Image.open is image_open
    from stridekit.frontends.packages import _settings_kept

    with _settings_kept():  # ultralytics' print options stay out of the other tests
        from ultralytics import YOLO

        model = YOLO(name, verbose=False).model
    return _built(model, analysis, shape)


@pytest.fixture(scope="module")
def yolov8n() -> Built:
    return _ultralytics("yolov8n.yaml", (1, 3, 256, 256))


@pytest.fixture(scope="module")
def yolo11n_seg() -> Built:
    return _ultralytics("yolo11n-seg.yaml", (1, 3, 128, 128))  # global fields: any size


def _torchvision_segmentation(name: str) -> Built:
    torchvision = pytest.importorskip("torchvision")
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None, aux_loss=True)
    shape = (1, 3, 96, 96)
    return _built(model, analyze(model, shape), shape)


@pytest.fixture(scope="module")
def fcn() -> Built:
    return _torchvision_segmentation("fcn_resnet50")


@pytest.fixture(scope="module")
def deeplab() -> Built:
    return _torchvision_segmentation("deeplabv3_resnet50")


SEGFORMER = {  # a small SegFormer: the default's structure, narrower and shallower
    "num_labels": 5,
    "hidden_sizes": [16, 32, 64, 128],
    "depths": [1, 1, 1, 1],
    "decoder_hidden_size": 32,
}


@pytest.fixture(scope="module")
def segformer() -> Built:
    transformers = pytest.importorskip("transformers")
    shape = (1, 3, 64, 64)
    analysis = analyze("hf:SegformerForSemanticSegmentation", shape, config=SEGFORMER)
    model = transformers.SegformerForSemanticSegmentation(transformers.SegformerConfig(**SEGFORMER))
    return _built(model, analysis, shape)


@dataclass(frozen=True)
class Target:
    """One position measured: of a map (``row`` None: its top-left) or of a level's rows
    (``row``: the dim and the row of the level's top-left position, first anchor)."""

    output: str
    row: tuple[int, int] | None
    stride: tuple[Fraction, ...]
    start: tuple[Fraction, ...]
    size: tuple[Fraction, ...] | None  # None: global
    grid: tuple[int, ...]


def _targets(analysis: Analysis) -> list[Target]:
    found = []
    for record in analysis.outputs:
        for level in record.levels:
            assert level.rows is not None and record.row_dim is not None
            row = (record.row_dim, level.rows[0])
            found.append(
                Target(
                    record.name,
                    row,
                    level.stride,
                    level.rf_start,
                    level.receptive_field,
                    level.grid,
                )
            )
        if record.stride is not None:
            start = tuple(f.lo for f in analysis.field_result.fields[record.node])
            found.append(
                Target(
                    record.name,
                    None,
                    record.stride,
                    start,
                    record.receptive_field,
                    record.shape[2:],
                )
            )
    return found


def measure_outputs(built: Built) -> list[dict[str, Any]]:
    """Measure and check one position (the top-left) of every output that holds
    positions and of every level with rows; what was measured and predicted."""
    model, asked = make_positive(built.model), _targets(built.analysis)
    x = torch.rand(built.shape, generator=torch.Generator().manual_seed(0)) + 0.5

    def scalars(x: torch.Tensor) -> list[torch.Tensor]:
        outputs = dict(flatten_outputs(model(x)))
        return [
            outputs[t.output][0, ..., 0, 0].sum()
            if t.row is None
            else outputs[t.output].select(*t.row).sum()
            for t in asked
        ]

    found = []
    for got, t in zip(measure(x, scalars), asked, strict=True):
        predicted = check_extent(got, (0, 0), t.stride, t.start, t.size, built.shape[2:])
        found.append(
            {
                "output": t.output,
                "grid": t.grid,
                "measured": got,
                "predicted": predicted,
                "global": t.size is None,
            }
        )
    return found


def _check_yolo(built: Built) -> None:
    analysis, model = built.analysis, built.model
    assert [(o.name, o.shape) for o in analysis.outputs] == built.eager
    strides = [int(s) for s in model.stride]  # the package's own: 8, 16, 32
    feats = [shape for name, shape in built.eager if name.startswith("1.feats")]
    ends = [sum(f[2] * f[3] for f in feats[: i + 1]) for i in range(len(feats))]
    rows = [o for o in analysis.outputs if o.levels]
    assert rows and all(o.shape[2] == ends[-1] for o in rows)  # 8400 at 640
    for output in rows:
        assert [lv.stride for lv in output.levels] == [(s, s) for s in strides]
        assert [lv.grid for lv in output.levels] == [f[2:] for f in feats]
        assert [lv.rows for lv in output.levels] == list(zip([0, *ends[:-1]], ends, strict=True))
    maps = {o.name: o.stride for o in analysis.outputs if o.name.startswith("1.feats")}
    assert list(maps.values()) == [(s, s) for s in strides]


def test_yolov8n_levels_are_the_package_strides_grids_and_measured_fields(yolov8n: Built) -> None:
    _check_yolo(yolov8n)
    measured = measure_outputs(yolov8n)
    # 3 outputs of rows (boxes and classes, boxes, scores) x 3 levels, 3 feature maps
    assert len(measured) == 12
    assert not any(m["global"] for m in measured)  # convolutions only: every field local


def test_yolo11n_seg_levels_and_its_attention_makes_every_field_global(yolo11n_seg: Built) -> None:
    _check_yolo(yolo11n_seg)
    names = [o.name for o in yolo11n_seg.analysis.outputs]
    assert {"1.mask_coefficient", "1.proto"} <= set(names)
    proto = next(o for o in yolo11n_seg.analysis.outputs if o.name == "1.proto")
    assert proto.stride == (4, 4)  # the prototypes' map: a quarter of the input
    measured = measure_outputs(yolo11n_seg)
    assert len(measured) == 4 * 3 + 3 + 2  # 4 outputs of rows x 3 levels; 3 feats, 2 protos
    # C2PSA attends over every position at stride 32 and feeds every level: the gradient
    # reaches the whole image (check_extent asserts it for each global field)
    assert all(m["global"] for m in measured)


@pytest.mark.parametrize("which", ["fcn", "deeplab"])
def test_segmentation_with_aux_reports_both_outputs_with_measured_fields(
    which: str, request: pytest.FixtureRequest
) -> None:
    built: Built = request.getfixturevalue(which)
    analysis = built.analysis
    assert [(o.name, o.shape) for o in analysis.outputs] == built.eager
    assert [o.name for o in analysis.outputs] == ["out", "aux"]
    assert [o.stride for o in analysis.outputs] == [(1, 1), (1, 1)]  # resized to the input
    measured = measure_outputs(built)
    assert len(measured) == 2
    # DeepLabV3's ASPP pools the whole map (global); FCN and the aux heads are convolutions
    expected = [which == "deeplab", False]
    assert [m["global"] for m in measured] == expected


def test_segformer_logits_by_its_class_name_with_a_measured_global_field(
    segformer: Built,
) -> None:
    analysis = segformer.analysis
    assert [(o.name, o.shape) for o in analysis.outputs] == segformer.eager
    assert segformer.eager == [("logits", (1, 5, 16, 16))]
    assert analysis.outputs[0].stride == (64 // 16, 64 // 16)
    # efficient self-attention: keys and values of the whole (reduced) map
    assert [m["global"] for m in measure_outputs(segformer)] == [True]
