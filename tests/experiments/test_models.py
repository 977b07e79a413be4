"""Every family with every downsampling op: shapes, and the output stride the geometry
gives (the product of the stage strides), checked by stridekit's analysis."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import stridekit
from stridekit.experiments.datasets import DataInfo
from stridekit.experiments.models import FAMILIES, OPS, build_model, learned_strides
from stridekit.experiments.spec import ModelConfig
from stridekit.nn import BlurPool2d, DiffStride2d, SpaceToDepth

CLASSIFY = DataInfo("classification", 3, (32, 32), 7)
SEGMENT = DataInfo("segmentation", 1, (30, 30), 3)
DETECT = DataInfo("detection", 1, (32, 32), 1)
SPEC = {"layers": [{"type": "conv", "channels": 8, "kernel": 3, "stride": 2, "padding": 1}]}
KNOBS = {
    "plain-cnn": {"strides": (2, 1, 2), "width": 4},
    "resnet-cifar": {"strides": (1, 2, 2, 1), "width": 4, "depth": 1},
    "fcn": {"strides": (2, 2), "width": 4},
    "centernet": {"strides": (2, 1, 2), "width": 4},
    "spec": {"spec": SPEC},
}
PIXEL_OPS = {"max_pool": nn.MaxPool2d, "avg_pool": nn.AvgPool2d, "blur_pool": BlurPool2d}
PIXEL_OPS |= {"spd": SpaceToDepth, "diffstride": DiffStride2d}


def test_every_family_has_its_knobs_here() -> None:
    assert set(KNOBS) == set(FAMILIES)


def _info(family: str) -> DataInfo:
    return {"fcn": SEGMENT, "centernet": DETECT}.get(family, CLASSIFY)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_output_shape_and_stride(family: str, op: str) -> None:
    config = ModelConfig(family=family, op=op, **KNOBS[family])
    info = _info(family)
    torch.manual_seed(0)
    model = build_model(config, info)
    x = torch.randn(2, info.channels, *info.size)
    if info.task == "segmentation":
        assert model(x).shape == (2, info.num_classes, *info.size)
    elif info.task == "detection":  # heatmap, offset (2), size (2) on the coarsest map
        assert model(x).shape[:2] == (2, 5)
    else:
        assert model(x).shape == (2, info.num_classes)
    analysis = stridekit.analyze(model, (1, info.channels, *info.size))
    strides = [2] if family == "spec" else config.strides
    coarsest = max(r.jump for r in analysis.layers if r.jump)  # a segmenter's output stride
    if op != "diffstride" or family == "spec":  # DiffStride's stride is n/S + a margin
        assert coarsest == (math.prod(strides),) * 2
        if info.task != "segmentation":
            assert analysis.output_stride == coarsest
        if info.task == "detection":
            assert model(x).shape[2:] == (32 // 4, 32 // 4)
    if op in PIXEL_OPS and family != "spec":
        assert any(isinstance(m, PIXEL_OPS[op]) for m in model.modules())
    elif family != "spec":
        assert not any(isinstance(m, tuple(PIXEL_OPS.values())) for m in model.modules())


def test_a_stride_one_stage_has_no_downsampling_op() -> None:
    model = build_model(ModelConfig(strides=(1, 1), op="max_pool", width=4), CLASSIFY)
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())


def test_transposed_decoder_has_one_deconv_per_strided_stage() -> None:
    config = ModelConfig(family="fcn", strides=(2, 1, 3), width=4, decoder="transposed")
    model = build_model(config, SEGMENT)
    deconvs = [m for m in model.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [d.stride for d in deconvs] == [(3, 3), (2, 2)]
    assert model(torch.zeros(1, 1, 30, 30)).shape == (1, 3, 30, 30)
    findings = stridekit.doctor(stridekit.analyze(model, (1, 1, 30, 30))).findings
    assert "uneven-coverage" in {f.code for f in findings}  # kernel 3, stride 2: checkerboard


def test_learned_strides_are_read_from_every_diffstride_layer() -> None:
    model = build_model(ModelConfig(strides=(2, 3), op="diffstride", width=4), CLASSIFY)
    layers = [m for m in model.modules() if isinstance(m, DiffStride2d)]
    with torch.no_grad():
        layers[1].strides.copy_(torch.tensor([2.5, 0.5]))
    strides = learned_strides(model)
    assert list(strides.values()) == [2.0, 2.0, 2.5, 1.0]  # max(S, 1) per axis


def test_a_spec_model_with_batch_norm_builds_and_runs() -> None:
    """The body's output shape comes from the spec's analysis, not a meta forward pass
    (which met the body's real BatchNorm buffers and crashed)."""
    spec = {"layers": [{"type": "conv", "channels": 4, "kernel": 3, "stride": 2, "padding": 1},
                       {"type": "batch_norm"}, {"type": "relu"}]}  # fmt: skip
    model = build_model(
        ModelConfig(family="spec", spec=spec), DataInfo("classification", 1, (8, 8), 3)
    )
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 3)
