"""Reading a ``.tflite`` flatbuffer for the frontend: checked, bounded, as plain data.

The `tflite` package's generated readers follow offsets inside the file wherever they
point: a damaged file makes them raise whatever Python raises (``IndexError``,
``struct.error``, ``ValueError``) or claim vectors of billions of elements. `read_model`
therefore reads the whole model once into dataclasses, checks every vector length
against the file's size before walking it, every tensor, buffer and opcode index against
its table, and turns any failure of the reader into one `ModelError`. Nothing in the
file is run: a TFLite model is data, and custom operators are only names here.

Only the values of small constant tensors are read (shapes, paddings, sizes: the
operators' parameters); weights stay bytes in the file, their shapes are enough.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from functools import cache
from math import prod
from pathlib import Path
from typing import Any

import numpy as np

from stridekit.errors import ModelError, StrideError

Shape = tuple[int, ...]

EXTRA_HINT = "pip install 'stridekit[tflite]'"
VALUE_LIMIT = 4096  # constants up to this many elements are read as values
# TensorType → numpy dtype (the types whose values or sizes stridekit reads)
DTYPES: dict[int, Any] = {
    0: np.float32,
    1: np.float16,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    6: np.bool_,
    7: np.int16,
    9: np.int8,
    10: np.float64,
    12: np.uint64,
    15: np.uint32,
    16: np.uint16,
}
QUANTIZED_TYPES = frozenset({3, 7, 9, 17})  # uint8, int16, int8, int4


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the subgraph, as the file records it (TFLite's order: NHWC)."""

    index: int
    name: str
    shape: Shape
    signature: tuple[int, ...] | None  # -1 marks a dimension fixed only at run time
    type: int
    constant: bool  # holds data in the file (a weight or a parameter)

    @property
    def itemsize(self) -> int:
        dtype = DTYPES.get(self.type)
        return 0 if dtype is None else int(np.dtype(dtype).itemsize)


@dataclass(frozen=True)
class OperatorInfo:
    """One operator: its code (``CONV_2D``, or ``CUSTOM:name``), tensors and options."""

    index: int
    code: str
    inputs: tuple[int, ...]  # -1: an optional input left out
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


@dataclass
class TFLiteModel:
    """The first subgraph of a model: tensors, operators in execution order, constants."""

    name: str
    tensors: list[TensorInfo]
    operators: list[OperatorInfo]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    values: dict[int, np.ndarray]  # small constants' values, by tensor index


def read_model(source: str | os.PathLike[str] | bytes) -> TFLiteModel:
    """Read a ``.tflite`` file (a path, or its bytes) into a checked `TFLiteModel`.

    >>> read_model(b"TFL3 is not enough")
    Traceback (most recent call last):
    ...
    stridekit.errors.ModelError: the data given is not a TFLite model: no 'TFL3' file identifier at bytes 4-8 (a .tflite flatbuffer has one); check that the file is a TensorFlow Lite model
    """  # noqa: E501
    if isinstance(source, bytes | bytearray):
        data, name, label = bytes(source), "model", "the data given"
    else:
        path = Path(source)
        if not path.is_file():
            raise ModelError(f"TFLite file {str(path)!r} not found")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ModelError(f"{str(path)!r} cannot be read: {error.strerror}") from None
        name, label = path.stem, repr(str(path))
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelError(
            f"{label} is not a TFLite model: no 'TFL3' file identifier at bytes 4-8 (a "
            ".tflite flatbuffer has one); check that the file is a TensorFlow Lite model"
        )
    try:
        import tflite
    except ImportError:
        raise ModelError(f"reading .tflite files needs the tflite package: {EXTRA_HINT}") from None
    try:
        return _Reader(data, name, tflite).model()
    except StrideError as error:
        raise ModelError(f"{label} is not a readable TFLite model: {error}") from None
    except Exception as error:  # the generated reader following a damaged offset
        detail = str(error).splitlines()[0] if str(error) else "a damaged offset"
        raise ModelError(
            f"{label} is not a readable TFLite model ({type(error).__name__}: {detail}); "
            "the file is damaged or truncated"
        ) from None


class _Reader:
    def __init__(self, data: bytes, name: str, package: Any) -> None:
        self.data, self.name, self.tflite = data, name, package

    def count(self, obj: Any, field_name: str, item_size: int = 4) -> int:
        """A vector's length, refused when the file cannot hold that many items."""
        n = int(getattr(obj, f"{field_name}Length")())
        if n < 0 or n * item_size > len(self.data):
            raise ModelError(f"{field_name} claims {n} entries in a {len(self.data)}-byte file")
        return n

    def ints(self, obj: Any, field_name: str) -> tuple[int, ...]:
        n = self.count(obj, field_name)
        getter = getattr(obj, field_name)
        return tuple(int(getter(j)) for j in range(n))

    def model(self) -> TFLiteModel:
        model = self.tflite.Model.GetRootAs(self.data, 0)
        if self.count(model, "Subgraphs") < 1:
            raise ModelError("it has no subgraph")
        codes = [
            self.opcode(model.OperatorCodes(j)) for j in range(self.count(model, "OperatorCodes"))
        ]
        buffers = [model.Buffers(j) for j in range(self.count(model, "Buffers"))]
        graph = model.Subgraphs(0)
        tensors, values = [], {}
        for index in range(self.count(graph, "Tensors")):
            tensor = graph.Tensors(index)
            info, value = self.tensor(index, tensor, buffers)
            tensors.append(info)
            if value is not None:
                values[index] = value
        known = len(tensors)
        operators = []
        for index in range(self.count(graph, "Operators")):
            op = graph.Operators(index)
            code_index = int(op.OpcodeIndex())
            if not 0 <= code_index < len(codes):
                raise ModelError(f"operator #{index} names opcode {code_index} of {len(codes)}")
            inputs, outputs = self.ints(op, "Inputs"), self.ints(op, "Outputs")
            if not outputs or min(outputs) < 0:
                raise ModelError(f"operator #{index} writes tensors {list(outputs)}")
            for t in (*inputs, *outputs):
                if not -1 <= t < known:
                    raise ModelError(f"operator #{index} names tensor {t} of {known}")
            options = self.options(op) if not codes[code_index].startswith("CUSTOM") else {}
            operators.append(OperatorInfo(index, codes[code_index], inputs, outputs, options))
        inputs, outputs = self.ints(graph, "Inputs"), self.ints(graph, "Outputs")
        for t in (*inputs, *outputs):
            if not 0 <= t < known:
                raise ModelError(f"the subgraph names tensor {t} of {known}")
        return TFLiteModel(self.name, tensors, operators, inputs, outputs, values)

    def opcode(self, code: Any) -> str:
        number = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        name = _operator_names().get(number, f"BUILTIN_{number}")
        if name == "CUSTOM":
            custom = code.CustomCode()
            return f"CUSTOM:{_printable(custom) or '?'}"
        return name

    def tensor(self, index: int, tensor: Any, buffers: list[Any]) -> tuple[TensorInfo, Any]:
        shape = self.ints(tensor, "Shape")
        if any(d < 0 for d in shape):
            raise ModelError(f"tensor #{index} has shape {shape}")
        signature = self.ints(tensor, "ShapeSignature") or None
        buffer = int(tensor.Buffer())
        if not 0 <= buffer < max(len(buffers), 1):
            raise ModelError(f"tensor #{index} names buffer {buffer} of {len(buffers)}")
        raw = self.buffer(buffers[buffer]) if buffers else b""
        kind = int(tensor.Type())
        name = _printable(tensor.Name()) or f"tensor_{index}"
        info = TensorInfo(index, name, shape, signature, kind, bool(raw))
        value = None
        dtype = DTYPES.get(kind)
        count = prod(shape)
        # a sparse or packed tensor holds fewer bytes than its shape: no value, only a shape
        size = count * np.dtype(dtype).itemsize if dtype is not None else -1
        if raw and count <= VALUE_LIMIT and size == len(raw):
            value = np.frombuffer(raw, dtype=dtype).reshape(shape)
        return info, value

    def buffer(self, buffer: Any) -> bytes:
        """A buffer's bytes: inside the flatbuffer, or after it (models over 2 GB)."""
        offset, size = int(buffer.Offset()), int(buffer.Size())
        if offset > 1:
            if offset + size > len(self.data):
                raise ModelError(f"a buffer claims bytes {offset}-{offset + size}")
            return self.data[offset : offset + size] if size <= 4 * VALUE_LIMIT * 8 else b"\0"
        n = self.count(buffer, "Data", 1)
        if n == 0:
            return b""
        if n > 8 * VALUE_LIMIT:
            return b"\0"  # a weight: its presence matters, not its bytes
        return bytes(buffer.DataAsNumpy().tobytes())

    def options(self, op: Any) -> dict[str, Any]:
        kind = int(op.BuiltinOptionsType())
        table = op.BuiltinOptions()
        name = _option_names().get(kind)
        if not kind or table is None or name is None:
            return {}
        cls = getattr(importlib.import_module(f"tflite.{name}"), name)
        options = cls()
        options.Init(table.Bytes, table.Pos)
        found: dict[str, Any] = {}
        for field_name, is_vector in _option_fields(cls):
            try:
                if is_vector:
                    found[field_name] = self.ints(options, field_name)
                else:
                    value = getattr(options, field_name)()
                    if isinstance(value, int | float | bool):
                        found[field_name] = value
            except TypeError:  # a table or a vector of tables: no option stridekit reads
                continue
        return found


def _printable(raw: bytes | None, limit: int = 200) -> str:
    r"""A name from the file, safe to print on one line (a damaged file holds anything).

    >>> _printable(b"model/conv\nbad\xff")
    'model/conv?bad?'
    """
    text = (raw or b"").decode(errors="replace")[:limit]
    return "".join(c if c.isprintable() and c != "\ufffd" else "?" for c in text)


@cache
def _operator_names() -> dict[int, str]:
    from tflite.BuiltinOperator import BuiltinOperator

    return {v: k for k, v in vars(BuiltinOperator).items() if isinstance(v, int)}


@cache
def _option_names() -> dict[int, str]:
    from tflite.BuiltinOptions import BuiltinOptions

    return {v: k for k, v in vars(BuiltinOptions).items() if isinstance(v, int) and k != "NONE"}


@cache
def _option_fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """The fields of a generated options table: scalars, and int vectors (``Length``)."""
    names = [n for n in vars(cls) if n[:1].isupper() and not n.startswith("GetRootAs")]
    fields = []
    for n in names:
        if n in ("Init",) or n.endswith(("Length", "IsNone", "AsNumpy", "HasIdentifier")):
            continue
        fields.append((n, f"{n}Length" in names))
    return tuple(fields)
