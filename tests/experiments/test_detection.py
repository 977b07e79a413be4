"""The detection experiment: the generated data against its own pixels, the size metrics
against hand-computed cases, CenterNet's loss on a tiny overfit, a tiny sweep end to end
(stored, reported, with its recall-by-size plot)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy import ndimage

from stridekit.errors import SweepSpecError
from stridekit.experiments.checks import check_config
from stridekit.experiments.datasets import load_dataset
from stridekit.experiments.detection_loss import (
    centernet_loss,
    centernet_targets,
    focal_loss,
    gaussian_radius,
)
from stridekit.experiments.detection_metrics import (
    BUCKETS,
    average_precision,
    bucket_of,
    decode,
    evaluate_boxes,
)
from stridekit.experiments.models import build_model
from stridekit.experiments.report import build_report
from stridekit.experiments.spec import DatasetConfig, ModelConfig, TrialConfig
from stridekit.experiments.sweep import run_sweep

SMALL = {"n_train": 24, "n_test": 8, "size": 64, "max_size": 32}

TINY_SWEEP = """
name: tiny-detection
dataset: {name: synthetic-detection, options: {size: 32, n_train: 48, n_test: 16, max_size: 16}}
task: detection
model: {family: centernet, width: 4, depth: 1}
training: {epochs: 1, batch_size: 16}
metrics: [recall_4_8, recall_8_16, ap, latency]
vary: {strides: [[2, 1], [2, 2, 2, 2]]}
seeds: [0]
"""


def _data(**options: Any) -> Any:
    return load_dataset(DatasetConfig(name="synthetic-detection", options={**SMALL, **options}))


def test_the_seed_fixes_images_and_boxes() -> None:
    a, b, other = _data(seed=1), _data(seed=1), _data(seed=2)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.train.y, b.train.y)
    assert not torch.equal(a.train.y, other.train.y)
    assert not torch.equal(a.train.y[: len(a.test.y)], a.test.y)  # two streams


def _bright_boxes(image: np.ndarray) -> set[tuple[int, ...]]:
    """The bounding boxes of the bright blobs (squares at 1.0; lines are at 0.5)."""
    labels, _ = ndimage.label(image > 0.75)
    return {
        (cols.start, rows.start, cols.stop, rows.stop)
        for rows, cols in ndimage.find_objects(labels)
    }


def test_boxes_are_the_bounding_boxes_of_the_bright_pixels() -> None:
    data = _data(noise=0.0, clutter=4)
    std, mean = data.std[0], data.mean[0]
    images = (data.train.x[:, 0] * std + mean).numpy()
    assert ((images > 0.25) & (images < 0.75)).any()  # clutter lines are there, dimmer
    for image, boxes in zip(images, data.train.y, strict=True):
        real = boxes[boxes[:, 2] > boxes[:, 0]]
        assert (boxes[len(real) :] == -1).all()  # padding after the objects
        assert {tuple(int(v) for v in box) for box in real} == _bright_boxes(image)


def test_sizes_cover_every_bucket_and_stay_in_range() -> None:
    boxes = _data(n_train=200, size=96, max_size=64).train.y.reshape(-1, 4)
    boxes = boxes[boxes[:, 2] > boxes[:, 0]]
    sides = (boxes[:, 2] - boxes[:, 0]).tolist()
    assert min(sides) >= 4 and max(sides) <= 64
    assert {bucket_of(side) for side in sides} == set(range(len(BUCKETS)))


def test_a_resized_input_scales_the_boxes() -> None:
    config = DatasetConfig(name="synthetic-detection", options=SMALL)
    native, resized = load_dataset(config), load_dataset(config, input_size=32)
    real = native.train.y >= 0
    assert torch.equal(resized.train.y[real], native.train.y[real] / 2)
    assert (resized.train.y[~real] == -1).all()


def test_impossible_sizes_are_a_spec_error() -> None:
    with pytest.raises(SweepSpecError, match="max_size <= size"):
        _data(size=32, max_size=64)


# -- metrics --------------------------------------------------------------------------
def _truth() -> torch.Tensor:
    """Two images: squares of 6, 12, 24 and 48 px, one per bucket, padding after."""
    truth = torch.full((2, 3, 4), -1.0)
    truth[0, 0] = torch.tensor([0.0, 0.0, 6.0, 6.0])
    truth[0, 1] = torch.tensor([20.0, 20.0, 32.0, 32.0])
    truth[1, 0] = torch.tensor([0.0, 0.0, 24.0, 24.0])
    truth[1, 1] = torch.tensor([40.0, 40.0, 88.0, 88.0])
    return truth


def test_a_perfect_prediction_has_recall_and_ap_one() -> None:
    truth = _truth()
    scores = torch.tensor([[0.9, 0.8, 0.0], [0.7, 0.6, 0.0]])
    boxes = torch.where(truth >= 0, truth, torch.tensor(200.0))  # the padding: far away
    result = evaluate_boxes(boxes, scores, truth)
    assert all(result[f"recall_{lo}_{hi}"] == 1.0 for lo, hi in BUCKETS)
    assert all(result[f"ap_{lo}_{hi}"] == 1.0 for lo, hi in BUCKETS)
    assert result["recall"] == result["ap"] == 1.0


@pytest.mark.parametrize(("side", "shift"), [(12, 4), (12, 5), (24, 8), (24, 9), (6, 2)])
def test_a_shifted_box_counts_while_its_iou_is_at_least_half(side: int, shift: int) -> None:
    truth = torch.tensor([[[10.0, 10.0, 10.0 + side, 10.0 + side]]])
    moved = truth + torch.tensor([float(shift), 0.0, float(shift), 0.0])
    iou = (side - shift) / (side + shift)  # two squares shifted along one axis
    result = evaluate_boxes(moved, torch.ones(1, 1), truth)
    found = 1.0 if iou >= 0.5 else 0.0
    bucket = BUCKETS[bucket_of(side) or 0]
    assert result[f"recall_{bucket[0]}_{bucket[1]}"] == found == result["recall"]
    assert result["ap"] == found


def test_a_false_positive_ranked_first_halves_the_precision() -> None:
    truth = torch.tensor([[[0.0, 0.0, 12.0, 12.0], [30.0, 30.0, 42.0, 42.0]]])
    boxes = torch.tensor([[[60.0, 60.0, 72.0, 72.0], [0.0, 0.0, 12.0, 12.0]]])
    result = evaluate_boxes(boxes, torch.tensor([[0.9, 0.8]]), truth)
    # ranks: FP (P 0/1), TP (P 1/2, R 1/2); the second object is never found: AP ½·½
    assert result["recall_8_16"] == 0.5 and result["ap_8_16"] == 0.25
    assert average_precision([(0.9, False), (0.8, True)], 2) == 0.25


def test_a_detection_of_another_size_is_ignored_by_a_bucket() -> None:
    truth = torch.tensor([[[0.0, 0.0, 6.0, 6.0]]])
    boxes = torch.tensor([[[40.0, 40.0, 88.0, 88.0], [0.0, 0.0, 6.0, 6.0]]])
    result = evaluate_boxes(boxes, torch.tensor([[0.9, 0.5]]), truth)
    assert result["ap_4_8"] == 1.0  # the 48-px false positive is not a 4-8 px detection
    assert result["ap"] == 0.5  # over all sizes it is: P ½ at recall 1
    assert result["recall_32_64"] is None


@pytest.mark.parametrize("stride", [1, 4, 8])
def test_decoding_the_targets_gives_the_boxes_back(stride: int) -> None:
    truth = _truth()
    image = 96
    grid = (image // stride, image // stride)
    heat, cells, regression, counts = centernet_targets(truth, grid, stride)
    output = torch.full((2, 5, *grid), 0.0)
    output[:, 0] = torch.where(heat == 1, 10.0, -10.0)
    output[cells[:, 0], 1:, cells[:, 1], cells[:, 2]] = regression
    boxes, scores = decode(output, (image, image), top_k=2)
    assert counts.tolist() == [2, 2]
    order = boxes[..., 0].argsort(dim=1)  # equal scores: any order
    in_order = boxes.gather(1, order[..., None].expand(-1, -1, 4))
    assert torch.allclose(in_order, truth[:, :2], atol=1e-4)
    assert evaluate_boxes(boxes, scores, truth)["ap"] == 1.0


def test_the_focal_loss_by_hand() -> None:
    # p = sigmoid(0) = 0.5 at a peak (target 1) and at a cell of target 0.5:
    # peak: -log(0.5)·(1-0.5)² = 0.17329; other: -log(0.5)·0.5²·(1-0.5)⁴ = 0.01083; one peak
    loss = focal_loss(torch.zeros(1, 2), torch.tensor([[1.0, 0.5]]))
    expected = math.log(2) * 0.25 + math.log(2) * 0.25 * 0.5**4
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_the_heatmap_is_a_gaussian_around_the_centre_cell() -> None:
    truth = torch.tensor([[[32.0, 32.0, 64.0, 64.0]]])  # 32 px at stride 4: 8 cells, centre 12
    heat, cells, _, _ = centernet_targets(truth, (24, 24), stride=4)
    radius = int(gaussian_radius(8.0, 8.0))
    sigma = (2 * radius + 1) / 6
    assert cells.tolist() == [[0, 12, 12]] and radius >= 1
    assert float(heat[0, 12, 13]) == pytest.approx(math.exp(-1 / (2 * sigma**2)))
    assert float(heat[0, 12 + radius, 12 + radius]) > 0 == float(heat[0, 12, 13 + radius])


def test_two_objects_in_one_cell_leave_one_peak() -> None:
    truth = torch.tensor([[[0.0, 0.0, 4.0, 4.0], [6.0, 6.0, 10.0, 10.0]]])
    heat, *_ = centernet_targets(truth, (1, 1), stride=32)
    assert (heat == 1).sum() == 1  # at stride 32 the two 4-px squares share the cell


# -- training ---------------------------------------------------------------------------
def test_the_loss_falls_on_a_tiny_overfit() -> None:
    data = _data(n_train=8, size=32, max_size=16, noise=0.0)
    info = data.info
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="centernet", strides=(2, 2), width=8), info)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        loss = centernet_loss(model(data.train.x), data.train.y, info.size)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0], losses[::10]


def test_augmentation_is_refused_for_detection() -> None:
    config = TrialConfig(
        dataset={"name": "synthetic-detection", "options": SMALL},
        task="detection",
        model={"family": "centernet", "strides": [2]},
        training={"augmentation": {"flip": True}},
    )
    with pytest.raises(SweepSpecError, match=r"training\.augmentation"):
        check_config(config)


def test_a_tiny_sweep_is_stored_and_reported_with_recall_by_size(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SWEEP)
    summary = run_sweep(spec, show_progress=False)
    assert summary.counts["done"] == 2, summary.counts
    report = build_report(tmp_path / "tiny.db")
    titles = [plot.title for plot in report.plots]
    assert "recall by object size" in titles and "ap vs FLOPs" in titles
    plot = next(p for p in report.plots if p.name == "recall-by-size")
    points = re.findall(r"<title>([^<]*)</title>", plot.svg)
    configurations = report.results.configurations()
    expected = sum(
        c.mean(f"recall_{lo}_{hi}") is not None
        for c in configurations
        for lo, hi in ((4, 8), (8, 16))
    )
    assert len([p for p in points if "objects" in p]) == expected >= 2
    flops = sorted(c.mean("flops") or 0 for c in configurations)
    assert flops[0] < flops[1]  # stride 16 costs less than stride 2
    assert {c.mean("output_stride") for c in configurations} == {2.0, 16.0}
    assert math.isfinite(configurations[0].mean("latency_ms") or math.nan)
    html = report.to_html()
    assert 'id="recall-by-size"' in html
