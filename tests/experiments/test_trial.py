"""A trial end to end on tiny data: deterministic on the CPU, JSON-ready, its analysis the
model's, divergence reported as TrialFailed, early stopping."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

import stridekit
from stridekit.errors import StrideError, TrialFailed
from stridekit.experiments import TrialProgress, run_trial
from stridekit.experiments.datasets import load_dataset
from stridekit.experiments.models import build_model
from stridekit.experiments.spec import AugmentationConfig, TrainingConfig
from stridekit.experiments.trainer import augment, learning_rate, seed_everything, train
from tests.experiments.conftest import TINY_SEG, tiny_config

DETERMINISTIC = ("accuracy", "train_loss", "flops", "params", "output_stride", "receptive_field")


def test_same_seed_gives_identical_metrics_and_another_seed_does_not() -> None:
    config = tiny_config(
        model={"op": "blur_pool"}, training={"augmentation": {"shift": 1, "flip": True}}
    )
    first, again, other = (run_trial(config, seed, device="cpu") for seed in (3, 3, 4))
    assert {k: first.metrics[k] for k in DETERMINISTIC} == {
        k: again.metrics[k] for k in DETERMINISTIC
    }
    assert first.metrics["train_loss"] != other.metrics["train_loss"]


def test_result_is_json_ready_and_renders() -> None:
    result = run_trial(tiny_config(metrics={}), 0, device="cpu")
    data = json.loads(result.to_json())
    assert set(data) == {"metrics", "analysis", "timings", "environment"}
    assert data["environment"]["device"] == "cpu"
    assert {
        "accuracy",
        "shift_consistency",
        "latency_ms",
        "throughput_per_s",
        "peak_memory_mb",
    } <= set(result.metrics)
    assert "accuracy" in str(result) and "| accuracy |" in result.to_markdown()
    assert set(result.timings) == {"load", "build", "train", "evaluate", "total"}


def test_analysis_is_that_of_the_trained_model() -> None:
    config = tiny_config(model={"op": "max_pool", "strides": [2, 1]})
    result = run_trial(config, 0, device="cpu")
    data = load_dataset(config.dataset)
    expected = stridekit.analyze(build_model(config.model, data.info), (1, 1, 16, 16))
    assert result.analysis["params"] == expected.total_params == result.metrics["params"]
    assert result.analysis["flops"] == expected.total_flops
    assert result.analysis["output_stride"] == [2, 2] and result.metrics["output_stride"] == 2.0
    codes = {f.code for f in stridekit.doctor(expected).findings}
    assert result.analysis["findings"] == sorted(codes)


def test_progress_hears_every_step_of_every_epoch() -> None:
    heard: list[TrialProgress] = []
    run_trial(tiny_config(training={"epochs": 2}), 0, device="cpu", progress=heard.append)
    steps = math.ceil(48 / 16)
    assert [(p.epoch, p.step) for p in heard] == [
        (e, s) for e in (1, 2) for s in range(1, steps + 1)
    ]
    assert all(p.epochs == 2 and p.steps == steps and p.loss > 0 for p in heard)


def test_should_stop_ends_the_trial_after_an_epoch() -> None:
    asked: list[tuple[int, dict[str, float]]] = []

    def stop(epoch: int, so_far: dict[str, float]) -> bool:
        asked.append((epoch, so_far))
        return epoch == 2

    result = run_trial(tiny_config(training={"epochs": 4}), 0, device="cpu", should_stop=stop)
    assert [epoch for epoch, _ in asked] == [1, 2]
    assert all(0 <= so_far["accuracy"] <= 1 for _, so_far in asked)
    assert result.metrics["stopped_at"] == 2.0


def test_a_diverging_trial_fails_with_the_reason() -> None:
    config = tiny_config(
        training={"optimizer": "sgd", "lr": 1e6, "schedule": "constant", "epochs": 3}
    )
    with pytest.raises(
        TrialFailed, match=r"training loss (became nan|became inf|diverged)"
    ) as caught:
        run_trial(config, 0, device="cpu")
    assert "lower the learning rate" in caught.value.reason
    assert isinstance(caught.value, StrideError)


def test_a_nan_loss_fails_at_once() -> None:
    config = tiny_config()
    data = load_dataset(config.dataset)
    poisoned = type(data)(
        data.name,
        data.task,
        data.num_classes,
        type(data.train)(data.train.x * float("nan"), data.train.y),
        data.test,
    )
    seed_everything(0)
    with pytest.raises(TrialFailed, match="became nan at epoch 1, step 1"):
        train(build_model(config.model, data.info), poisoned, config.training, seed=0)


@pytest.mark.parametrize("decoder", ["bilinear", "transposed"])
def test_a_segmentation_trial(decoder: str) -> None:
    config = tiny_config(
        dataset=TINY_SEG,
        task="segmentation",
        model={"family": "fcn", "decoder": decoder},
        metrics=["miou", "boundary_f1", "shift_consistency"],
    )
    result = run_trial(config, 0, device="cpu")
    assert all(0 <= result.metrics[k] <= 1 for k in ("miou", "boundary_f1", "shift_consistency"))
    assert result.analysis["output_stride"] == [4, 4]


def test_a_spec_model_trains() -> None:
    spec = {
        "layers": [
            {"type": "conv", "channels": 4, "kernel": 3, "stride": 2, "padding": 1},
            {"type": "relu"},
        ]
    }
    result = run_trial(tiny_config(model={"family": "spec", "spec": spec}), 0, device="cpu")
    assert result.analysis["output_stride"] == [2, 2]


def test_diffstride_trials_report_their_learned_strides() -> None:
    config = tiny_config(
        model={"op": "diffstride", "strides": [2, 1]}, training={"stride_penalty": 0.1}
    )
    result = run_trial(config, 0, device="cpu")
    learned = {k: v for k, v in result.metrics.items() if k.startswith("learned_stride.")}
    assert len(learned) == 2 and all(v is not None and v >= 1 for v in learned.values())
    assert any(v != 2.0 for v in learned.values())  # it learned something


def test_shift_augmentation_matches_a_zero_filled_roll() -> None:
    x = torch.randn(6, 2, 7, 7)
    generator = torch.Generator().manual_seed(1)
    moved, _ = augment(x, torch.zeros(6), AugmentationConfig(shift=2), generator)
    offsets = torch.randint(0, 5, (2, 6), generator=torch.Generator().manual_seed(1)) - 2
    for image, out, dy, dx in zip(x, moved, offsets[0], offsets[1], strict=True):
        padded = F.pad(image, (2, 2, 2, 2))  # the oracle: crop the padded image by hand
        assert torch.equal(out, padded[:, 2 + dy : 2 + dy + 7, 2 + dx : 2 + dx + 7])


def test_masks_move_with_their_images() -> None:
    x = torch.arange(2 * 25, dtype=torch.float).reshape(2, 1, 5, 5)
    y = x[:, 0].long()
    moved, masks = augment(
        x, y, AugmentationConfig(shift=1, flip=True), torch.Generator().manual_seed(0)
    )
    assert torch.equal(moved[:, 0].long(), masks)


@pytest.mark.parametrize(
    ("schedule", "step", "expected"),
    [
        ("constant", 7, 1.0),
        ("cosine", 10, 0.0),
        ("step", 5, 0.1),
        ("step", 8, 0.01),
        ("onecycle", 3, 1.0),
    ],
)
def test_learning_rate_schedules(schedule: str, step: int, expected: float) -> None:
    config = TrainingConfig(lr=1.0, schedule=schedule)
    assert learning_rate(config, step, 10) == pytest.approx(expected, abs=1e-12)
