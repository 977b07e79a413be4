"""The trainer's epoch time against a minimal hand-written loop: same model, data, device.

Both loops train the same plain-cnn from the same initial weights on the same in-memory
synthetic-detail images, with the same optimiser, batch order and batch size; they run
interleaved (trainer, hand, trainer, hand...) so that both see the same machine load, and
the ratio of the medians is printed. The trainer's extras (learning-rate schedule, loss
checks for NaN and divergence, progress callback) must cost at most 5%.

    python benchmarks/trainer_overhead.py               # 2,000 images of 32x32, 5 rounds
    python benchmarks/trainer_overhead.py --format json
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from stridekit.experiments.datasets import Dataset, load_dataset
from stridekit.experiments.models import build_model
from stridekit.experiments.spec import DatasetConfig, ModelConfig, TrainingConfig
from stridekit.experiments.trainer import TrialProgress, pick_device, train

TARGET = 1.05


def hand_written_epoch(
    model: nn.Module, data: Dataset, batch_size: int, lr: float, seed: int, device: torch.device
) -> float:
    """The minimal loop: shuffle, slice, forward, loss, backward, step. Seconds."""
    x, y = data.train.x.to(device), data.train.y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    started = time.perf_counter()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    for start in range(0, len(x), batch_size):
        batch = order[start : start + batch_size]
        loss = F.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - started


def trainer_epoch(
    model: nn.Module, data: Dataset, config: TrainingConfig, seed: int, device: torch.device
) -> float:
    heard: list[TrialProgress] = []
    outcome = train(model, data, config, seed=seed, device=device, progress=heard.append)
    return outcome.epoch_times[0]


def measure(images: int, size: int, batch_size: int, rounds: int, device: torch.device) -> dict:
    options = {"n_train": images, "n_test": 10, "size": size}
    data = load_dataset(DatasetConfig(name="synthetic-detail", options=options))
    torch.manual_seed(0)
    initial = build_model(ModelConfig(strides=(2, 2, 2), width=16), data.info).to(device)
    config = TrainingConfig(epochs=1, batch_size=batch_size, optimizer="adam", lr=1e-3)
    # warm-up: one epoch each, not timed
    trainer_epoch(copy.deepcopy(initial), data, config, 0, device)
    hand_written_epoch(copy.deepcopy(initial), data, batch_size, 1e-3, 0, device)
    trainer_times, hand_times = [], []
    for round_ in range(rounds):
        trainer_times.append(trainer_epoch(copy.deepcopy(initial), data, config, round_, device))
        hand_times.append(
            hand_written_epoch(copy.deepcopy(initial), data, batch_size, 1e-3, round_, device)
        )
    trainer, hand = statistics.median(trainer_times), statistics.median(hand_times)
    return {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "images": images,
        "size": size,
        "batch_size": batch_size,
        "rounds": rounds,
        "trainer_epoch_s": trainer,
        "hand_written_epoch_s": hand,
        "ratio": trainer / hand,
        "target": TARGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    result = measure(args.images, args.size, args.batch_size, args.rounds, pick_device(args.device))
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['device']}, {result['threads']} threads, {args.images} images of "
        f"{args.size}x{args.size}, batch {args.batch_size}, median of {args.rounds}:\n"
        f"  trainer       {result['trainer_epoch_s']:.3f} s/epoch\n"
        f"  hand-written  {result['hand_written_epoch_s']:.3f} s/epoch\n"
        f"  ratio         {result['ratio']:.3f}  (target <= {TARGET})"
    )


if __name__ == "__main__":
    main()
