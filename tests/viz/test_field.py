"""Receptive-field overlays: the box drawn is the analysis' field of the position, the
effective field lies inside it (and fills it exactly for a linear network with positive
weights), and the user's model comes back exactly as it was."""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from stridekit.analysis import analyze
from stridekit.errors import ChoiceError, ModelError, SizeError, UnsupportedError, UsageError
from stridekit.viz import FieldOverlay, draw_field
from stridekit.viz.sample_image import fit_image


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=2, dilation=2),
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Conv2d(4, 4, 5, stride=4),
    )


# (model, input, layer, position): layers named as nodes or as modules
CASES: dict[str, tuple[Any, tuple[int, ...], str, tuple[int, int] | None]] = {
    "small_middle": (small_net, (1, 3, 40, 40), "3", None),
    "small_upsampled": (small_net, (1, 3, 40, 40), "5", (2, 7)),
    "small_corner": (small_net, (1, 3, 40, 40), "0", (0, 0)),
    "resnet18_module": ("torchvision:resnet18", (1, 3, 64, 64), "layer2", (3, 4)),
    "resnet18_second_call": ("torchvision:resnet18", (1, 3, 64, 64), "layer1.0.relu:1", (0, 15)),
}


def overlay(name: str) -> FieldOverlay:
    model, shape, layer, at = CASES[name]
    return draw_field(model() if callable(model) else model, shape, layer=layer, at=at)


@pytest.fixture(scope="module")
def overlays() -> dict[str, FieldOverlay]:
    return {name: overlay(name) for name in CASES}


def _record(name: str, o: FieldOverlay) -> Any:
    model, shape, _, _ = CASES[name]
    analysis = analyze(model() if callable(model) else model, shape)
    return next(r for r in analysis.layers if r.name == o.layer)


@pytest.mark.parametrize("name", sorted(CASES))
def test_drawn_box_is_the_analysis_field(name: str, overlays: dict[str, FieldOverlay]) -> None:
    o = overlays[name]
    record = _record(name, o)
    # the analysis: output m reads [m·J + lo, m·J + lo + rf − 1] on each axis
    (top, bottom), (left, right) = (
        (m * j + lo, m * j + lo + rf - 1)
        for m, j, lo, rf in zip(o.at, record.jump, record.rf_start, record.rf, strict=True)
    )
    figure = o.to_matplotlib()
    for gid in ("rf-box", "rf-box-effective"):
        (box,) = [p for ax in figure.axes for p in ax.patches if p.get_gid() == gid]
        assert (box.get_x(), box.get_y()) == (float(left) - 0.5, float(top) - 0.5)
        assert (box.get_width(), box.get_height()) == (
            float(right - left + 1),
            float(bottom - top + 1),
        )
    data = o.to_dict()
    assert data["box"] == {
        "rows": [
            int(top) if top.denominator == 1 else str(top),
            int(bottom) if bottom.denominator == 1 else str(bottom),
        ],
        "columns": [
            int(left) if left.denominator == 1 else str(left),
            int(right) if right.denominator == 1 else str(right),
        ],
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_centres_are_the_feature_map_grid(name: str, overlays: dict[str, FieldOverlay]) -> None:
    o = overlays[name]
    record = _record(name, o)
    (points,) = [
        c for ax in o.to_matplotlib().axes for c in ax.collections if c.get_gid() == "centres"
    ]
    drawn = points.get_offsets()
    rows, columns = record.output_shape[2:]
    assert len(drawn) == rows * columns
    middle = [lo + (rf - 1) / 2 for lo, rf in zip(record.rf_start, record.rf, strict=True)]
    expected = {
        (float(c * record.jump[1] + middle[1]), float(r * record.jump[0] + middle[0]))
        for r in range(rows)
        for c in range(columns)
    }
    assert {(float(x), float(y)) for x, y in drawn} == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_effective_field_lies_inside_the_theoretical_one(
    name: str, overlays: dict[str, FieldOverlay]
) -> None:
    o = overlays[name]
    assert o.effective is not None and o.effective.any()
    rows, columns = np.nonzero(o.effective)
    (top, bottom), (left, right) = o.rows, o.columns
    assert top <= rows.min() and rows.max() <= bottom
    assert left <= columns.min() and columns.max() <= right
    assert o.inside_box == 1.0


def test_positive_linear_network_fills_its_field_exactly() -> None:
    """With positive weights nothing cancels: every pixel of the field inside the image has
    a non-zero gradient, so the box is tight."""
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2, padding=1),
        nn.Conv2d(2, 2, 3, dilation=2),
        nn.AvgPool2d(2, stride=2),
    )
    for parameter in net.parameters():
        nn.init.constant_(parameter, 0.1)
    o = draw_field(net, (1, 1, 31, 29), layer="2", at=(2, 1))
    box = np.zeros_like(o.effective, dtype=bool)
    (top, bottom), (left, right) = o.rows, o.columns
    box[max(0, int(top)) : int(bottom) + 1, max(0, int(left)) : int(right) + 1] = True
    assert np.array_equal(o.effective > 0, box)


def _state(model: nn.Module) -> dict[str, Any]:
    return {
        "tensors": {k: v.clone() for k, v in model.state_dict().items()},
        "training": [m.training for m in model.modules()],
        "hooks": [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()],
        "grads": [p.grad for p in model.parameters()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
    }


def test_the_users_model_is_left_as_it_was() -> None:
    net = small_net().train()  # train mode: a forward there would move BatchNorm's statistics
    net[3].weight.requires_grad_(False)
    x = torch.randn(1, 3, 40, 40)
    before, output = _state(net), net.eval()(x).detach()
    net.train()
    draw_field(net, (1, 3, 40, 40), layer="3")
    after = _state(net)
    assert before["training"] == after["training"] and before["hooks"] == after["hooks"]
    assert after["grads"] == [None] * len(after["grads"])
    assert before["requires_grad"] == after["requires_grad"]
    assert before["tensors"].keys() == after["tensors"].keys()
    for key, value in before["tensors"].items():
        assert torch.equal(value, after["tensors"][key]), key
    assert torch.equal(net.eval()(x), output)


def test_zoo_models_get_seeded_weights() -> None:
    a = draw_field("torchvision:resnet18", (1, 3, 32, 32), layer="layer1")
    b = draw_field("torchvision:resnet18", (1, 3, 32, 32), layer="layer1")
    assert a.effective is not None and np.array_equal(a.effective, b.effective)
    assert a.render("png") == b.render("png")


def test_the_image_is_the_users_file(tmp_path: Any) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "picture.png")
    o = draw_field(
        small_net(), (1, 3, 20, 20), layer="0", image=tmp_path / "picture.png", effective=False
    )
    assert np.array_equal(o.image, fit_image(pixels, (20, 20)))
    assert o.effective is None and "effective" not in o.to_dict()
    assert o.image_name == "picture.png"


def test_the_default_image_is_the_sample_photo() -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_sample_image

    o = draw_field(small_net(), (1, 3, 24, 36), layer="0", effective=False)
    assert np.array_equal(o.image, fit_image(load_sample_image("china.jpg"), (24, 36)))


def test_fractional_fields_after_upsampling() -> None:
    o = draw_field(small_net(), (1, 3, 40, 40), layer="4", effective=False)
    # conv k3 s2 p1: J 2, [-1, 1]; conv k3 d2 p2 (extent 5): J 2, [-1 - 2·2, 1 + 2·2] = [-5, 5];
    # bilinear x2 reads [i/2 - 1, i/2 + 3/4]: J 1, [-5 - 1·2, 5 + (3/4)·2] = [-7, 13/2]
    assert (o.jump, o.lo, o.hi) == ((1, 1), (-7, -7), (Fraction(13, 2), Fraction(13, 2)))
    (box,) = [p for p in o.to_matplotlib().axes[0].patches if p.get_gid() == "rf-box"]
    assert box.get_width() == 13 / 2 + 7 + 1


@pytest.mark.parametrize(
    ("layer", "at", "error", "match"),
    [
        ("layer1.0/add", None, UsageError, "op inside layer1.0"),
        ("fc", None, UnsupportedError, "global"),
        ("layer9", None, ChoiceError, "no layer or module"),
        ("layer4", (7, 0), SizeError, "outside layer4"),
    ],
)
def test_bad_requests(layer: str, at: tuple[int, int] | None, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        draw_field("torchvision:resnet18", (1, 3, 224, 224), layer=layer, at=at)


def test_a_model_without_weights_gets_one_line() -> None:
    with torch.device("meta"):
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3))
    with pytest.raises(ModelError, match="has no weights"):
        draw_field(net, (1, 3, 16, 16), layer="1")


def test_a_failing_forward_gets_one_line() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.device.type != "meta":  # traced on meta alone
                raise RuntimeError("only traced")
            return self.conv(x)

    with pytest.raises(ModelError, match=r"forward pass on cpu failed \(RuntimeError: only traced"):
        draw_field(Broken(), (1, 3, 16, 16), layer="conv")


def test_an_input_that_is_not_an_image() -> None:
    with pytest.raises(UnsupportedError, match="N x C x H x W"):
        draw_field(nn.Conv1d(1, 1, 3), (1, 1, 16), layer="", effective=False)


def test_png_and_svg() -> None:
    o = overlay("small_corner")
    assert Image.open(io.BytesIO(o.render("png"))).format == "PNG"
    svg = o.render("svg").decode()
    assert svg.startswith("<?xml") and 'id="rf-box"' in svg  # a file that stands alone
    assert o._repr_svg_() == svg[svg.index("<svg") :]  # inline: no prologue
