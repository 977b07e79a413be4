"""What a dataset is in memory: `Split` (images and labels), `Dataset` (normalised train
and test splits) and `DataInfo` (what a model needs to know of its data).

These are the types that the readers (`stridekit.experiments.datasets`,
`stridekit.experiments.detection_data`), the model families, the trainer and the
metrics pass between them. They sit below all of those, importing none of them, so a
reader registered in `datasets` can build splits without `datasets` importing it back.

>>> split = Split(torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long))
>>> len(split), Dataset("toy", "classification", 2, split, split).info
(4, DataInfo(task='classification', channels=1, size=(8, 8), num_classes=2))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["DataInfo", "Dataset", "Split"]


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know of its data: the task, image channels and size, classes."""

    task: str
    channels: int
    size: tuple[int, int]
    num_classes: int


@dataclass(frozen=True)
class Split:
    """Images ``x`` and labels ``y`` (class per image, a mask per image, or for
    detection ``(N, K, 4)`` boxes padded with rows of -1)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A dataset in memory: normalised train and test splits."""

    name: str
    task: str
    num_classes: int
    train: Split
    test: Split
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    @property
    def info(self) -> DataInfo:
        _, channels, height, width = self.train.x.shape
        return DataInfo(self.task, int(channels), (int(height), int(width)), self.num_classes)
