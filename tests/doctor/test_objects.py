"""The doctor for detection (``objects=``) on real models, against oracles computed here:
the packages' own strides (YOLO's ``model.stride``, the sizes of an FPN's maps in an
eager forward), fields measured by autograd, and the cells arithmetic written beside
each assertion."""

from __future__ import annotations

import importlib.util
from fractions import Fraction

import pytest
import torch
from torch import nn

from stridekit.analysis import Analysis, analyze
from stridekit.doctor import OBJECT_RULES, doctor
from stridekit.errors import ChoiceError, ModelError


@pytest.fixture(scope="module")
def yolo() -> tuple[Analysis, list[int]]:
    if importlib.util.find_spec("ultralytics") is None:
        pytest.skip("ultralytics is not installed")
    analysis = analyze("ultralytics:yolov8n.yaml", (1, 3, 640, 640))
    from stridekit.frontends.packages import _settings_kept

    with _settings_kept():  # ultralytics' print options stay out of the other tests
        from ultralytics import YOLO

        strides = [int(s) for s in YOLO("yolov8n.yaml", verbose=False).model.stride]
    return analysis, strides


def test_yolov8n_levels_are_the_package_strides(yolo: tuple[Analysis, list[int]]) -> None:
    analysis, strides = yolo
    report = doctor(analysis, objects="4:512")
    assert report.objects is not None
    assert [lv.stride for lv in report.objects.levels] == strides  # 8, 16, 32
    assert [lv.grid for lv in report.objects.levels] == [(640 // s,) * 2 for s in strides]
    rows = {row.size: row for row in report.objects.rows}
    finest, middle, coarsest = strides
    # 4/8 = 0.5 cell: lost; 8/8 = 1 cell: fewer than 2; 16/8 = 2: served by P3
    assert (rows[4].level.stride, rows[4].cells, rows[4].verdict) == (
        finest,
        Fraction(1, 2),
        "lost",
    )
    assert (rows[8].cells, rows[8].verdict) == (1, "undersampled")
    assert (rows[16].level.stride, rows[16].cells, rows[16].verdict) == (finest, 2, "served")
    assert (rows[32].level.stride, rows[32].cells) == (middle, 2)  # 32/16 = 2; 32/32 = 1
    # 64/32 = 2 up to 512/32 = 16 cells: the coarsest level serves all of them
    for size in (64, 128, 256, 512):
        assert (rows[size].level.stride, rows[size].cells) == (coarsest, Fraction(size, 32))
    codes = {f.code: f for f in report.findings if f.code in OBJECT_RULES}
    assert set(codes) == {"objects-lost", "objects-undersampled"}
    assert codes["objects-lost"].severity == "warning"
    # the fix in numbers: 4 px needs stride 4/2 = 2 for 2 cells, two octaves below 8: a
    # 640/2 = 320-wide map, 2^2·2^2 = 16 times P3's positions
    assert codes["objects-lost"].fix.startswith("add a level at stride 2 (P1, 2 octaves finer")
    assert "320x320, 16x the positions" in codes["objects-lost"].fix
    # 8 px at stride 4 (P2): 8/4 = 2 cells, a 160x160 map
    undersampled = codes["objects-undersampled"].fix
    assert undersampled.startswith("add a level at stride 4 (P2, one octave finer than P3)")
    assert "objects of 8 px then span 2 cells; its map is 160x160" in undersampled


def test_yolov8n_levels_unused_by_small_objects(yolo: tuple[Analysis, list[int]]) -> None:
    analysis, strides = yolo
    report = doctor(analysis, objects="16:24", select=list(OBJECT_RULES))
    # 16/8 = 2 and 24/8 = 3 cells on P3; on P4 24/16 = 1.5 < 2: P4 and P5 serve nothing
    unused = [f for f in report.findings if f.code == "level-unused"]
    assert [f.data["level"] for f in unused] == ["P4", "P5"]
    # P4 serves 2·16 = 32 px up to 2·32 = 64 px; P5 from 2·32 = 64 px
    assert unused[0].data["serves"] == [2 * strides[1], 2 * strides[2]]
    assert unused[1].data["serves"] == [2 * strides[2], None]
    assert report.to_dict()["objects"]["unused_levels"] == ["P4", "P5"]
    assert {f.code for f in report.findings} == {"level-unused"}  # --select


def _fpn() -> nn.Module:
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    return resnet_fpn_backbone(backbone_name="resnet18", weights=None).eval()


def test_fpn_backbone_maps_are_the_levels() -> None:
    pytest.importorskip("torchvision")
    model = _fpn()
    with torch.no_grad():
        maps = model(torch.randn(1, 3, 256, 256))
    strides = [256 // m.shape[-1] for m in maps.values()]  # the oracle: 4, 8, 16, 32, 64
    report = doctor(analyze(model, (1, 3, 256, 256)), objects="8:256")
    assert report.objects is not None
    assert [lv.stride for lv in report.objects.levels] == strides
    # each size w goes to the coarsest stride with w/stride >= 2
    expected = [max(s for s in strides if Fraction(w, s) >= 2) for w in (8, 16, 32, 64, 128, 256)]
    assert [row.level.stride for row in report.objects.rows] == expected == [4, 8, 16, 32, 64, 64]
    assert all(row.verdict == "served" for row in report.objects.rows)
    assert not [f for f in report.findings if f.code in OBJECT_RULES]
    # P6 max-pools P5: the same field; a 512-px object spans 512/64 = 8 cells of P6 but is
    # wider than that field, so the fix is a level coarser than P6, not P6 again
    report = doctor(analyze(model, (1, 3, 256, 256)), objects="512")
    (finding,) = [f for f in report.findings if f.code == "objects-beyond-field"]
    fields = [lv.field for lv in report.objects.levels]  # type: ignore[union-attr]
    assert fields[-1] == fields[-2] == max(f for f in fields if f is not None) < 512
    assert finding.data["level"] == "P6"
    assert "add a coarser level (P7, stride 128)" in finding.fix  # 2·64
    assert f"by {512 - fields[-1]} px" in finding.fix


def _autograd_field(model: nn.Module, size: int) -> int:
    """The rows of the input that output position (0, 0) depends on."""
    x = torch.zeros(1, 3, size, size, requires_grad=True)
    model(x)[0, :, 0, 0].sum().backward()
    assert x.grad is not None
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero()
    return int(rows.max() - rows.min() + 1)


def test_objects_beyond_the_field() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 4, stride=4), nn.Conv2d(8, 8, 1)).eval()
    nn.init.constant_(model[0].weight, 1.0)
    field = _autograd_field(model, 64)  # 4: one 4x4 window
    report = doctor(analyze(model, (1, 3, 64, 64)), objects="8,16")
    assert report.objects is not None
    assert report.objects.levels[0].field == field
    # 8/4 = 2 and 16/4 = 4 cells, but both are wider than the 4-px field
    assert [(r.cells, r.verdict) for r in report.objects.rows] == [
        (2, "beyond field"),
        (4, "beyond field"),
    ]
    (finding,) = [f for f in report.findings if f.code == "objects-beyond-field"]
    assert finding.data["sizes"] == [8, 16]
    assert f"by {16 - field} px" in finding.fix  # 16 px to see, 4 seen: 12 more
    assert "add a coarser level (P3, stride 8)" in finding.fix  # 2·4


def test_a_model_with_no_spatial_output_is_one_line() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2)
    ).eval()
    with pytest.raises(ModelError) as caught:
        doctor(analyze(model, (1, 3, 32, 32)), objects="8:64")
    assert "no spatial output" in str(caught.value) and "\n" not in str(caught.value)


def test_without_objects_the_report_is_unchanged() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2)).eval()
    analysis = analyze(model, (1, 3, 33, 33))
    plain, with_objects = doctor(analysis), doctor(analysis, objects="4:8")
    assert "objects" not in plain.to_dict()
    assert plain.objects is None
    common = [f for f in with_objects.findings if f.code not in OBJECT_RULES]
    assert common == list(plain.findings)
    with pytest.raises(ChoiceError, match="objects-lost"):  # the codes are listed
        doctor(analysis, select=["objects-nope"])


def test_faster_rcnn_levels_by_their_resized_strides() -> None:
    # ~5 s: a trace with real tensors (the RPN's NMS needs values), at a small resize
    torchvision = pytest.importorskip("torchvision")
    model = torchvision.models.detection.fasterrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, min_size=320, max_size=320
    ).eval()
    report = doctor(analyze(model, (1, 3, 256, 256), device="cpu"), objects="8:64")
    assert report.objects is not None
    # the transform resizes 256 → 320: the anchor strides 4..64 of the resized image are
    # 4·256/320 = 16/5 ... input pixels
    resized = [4, 8, 16, 32, 64]
    assert [lv.stride_resized for lv in report.objects.levels] == resized
    assert [lv.stride for lv in report.objects.levels] == [Fraction(s * 256, 320) for s in resized]
    assert [lv.name for lv in report.objects.levels] == ["P2", "P3", "P4", "P5", "P6"]
    # 8 px over 16/5 = 2.5 cells on P2; 16/(32/5) = 2.5 on P3
    rows = report.objects.rows
    assert [(r.level.name, r.cells) for r in rows[:2]] == [
        ("P2", Fraction(5, 2)),
        ("P3", Fraction(5, 2)),
    ]


@pytest.mark.parametrize(
    ("stride", "expected"),
    [
        # 1 px at stride 4: a quarter cell; stride 4/2² = 1 is as fine as the pixels go (1
        # cell), so 2 cells need the input upsampled 2/1 = 2 times
        (
            4,
            "add a level at stride 1 (P0, 2 octaves finer than P2): objects of 1 px then "
            "span 1 cell; its map is 64x64, 16x the positions of P2's; 2 cells need the input "
            "upsampled 2x",
        ),
        (1, "P0 already has a cell per pixel: 2 cells need the input upsampled 2x"),
    ],
)
def test_the_finer_level_stops_at_one_cell_per_pixel(stride: int, expected: str) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, stride, stride=stride)).eval()
    report = doctor(analyze(model, (1, 3, 64, 64)), objects="1")
    (finding,) = [f for f in report.findings if f.code.startswith("objects-")]
    assert finding.fix.startswith(expected)
