"""A generated small-object detection dataset: bright squares of known sizes on clutter.

Each image is ``size``² pixels of Gaussian noise with ``clutter`` dim lines (brightness
0.5, drawn first) and up to ``objects`` bright squares (brightness 1.0, drawn over the
lines). A square's side is drawn log-uniformly from ``[min_size, max_size]`` pixels, so
each octave (4–8, 8–16, 16–32, 32–64) gets about as many objects; squares never touch
(one pixel of background at least between two). The labels are the squares' boxes,
``(x0, y0, x1, y1)`` in pixels with exclusive ends, padded with rows of ``-1`` to
``objects`` boxes per image: a ``(N, objects, 4)`` float tensor. Everything comes from
``seed`` (the train split from stream 0, the test split from stream 1): no download.

>>> options = dict(DETECTION_OPTIONS, n_train=2, n_test=1, size=32, max_size=8, noise=0.0)
>>> train, test = read_detection(None, options)
>>> train.x.shape, train.y.shape, test.y.shape
(torch.Size([2, 1, 32, 32]), torch.Size([2, 4, 4]), torch.Size([1, 4, 4]))
>>> x0, y0, x1, y1 = train.y[0, 0].int().tolist()
>>> bool((train.x[0, 0, y0:y1, x0:x1] == 1.0).all())
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from stridekit.errors import SweepSpecError
from stridekit.experiments.data import Split

__all__ = ["DETECTION_OPTIONS", "PADDING", "generate_detection", "read_detection"]

PADDING = -1.0  # the value of a box row that holds no object
OBJECT, LINE = 1.0, 0.5  # brightness of a square and of a clutter line
PLACEMENT_TRIES = 50  # draws of a place per square before the image gets one fewer

DETECTION_OPTIONS: dict[str, Any] = {
    "size": 96,
    "n_train": 800,
    "n_test": 200,
    "objects": 4,
    "min_size": 4,
    "max_size": 64,
    "clutter": 3,
    "noise": 0.1,
    "seed": 0,
}


def generate_detection(options: dict[str, Any], count: int, stream: int) -> tuple[Any, Any]:
    """``count`` images ``(count, 1, size, size)`` and their boxes ``(count, objects, 4)``
    (float32 numpy arrays) from ``(seed, stream)``."""
    size, objects = options["size"], options["objects"]
    rng = np.random.default_rng([options["seed"], stream])
    images = np.zeros((count, 1, size, size), dtype=np.float32)
    boxes = np.full((count, objects, 4), PADDING, dtype=np.float32)
    low, high = np.log(options["min_size"]), np.log(options["max_size"] + 1)
    for image, labels in zip(images, boxes, strict=True):
        canvas = image[0]
        for _ in range(options["clutter"]):
            _draw_line(canvas, rng, size)
        taken = np.zeros((size, size), dtype=bool)  # squares grown by one pixel
        placed = 0
        for _ in range(objects):
            side = min(int(np.exp(rng.uniform(low, high))), options["max_size"], size)
            for _ in range(PLACEMENT_TRIES):
                top, left = rng.integers(0, size - side + 1, 2)
                around = taken[max(0, top - 1) : top + side + 1, max(0, left - 1) : left + side + 1]
                if not around.any():
                    break
            else:
                continue
            canvas[top : top + side, left : left + side] = OBJECT
            taken[top : top + side, left : left + side] = True
            labels[placed] = (left, top, left + side, top + side)
            placed += 1
    images += rng.normal(0.0, options["noise"], images.shape).astype(np.float32)
    return images, boxes


def _draw_line(canvas: np.ndarray, rng: np.random.Generator, size: int) -> None:
    """A 1-pixel line of brightness `LINE` between two random points (clutter)."""
    (y0, x0), (y1, x1) = rng.integers(0, size, (2, 2))
    steps = 2 * max(abs(y1 - y0), abs(x1 - x0)) + 1
    ys = np.rint(np.linspace(y0, y1, steps)).astype(int)
    xs = np.rint(np.linspace(x0, x1, steps)).astype(int)
    canvas[ys, xs] = LINE


def read_detection(config: object, options: dict[str, Any]) -> tuple[Split, Split]:
    """The train and test splits of the options."""
    _check(options)
    splits = []
    for stream, count in enumerate((options["n_train"], options["n_test"])):
        images, boxes = generate_detection(options, count, stream)
        splits.append(Split(torch.from_numpy(images), torch.from_numpy(boxes)))
    return splits[0], splits[1]


def _check(options: dict[str, Any]) -> None:
    low, high, size = options["min_size"], options["max_size"], options["size"]
    if not 1 <= low <= high <= size:
        raise SweepSpecError(
            f"dataset.options: object sizes need 1 <= min_size <= max_size <= size, got "
            f"min_size {low}, max_size {high}, size {size}",
            field="dataset.options.max_size",
        )
    if options["objects"] < 1 or min(options["n_train"], options["n_test"]) < 1:
        raise SweepSpecError(
            "dataset.options: objects, n_train and n_test must be >= 1",
            field="dataset.options.objects",
        )
