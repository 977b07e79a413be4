"""Faults in a user's image folder, injected for real: a corrupt file, an image cut
short, a file this user may not read, test classes that training never saw. Each is one
line naming the file or folder (a trial fails with it; the sweep goes on)."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stridekit.errors import DatasetError
from stridekit.experiments.datasets import _load, load_dataset
from stridekit.experiments.spec import DatasetConfig
from tests.experiments.test_datasets import _write_folder


def load(root: Path) -> object:
    _load.cache_clear()  # read the folder as it is now, not as a trial before saw it
    return load_dataset(DatasetConfig(name="imagefolder", root=str(root)))


@pytest.fixture
def folder() -> Iterator[Path]:
    """A sound image folder that any user may traverse (pytest's own are root's alone)."""
    root = Path(tempfile.mkdtemp(prefix="skdata-"))
    root.chmod(0o755)
    _write_folder(root)
    load(root)  # sound before the fault
    yield root
    shutil.rmtree(root)


def as_nobody(root: Path) -> str:
    """Load ``root`` in a child that has become ``nobody`` (root reads any file); what it
    raised, or ``"loaded"``."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        message = b"loaded"
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            load(root)
        except DatasetError as error:
            message = str(error).encode()
        except BaseException as error:
            message = f"{type(error).__name__}: {error}".encode()
        os.write(write, message)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(child, 0)
    return said


def test_a_file_that_is_not_an_image(folder: Path) -> None:
    bad = folder / "train" / "cat" / "x.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(DatasetError, match=f"imagefolder: cannot read {bad} .*remove it"):
        load(folder)


def test_an_image_cut_short(folder: Path) -> None:
    encoded = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(encoded, format="PNG")
    cut = folder / "test" / "dog" / "cut.png"
    cut.write_bytes(encoded.getvalue()[: len(encoded.getvalue()) // 2])
    with pytest.raises(DatasetError, match=f"cannot read {cut}"):
        load(folder)


def test_test_classes_that_training_never_saw(folder: Path) -> None:
    (folder / "test" / "bird").mkdir()
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(folder / "test" / "bird" / "0.png")
    with pytest.raises(DatasetError, match=r"has classes not in train/: \['bird'\]"):
        load(folder)


def test_a_file_this_user_may_not_read(folder: Path) -> None:
    locked = folder / "train" / "dog" / "0.png"
    locked.chmod(0)
    said = as_nobody(folder)
    assert said.startswith(f"imagefolder: cannot read {locked} (Permission denied)"), said


def test_a_folder_this_user_may_not_read(folder: Path) -> None:
    (folder / "test").chmod(0)
    try:
        said = as_nobody(folder)
    finally:
        (folder / "test").chmod(0o755)
    assert said.startswith("imagefolder: cannot "), said
    assert "Permission denied" in said and "may read it" in said
