"""Uploaded model files (ONNX, Keras, TFLite), kept in memory by content hash so later
requests refer to them by id (``{"model": {"file": ID}}``) instead of sending the file again.

The format is the file name's suffix (`FORMATS`). A file is checked when it arrives, by its
frontend's own reader, as data (nothing in it runs): an ``.onnx`` file must parse as an
ONNX ``ModelProto`` whose tensors hold their values inline (external data names files to
read on this machine); a ``.keras`` file must be a zip holding a model's ``config.json``
(read bounded, weights never); a ``.tflite`` file must be a TFLite flatbuffer with sound
offsets. At most ``capacity`` files are kept; the least recently used one goes first.

>>> from onnx import TensorProto, helper
>>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
>>> model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])],
...     "g", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]))
>>> uploads = Uploads(capacity=2)
>>> upload = uploads.add("tiny.onnx", model.SerializeToString())
>>> upload.name, upload.format, len(upload.id)
('tiny.onnx', 'onnx', 64)
>>> uploads.get(upload.id).data == model.SerializeToString()
True
>>> try:
...     uploads.add("junk.onnx", b"not a model")
... except ModelError as error:
...     print(str(error).split(":")[0])
junk.onnx is not an ONNX model
>>> try:
...     uploads.add("model.pt", b"...")
... except ModelError as error:
...     print(error)
model.pt: the explorer reads .onnx, .keras, .tflite model files (the format is the file name's suffix)
"""  # noqa: E501

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from stridekit.errors import ModelError


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its id (SHA-256 of the bytes), its name, its bytes and its format
    (``onnx``, ``keras`` or ``tflite``)."""

    id: str
    name: str
    data: bytes
    format: str = "onnx"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "bytes": len(self.data), "format": self.format}


def _tensors(graph: Any) -> Iterator[Any]:
    """Every tensor of a graph and its subgraphs (initializers and attributes)."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        yield from _attribute_tensors(node)


def _attribute_tensors(node: Any) -> Iterator[Any]:
    for attribute in node.attribute:
        if attribute.HasField("t"):
            yield attribute.t
        yield from attribute.tensors
        if attribute.HasField("g"):
            yield from _tensors(attribute.g)
        for graph in attribute.graphs:
            yield from _tensors(graph)


def check_onnx(name: str, data: bytes) -> Any:
    """Parse ``data`` as an ONNX model; refuse external data. Returns the ``ModelProto``."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise ModelError(f"{name} is not an ONNX model: {error}") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelError(f"{name} is not an ONNX model: it has no graph nodes")
    function_tensors = (t for f in model.functions for n in f.node for t in _attribute_tensors(n))
    for tensor in (*_tensors(model.graph), *function_tensors):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
            raise ModelError(
                f"{name}: tensor {tensor.name!r} keeps its values in an external file; the "
                "explorer reads only self-contained files: save the model with "
                "onnx.save(model, path, save_as_external_data=False)"
            )
    return model


def check_keras(name: str, data: bytes) -> dict[str, Any]:
    """Read a ``.keras`` archive's model config (bounded; weights never read)."""
    from stridekit.frontends.keras_archive import config_from_zip

    return config_from_zip(data, name)


def check_tflite(name: str, data: bytes) -> Any:
    """Read and check a ``.tflite`` flatbuffer. Returns the `TFLiteModel`."""
    from stridekit.frontends.tflite_model import read_model

    try:
        return read_model(data)
    except ModelError as error:
        raise ModelError(f"{name}: {error}") from None


Check = Callable[[str, bytes], Any]
FORMATS: dict[str, tuple[str, Check]] = {
    ".onnx": ("onnx", check_onnx),
    ".keras": ("keras", check_keras),
    ".tflite": ("tflite", check_tflite),
}


def upload_format(name: str) -> str:
    """The format of an uploaded file, by its name's suffix.

    >>> upload_format("net.KERAS"), upload_format("mobile.tflite")
    ('keras', 'tflite')
    """
    suffix = PurePath(name).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix][0]
    if suffix in (".h5", ".hdf5"):
        raise ModelError(
            f"{name}: the explorer takes Keras models as .keras files, not HDF5; save it "
            "with model.save('model.keras'), or analyse the .h5 file with the CLI"
        )
    raise ModelError(
        f"{name}: the explorer reads {', '.join(FORMATS)} model files (the format is the "
        "file name's suffix)"
    )


def check_upload(name: str, data: bytes) -> Any:
    """Check ``data`` with its format's reader (`FORMATS`); a `ModelError` if it is not one."""
    upload_format(name)  # a known suffix, else a ModelError
    return FORMATS[PurePath(name).suffix.lower()][1](name, data)


class Uploads:
    """The uploaded files, at most ``capacity``, least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._files: OrderedDict[str, Upload] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, name: str, data: bytes) -> Upload:
        check_upload(name, data)
        upload = Upload(hashlib.sha256(data).hexdigest(), name, data, upload_format(name))
        with self._lock:
            self._files[upload.id] = upload
            self._files.move_to_end(upload.id)
            while len(self._files) > self.capacity:
                self._files.popitem(last=False)
        return upload

    def get(self, upload_id: str) -> Upload:
        with self._lock:
            upload = self._files.get(upload_id)
            if upload is None:
                raise ModelError(
                    f"no uploaded file with id {upload_id!r} (the server keeps the last "
                    f"{self.capacity}); upload the file again"
                )
            self._files.move_to_end(upload_id)
            return upload
