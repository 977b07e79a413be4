"""Reading a Keras model file as data: the model's config, bounded, nothing executed.

- ``.keras`` (Keras 3): a zip archive; only ``config.json`` is read, at most
  `MAX_CONFIG_BYTES` of it decompressed (a zip bomb stops there), the weights never;
- ``.h5`` / ``.hdf5`` (Keras 2 and Keras 3's legacy format): the ``model_config``
  attribute of the root group, read with h5py (the ``keras`` extra); weights never.

The JSON is parsed with the standard library only: a ``Lambda``'s serialised code or a
custom object's class name stays a string that nobody runs. Every failure (not a zip, a
truncated one, no config, JSON that is not a model) is a `ModelError` that says what the
file should be.

>>> import io, json, zipfile
>>> buffer = io.BytesIO()
>>> with zipfile.ZipFile(buffer, "w") as archive:
...     archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {}}))
>>> config_from_zip(buffer.getvalue(), "net.keras")["class_name"]
'Sequential'
>>> config_from_zip(b"PK not really", "net.keras")
Traceback (most recent call last):
...
stridekit.errors.ModelError: net.keras: not a Keras 3 .keras file (a zip archive holding config.json): File is not a zip file
"""  # noqa: E501

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

from stridekit.errors import ModelError

MAX_CONFIG_BYTES = 64 * 2**20  # a DenseNet-201's config is ~1 MB
KERAS_SUFFIXES = (".keras",)
H5_SUFFIXES = (".h5", ".hdf5")
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model config (``{"class_name": ..., "config": ...}``) of a ``.keras`` or
    ``.h5`` file."""
    file = Path(path)
    if not file.is_file():
        raise ModelError(f"{file}: file not found")
    suffix = file.suffix.lower()
    if suffix in H5_SUFFIXES:
        return _config_from_h5(file)
    if suffix not in KERAS_SUFFIXES:
        raise ModelError(f"{file}: a Keras model is a .keras or .h5 file")
    try:
        with file.open("rb") as handle:
            return config_from_zip(handle, str(file))
    except OSError as error:
        raise ModelError(f"{file}: cannot read it: {error}") from None


def config_from_zip(source: bytes | io.BufferedIOBase | Any, label: str) -> dict[str, Any]:
    """The config of a ``.keras`` archive given as bytes or an open binary file."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    what = "not a Keras 3 .keras file (a zip archive holding config.json)"
    try:
        with zipfile.ZipFile(stream) as archive:
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                raise ModelError(f"{label}: {what}: it has no config.json") from None
            if info.file_size > MAX_CONFIG_BYTES:
                raise ModelError(_too_big(label, info.file_size))
            with archive.open(info) as member:
                data = member.read(MAX_CONFIG_BYTES + 1)  # a size that lies stops here
    except ModelError:
        raise
    except _ZIP_ERRORS as error:
        raise ModelError(f"{label}: {what}: {error}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ModelError(_too_big(label, len(data)))
    return parse_config(data, label)


def _too_big(label: str, size: int) -> str:
    return (
        f"{label}: config.json is {size:,} bytes decompressed, more than the "
        f"{MAX_CONFIG_BYTES:,} a model config needs; is the file damaged?"
    )


def _config_from_h5(file: Path) -> dict[str, Any]:
    try:
        import h5py
    except ImportError:
        raise ModelError(
            f"{file}: reading .h5 files needs h5py: pip install 'stridekit[keras]'"
        ) from None
    try:
        with h5py.File(file, "r") as handle:
            raw = handle.attrs.get("model_config")
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as error:
        raise ModelError(f"{file}: not an HDF5 file h5py can read: {error}") from None
    if raw is None:
        raise ModelError(
            f"{file}: no model_config in it (a weights-only file?); save the whole model, "
            "model.save('model.keras'), or give its architecture"
        )
    if isinstance(raw, str):
        raw = raw.encode()
    if not isinstance(raw, bytes):
        raise ModelError(f"{file}: model_config is a {type(raw).__name__}, not JSON text")
    if len(raw) > MAX_CONFIG_BYTES:
        raise ModelError(_too_big(str(file), len(raw)))
    return parse_config(raw, str(file))


def parse_config(data: bytes, label: str) -> dict[str, Any]:
    """JSON text → the model config, checked to be a mapping with ``class_name``.

    >>> parse_config(b'[1, 2]', "m.keras")
    Traceback (most recent call last):
    ...
    stridekit.errors.ModelError: m.keras: the model config is not a mapping with class_name and config
    """  # noqa: E501
    try:
        config = json.loads(data)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, bad UTF-8, too deep
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelError(f"{label}: the model config is not valid JSON: {message}") from None
    if (
        not isinstance(config, dict)
        or not isinstance(config.get("class_name"), str)
        or not isinstance(config.get("config"), dict | list)
    ):
        raise ModelError(f"{label}: the model config is not a mapping with class_name and config")
    return config
