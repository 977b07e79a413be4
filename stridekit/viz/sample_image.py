"""The picture a receptive field is drawn on: the user's image, or a sample photo.

The sample is ``china.jpg``, one of the two photos scikit-learn ships
(`sklearn.datasets.load_sample_images`); it is read straight from the package's folder,
which is what ``load_sample_image`` does after importing all of scikit-learn's datasets
(about 3 s here). Images are cropped to the model's aspect ratio about their centre, then
resized to the model's input (Pillow's Lanczos filter: deterministic).

>>> photo = sample_photo()
>>> photo.shape, photo.dtype.name
((427, 640, 3), 'uint8')
>>> fit_image(photo, (64, 32)).shape
(64, 32, 3)
>>> model_input(fit_image(photo, (8, 8)), 1).shape
(1, 8, 8)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from stridekit.errors import UsageError

SAMPLE = "china.jpg"
# ImageNet's channel statistics: what torchvision's and timm's models expect
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def sample_path() -> Path:
    """Where scikit-learn keeps the sample photo; `UsageError` when it is not installed."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(
            "the sample photo ships with scikit-learn, which is not installed: "
            "pip install 'stridekit[vision]', or give an image (--image PATH)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "images" / SAMPLE
    if not path.is_file():
        raise UsageError(f"scikit-learn's sample photo is missing ({path}); give --image PATH")
    return path


def load_image(path: str | Path) -> np.ndarray:
    """An image file as ``H × W × 3`` RGB bytes."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB")).copy()
    except (OSError, UnidentifiedImageError) as error:
        raise UsageError(f"cannot read image {path}: {error}") from None


def sample_photo() -> np.ndarray:
    """The sample photo (a temple in China, 427 × 640)."""
    return load_image(sample_path())


def fit_image(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` cropped about its centre to the aspect of ``size`` (rows, columns), resized."""
    from PIL import Image

    rows, columns = size
    height, width = rgb.shape[:2]
    if height * columns > width * rows:  # too tall: crop rows
        keep = max(1, round(width * rows / columns))
        top = (height - keep) // 2
        rgb = rgb[top : top + keep]
    else:
        keep = max(1, round(height * columns / rows))
        left = (width - keep) // 2
        rgb = rgb[:, left : left + keep]
    image = Image.fromarray(np.ascontiguousarray(rgb)).resize(
        (columns, rows), Image.Resampling.LANCZOS
    )
    return np.asarray(image).copy()


def model_input(rgb: np.ndarray, channels: int) -> np.ndarray:
    """``C × H × W`` floats as ImageNet models expect: normalized RGB for 3 channels, the
    grey level otherwise (repeated over the channels)."""
    values = rgb.astype(np.float32) / 255
    if channels == 3:
        return ((values - MEAN) / STD).transpose(2, 0, 1).copy()
    grey = values @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    grey = (grey - grey.mean()) / max(float(grey.std()), 1e-6)
    return np.repeat(grey[None], channels, axis=0)
