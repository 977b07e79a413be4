"""torchvision's detectors (RetinaNet, Faster R-CNN, SSD; no weights, small inputs):
their levels against the packages' own answers and measured oracles.

- the levels: as many as the anchor generator has sizes (one per feature map), its
  anchors per position, the feature maps' grids it sees (a hook on an eager forward);
- the strides: the anchor generator's (``image // grid``, of the image after the
  model's own resize and padding); for SSD, whose anchor steps (300 / grid) are not its
  convolutions' strides, the growth of each feature map's grid with the image (the
  backbone run at two sizes: stride = Δimage / Δgrid);
- the resize the model applies (torchvision resizes to ``min_size``): named, with its
  scale, and the strides relative to the resized image;
- each level's field, measured by autograd from the head's output at its first
  position (`levels_oracle`): local and holding every pixel the gradient reaches. The
  batching of images into a padded canvas (``copy_`` into a box) no longer makes them
  global.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
import torch

from stridekit.analysis import Analysis, analyze
from stridekit.output_record import OutputRecord
from tests.passes.levels_oracle import captured, check_extent, make_positive, measure

torchvision = pytest.importorskip("torchvision")
detection = torchvision.models.detection


@dataclass
class Detector:
    model: torch.nn.Module
    analysis: Analysis
    shape: tuple[int, ...]
    outputs: list[tuple[str, tuple[int, ...]]]  # eager: name, shape without the box count
    grids: list[tuple[int, int]]  # the feature maps the anchor generator saw
    image: tuple[int, int]  # the batched (resized, padded) image it saw


def _build(model: torch.nn.Module, shape: tuple[int, ...]) -> Detector:
    torch.manual_seed(0)
    model.eval()
    analysis = analyze(model, shape, device="cpu")
    seen: list[Any] = []
    hook = model.anchor_generator.register_forward_hook(lambda m, args, out: seen.extend(args))
    try:
        with torch.no_grad():
            (out,) = model(torch.rand(shape))
    finally:
        hook.remove()
    images, features = seen[0], seen[1]
    return Detector(
        model,
        analysis,
        shape,
        [(f"0.{key}", tuple(value.shape[1:])) for key, value in out.items()],
        [tuple(f.shape[-2:]) for f in features],
        tuple(images.tensors.shape[-2:]),
    )


@pytest.fixture(scope="module")
def retinanet() -> Detector:
    # 250 x 256 fits 256 without a resize; the batch pads the height to 256 (÷ 32; and
    # ÷ 128, where the anchor generator's ``image // grid`` is the stride on both axes)
    model = detection.retinanet_resnet50_fpn(
        weights=None, weights_backbone=None, min_size=256, max_size=256
    )
    return _build(model, (1, 3, 250, 256))


@pytest.fixture(scope="module")
def faster_rcnn() -> Detector:
    model = detection.fasterrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, min_size=320, max_size=320
    )
    model.anchor_generator = model.rpn.anchor_generator
    # resized 240 x 256 → 300 x 320 inside, then the height padded to 320 (÷ 32)
    return _build(model, (1, 3, 240, 256))


@pytest.fixture(scope="module")
def ssd() -> Detector:
    model = detection.ssd300_vgg16(weights=None, weights_backbone=None)
    return _build(model, (1, 3, 240, 240))  # resized 240 → 300 inside


def _check_levels(found: Detector, anchors: list[int]) -> None:
    analysis = found.analysis
    assert [(o.name, o.shape[1:]) for o in analysis.outputs] == found.outputs
    for output in analysis.outputs:
        assert [lv.grid for lv in output.levels] == found.grids
        assert [lv.per_position for lv in output.levels] == anchors
        assert all(lv.rows is None for lv in output.levels)  # boxes chosen by NMS


def _anchor_strides(image: tuple[int, int], grids: list[tuple[int, int]]) -> list[tuple]:
    """What torchvision's AnchorGenerator takes for strides: ``image // grid``."""
    return [tuple(n // g for n, g in zip(image, grid, strict=True)) for grid in grids]


def _resized(found: Detector) -> tuple[Fraction, Fraction]:
    """Input pixels per pixel of the resized image, per axis (1 where none)."""
    return tuple(Fraction(n, m) for n, m in zip(found.shape[2:], _unpadded(found), strict=True))  # type: ignore[return-value]


def _unpadded(found: Detector) -> tuple[int, int]:
    transform = found.model.transform
    with torch.no_grad():
        images, _ = transform([torch.zeros(found.shape[1:])])
    return tuple(images.image_sizes[0])  # type: ignore[return-value]


def measure_levels(found: Detector, head: torch.nn.Module) -> list[dict[str, Any]]:
    """Each level's first position, measured from ``head``'s output and checked."""
    record: OutputRecord = found.analysis.outputs[0]
    model = make_positive(found.model)
    x = torch.rand(found.shape, generator=torch.Generator().manual_seed(0)) + 0.5

    def targets(x: torch.Tensor) -> list[torch.Tensor]:
        _, out = captured(model, head, x)
        if isinstance(out, dict):  # rows of every level, anchors flattened (RetinaNet, SSD)
            firsts, start = [], 0
            for level in record.levels:
                firsts.append(sum(v[0, start].sum() for v in out.values()))
                start += level.grid[0] * level.grid[1] * level.per_position
            return firsts
        assert isinstance(out, tuple)  # the RPN: one map per level, per output kind
        return [sum(kind[i][0, :, 0, 0].sum() for kind in out) for i in range(len(record.levels))]

    found_levels = []
    for got, level in zip(measure(x, targets), record.levels, strict=True):
        size = level.receptive_field
        predicted = check_extent(got, (0, 0), level.stride, level.rf_start, size, found.shape[2:])
        found_levels.append({"grid": level.grid, "measured": got, "predicted": predicted})
        assert size is not None, "a level's field is local"
    return found_levels


@pytest.mark.soak  # ~30 s on 2 cores: RetinaNet's heads are heavy; Faster R-CNN runs always
def test_retinanet_levels_are_its_anchor_sizes_and_fields_are_local(retinanet: Detector) -> None:
    generator = retinanet.model.anchor_generator
    assert len(generator.sizes) == len(retinanet.grids) == 5  # P3 ... P7
    _check_levels(retinanet, generator.num_anchors_per_location())
    image = retinanet.image  # 256 x 256: the height padded to a multiple of 32
    assert image == (256, 256)
    for output in retinanet.analysis.outputs:
        assert output.resize is None  # 250 x 256 already fits min_size 256
        # 8, 16, 32, 64, 128
        assert [lv.stride for lv in output.levels] == _anchor_strides(image, retinanet.grids)
    measured = measure_levels(retinanet, retinanet.model.head)
    assert len(measured) == 5


def test_faster_rcnn_levels_relative_to_its_resize_and_measured(faster_rcnn: Detector) -> None:
    generator = faster_rcnn.model.rpn.anchor_generator
    assert len(generator.sizes) == len(faster_rcnn.grids) == 5  # P2 ... P6
    _check_levels(faster_rcnn, generator.num_anchors_per_location())
    resized = (300, 320)  # 240 x 256 scaled by min(320 / 240, 320 / 256) = 5/4
    scale = _resized(faster_rcnn)
    assert scale == (Fraction(4, 5),) * 2
    assert faster_rcnn.image == (320, 320)  # the height padded
    anchor_strides = _anchor_strides(faster_rcnn.image, faster_rcnn.grids)  # 4 ... 64
    for output in faster_rcnn.analysis.outputs:
        assert output.resize is not None and output.resize.sizes_out == resized
        assert output.resize.scale == scale
        assert [lv.stride_resized for lv in output.levels] == anchor_strides
        assert [lv.stride for lv in output.levels] == [
            tuple(s * k for s, k in zip(st, scale, strict=True)) for st in anchor_strides
        ]
    assert len(measure_levels(faster_rcnn, faster_rcnn.model.rpn.head)) == 5


@pytest.mark.soak  # ~25 s on 2 cores: VGG-16 at 300 forward, six backwards, two sizes
def test_ssd_levels_strides_are_the_growth_of_its_grids(ssd: Detector) -> None:
    generator = ssd.model.anchor_generator
    assert len(generator.aspect_ratios) == len(ssd.grids) == 6
    _check_levels(ssd, generator.num_anchors_per_location())
    scale = _resized(ssd)
    assert scale == (Fraction(240, 300),) * 2  # SSD resizes to 300 x 300 whatever comes
    sizes = (300, 364)  # both large enough for the last 3 x 3 valid convolutions
    grids = []
    with torch.no_grad():
        for n in sizes:
            maps = ssd.model.backbone(torch.rand(1, 3, n, n))
            grids.append([m.shape[-1] for m in maps.values()])
    growth = [Fraction(sizes[1] - sizes[0], b - a) for a, b in zip(*grids, strict=True)]
    assert growth == [8, 16, 32, 64, 64, 64]
    for output in ssd.analysis.outputs:
        assert output.resize is not None and output.resize.sizes_out == (300, 300)
        assert [lv.stride_resized for lv in output.levels] == [(g, g) for g in growth]
        assert [lv.stride for lv in output.levels] == [(g * scale[0],) * 2 for g in growth]
    assert len(measure_levels(ssd, ssd.model.head)) == 6
