"""Uploaded ONNX files, kept in memory by content hash so later requests refer to them by
id (``{"model": {"onnx": ID}}``) instead of sending the file again.

A file is checked when it arrives: it must parse as an ONNX ``ModelProto`` (protobuf,
read as data: nothing in it runs) and every tensor must hold its values inline, since
external data names files to read on this machine. At most ``capacity`` files are kept;
the least recently used one goes first.

>>> from onnx import TensorProto, helper
>>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
>>> model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])],
...     "g", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]))
>>> uploads = Uploads(capacity=2)
>>> upload = uploads.add("tiny.onnx", model.SerializeToString())
>>> upload.name, len(upload.id), uploads.get(upload.id).data == model.SerializeToString()
('tiny.onnx', 64, True)
>>> try:
...     uploads.add("junk.onnx", b"not a model")
... except ModelError as error:
...     print(str(error).split(":")[0])
junk.onnx is not an ONNX model
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from stridekit.errors import ModelError


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its id (SHA-256 of the bytes), its name and its bytes."""

    id: str
    name: str
    data: bytes

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "bytes": len(self.data)}


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


class Uploads:
    """The uploaded files, at most ``capacity``, least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._files: OrderedDict[str, Upload] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, name: str, data: bytes) -> Upload:
        check_onnx(name, data)
        upload = Upload(hashlib.sha256(data).hexdigest(), name, data)
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
                    f"{self.capacity}); upload the .onnx file again"
                )
            self._files.move_to_end(upload_id)
            return upload
