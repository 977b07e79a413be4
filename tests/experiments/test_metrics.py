"""Metrics against independent oracles (scikit-learn, scipy, hand-made models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage
from sklearn.metrics import jaccard_score
from torch import nn

from stridekit.experiments.metrics import (
    METRICS,
    accuracy,
    boundaries,
    boundary_f1,
    latency_ms,
    mean_iou,
    shift_consistency,
)

RNG = np.random.default_rng(0)


def _masks(shape: tuple[int, ...], classes: int) -> torch.Tensor:
    return torch.from_numpy(RNG.integers(0, classes, shape))


@pytest.mark.parametrize("classes", [2, 3, 5])
def test_mean_iou_is_sklearns_macro_jaccard(classes: int) -> None:
    target, predicted = _masks((4, 9, 9), classes), _masks((4, 9, 9), classes)
    predicted[predicted == classes - 1] = 0  # one class never predicted
    present = sorted(set(target.unique().tolist()) | set(predicted.unique().tolist()))
    expected = jaccard_score(target.flatten(), predicted.flatten(), labels=present, average="macro")
    assert mean_iou(predicted, target, classes) == pytest.approx(expected)


def test_accuracy_is_the_share_of_equal_labels() -> None:
    labels = _masks((50,), 4)
    guesses = labels.clone()
    guesses[:13] = (guesses[:13] + 1) % 4
    assert accuracy(guesses, labels) == pytest.approx(37 / 50)


def _boundary_f1_oracle(predicted: np.ndarray, target: np.ndarray, tolerance: int) -> float:
    """scipy's chessboard distance transform: a boundary pixel counts when the other
    mask's boundary lies within ``tolerance``."""

    def edges(masks: np.ndarray) -> np.ndarray:
        out = np.zeros(masks.shape, bool)
        for axis in (1, 2):
            diff = np.diff(masks, axis=axis) != 0
            lo = [slice(None)] * 3
            hi = [slice(None)] * 3
            lo[axis], hi[axis] = slice(None, -1), slice(1, None)
            out[tuple(lo)] |= diff
            out[tuple(hi)] |= diff
        return out

    def near(edge: np.ndarray) -> np.ndarray:
        return np.stack(
            [
                ndimage.distance_transform_cdt(~e, metric="chessboard") <= tolerance
                if e.any()
                else np.zeros_like(e)
                for e in edge
            ]
        )

    p, t = edges(predicted), edges(target)
    precision = (p & near(t)).sum() / max(1, p.sum())
    recall = (t & near(p)).sum() / max(1, t.sum())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("tolerance", [0, 1, 2])
def test_boundary_f1_agrees_with_a_distance_transform(tolerance: int) -> None:
    target = _masks((3, 12, 12), 2)
    predicted = target.clone()
    predicted[:, 4:8, 4:8] = 1 - predicted[:, 4:8, 4:8]
    expected = _boundary_f1_oracle(predicted.numpy(), target.numpy(), tolerance)
    assert boundary_f1(predicted, target, tolerance) == pytest.approx(expected)


def test_boundaries_mark_both_sides_of_a_change() -> None:
    mask = torch.zeros(1, 4, 4, dtype=torch.long)
    mask[0, 2:, :] = 1
    assert boundaries(mask)[0].int().tolist() == [[0] * 4, [1] * 4, [1] * 4, [0] * 4]


class _Mean(nn.Module):
    """Classifies by the image mean: the same under any circular shift."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([m, -m], dim=1)


class _Corner(nn.Module):
    """Classifies by the top-left pixel: changes with almost every shift."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x[:, 0, 0, 0]
        return torch.stack([m, -m], dim=1)


class _Identity(nn.Module):
    """A segmenter that labels each pixel by its sign: equivariant to circular shifts."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, -x], dim=1)


def test_shift_consistency_of_an_invariant_model_is_one() -> None:
    x = torch.randn(40, 1, 8, 8)
    assert shift_consistency(_Mean(), x, 3, device="cpu") == 1.0
    assert shift_consistency(_Identity(), x, 3, device="cpu") == 1.0  # per pixel, shifted back


def test_shift_consistency_of_a_pixel_reader_is_the_chance_two_shifts_agree() -> None:
    x = torch.randn(400, 1, 8, 8)
    # two shifts read the same pixel only when equal: P = 1/49 for shifts in [-3, 3]²; else
    # the two pixels' signs agree half the time: 1/49 + 48/49 · 1/2 ≈ 0.51
    score = shift_consistency(_Corner(), x, 3, device="cpu")
    assert score == pytest.approx(1 / 49 + 48 / 49 / 2, abs=0.06)


def test_shift_consistency_is_fixed_by_its_seed() -> None:
    x = torch.randn(64, 1, 8, 8)
    a, b = (shift_consistency(_Corner(), x, 2, seed=s, device="cpu") for s in (1, 1))
    assert a == b


def test_latency_is_a_positive_median() -> None:
    assert latency_ms(nn.Conv2d(1, 2, 3), (1, 1, 8, 8), "cpu", runs=3) > 0


def test_every_metric_names_its_tasks() -> None:
    assert all(
        set(m.tasks) <= {"classification", "segmentation", "detection"} and m.tasks
        for m in METRICS.values()
    )
