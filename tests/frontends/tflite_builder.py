"""Small TFLite models written with the flatbuffers builder and the `tflite` package's
generated functions (no converter): a test describes tensors and operators, `build`
returns the ``.tflite`` bytes that the LiteRT interpreter runs.

>>> net = Net((1, 8, 8, 3))
>>> y = net.op("CONV_2D", [net.x, net.weight((4, 3, 3, 3)), net.weight((4,))], (1, 4, 4, 4),
...            "Conv2DOptions", padding=0, strideW=2, strideH=2)
>>> data = net.build([y])
>>> data[4:8]
b'TFL3'
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

DTYPES = {
    TensorType.FLOAT32: np.float32,
    TensorType.FLOAT16: np.float16,
    TensorType.INT32: np.int32,
    TensorType.INT8: np.int8,
    TensorType.UINT8: np.uint8,
    TensorType.INT64: np.int64,
}


@dataclass
class Tensor:
    shape: tuple[int, ...]
    type: int = TensorType.FLOAT32
    data: np.ndarray | None = None
    scale: list[float] | None = None
    zero_point: list[int] | None = None
    axis: int = 0
    signature: tuple[int, ...] | None = None


@dataclass
class Op:
    code: str
    inputs: list[int]
    outputs: list[int]
    options: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    custom: str | None = None


class Net:
    """A subgraph under construction; tensor ids are ints, ``x`` is the input."""

    def __init__(
        self,
        input_shape: Sequence[int],
        dtype: int = TensorType.FLOAT32,
        quant: tuple[float, int] | None = None,
        signature: Sequence[int] | None = None,
        seed: int = 0,
    ) -> None:
        self.tensors: list[Tensor] = []
        self.ops: list[Op] = []
        self.rng = np.random.default_rng(seed)
        self.x = self.tensor(input_shape, dtype, quant=quant)
        self.inputs = [self.x]
        if signature is not None:
            self.tensors[self.x].signature = tuple(signature)

    def tensor(
        self,
        shape: Sequence[int],
        dtype: int = TensorType.FLOAT32,
        data: np.ndarray | None = None,
        quant: tuple[float, int] | None = None,
    ) -> int:
        t = Tensor(tuple(int(s) for s in shape), dtype, data)
        if quant is not None:
            t.scale, t.zero_point = [quant[0]], [quant[1]]
        self.tensors.append(t)
        return len(self.tensors) - 1

    def weight(self, shape: Sequence[int], dtype: int = TensorType.FLOAT32) -> int:
        """A constant of random values (ints for integer types)."""
        np_type = DTYPES[dtype]
        if np.issubdtype(np_type, np.floating):
            data = self.rng.uniform(0.1, 1.0, size=shape).astype(np_type)
        else:
            data = self.rng.integers(1, 5, size=shape).astype(np_type)
        return self.tensor(shape, dtype, data)

    def ints(self, values: Sequence[int] | Sequence[Sequence[int]]) -> int:
        data = np.asarray(values, dtype=np.int32)
        return self.tensor(data.shape, TensorType.INT32, data)

    def op(
        self,
        code: str,
        inputs: Sequence[int],
        out_shape: Sequence[int],
        options: str | None = None,
        dtype: int = TensorType.FLOAT32,
        quant: tuple[float, int] | None = None,
        custom: str | None = None,
        **values: Any,
    ) -> int:
        """Add an operator with one output of ``out_shape`` (the shape the file records)."""
        y = self.tensor(out_shape, dtype, quant=quant)
        self.ops.append(Op(code, list(inputs), [y], options, values, custom))
        return y

    def build(self, outputs: Sequence[int]) -> bytes:
        b = flatbuffers.Builder(1024)
        codes: list[tuple[str, str | None]] = []
        for op in self.ops:
            if (op.code, op.custom) not in codes:
                codes.append((op.code, op.custom))
        # buffers: 0 is the empty sentinel, then one per constant tensor
        buffer_data = [t.data for t in self.tensors if t.data is not None]
        buffer_offsets = [_table(b, "Buffer", {})]
        for data in buffer_data:
            raw = np.ascontiguousarray(data).tobytes()
            vec = b.CreateNumpyVector(np.frombuffer(raw, dtype=np.uint8))
            buffer_offsets.append(_table(b, "Buffer", {"Data": vec}))
        tensor_offsets, buffer_index = [], 1
        for i, t in enumerate(self.tensors):
            values: dict[str, Any] = {
                "Shape": b.CreateNumpyVector(np.asarray(t.shape, dtype=np.int32)),
                "Type": t.type,
                "Name": b.CreateString(f"t{i}"),
                "Buffer": 0,
            }
            if t.signature is not None:
                values["ShapeSignature"] = b.CreateNumpyVector(
                    np.asarray(t.signature, dtype=np.int32)
                )
            if t.data is not None:
                values["Buffer"] = buffer_index
                buffer_index += 1
            if t.scale is not None:
                values["Quantization"] = _table(
                    b,
                    "QuantizationParameters",
                    {
                        "Scale": b.CreateNumpyVector(np.asarray(t.scale, dtype=np.float32)),
                        "ZeroPoint": b.CreateNumpyVector(np.asarray(t.zero_point, dtype=np.int64)),
                        "QuantizedDimension": t.axis,
                    },
                )
            tensor_offsets.append(_table(b, "Tensor", values))
        op_offsets = []
        for op in self.ops:
            values = {
                "OpcodeIndex": codes.index((op.code, op.custom)),
                "Inputs": b.CreateNumpyVector(np.asarray(op.inputs, dtype=np.int32)),
                "Outputs": b.CreateNumpyVector(np.asarray(op.outputs, dtype=np.int32)),
            }
            if op.options is not None:
                values["BuiltinOptionsType"] = getattr(BuiltinOptions, op.options)
                options = {  # int vectors (a squeeze's dims) are written before the table
                    k: b.CreateNumpyVector(np.asarray(v, dtype=np.int32))
                    if isinstance(v, list)
                    else v
                    for k, v in op.values.items()
                }
                values["BuiltinOptions"] = _table(b, op.options, options)
            op_offsets.append(_table(b, "Operator", values))
        code_offsets = []
        for code, custom in codes:
            number = getattr(BuiltinOperator, code)
            values = {"BuiltinCode": number, "DeprecatedBuiltinCode": min(number, 127)}
            values["Version"] = 1
            if custom is not None:
                values["CustomCode"] = b.CreateString(custom)
            code_offsets.append(_table(b, "OperatorCode", values))
        subgraph = _table(
            b,
            "SubGraph",
            {
                "Tensors": _vector(b, tensor_offsets),
                "Inputs": b.CreateNumpyVector(np.asarray(self.inputs, dtype=np.int32)),
                "Outputs": b.CreateNumpyVector(np.asarray(list(outputs), dtype=np.int32)),
                "Operators": _vector(b, op_offsets),
                "Name": b.CreateString("main"),
            },
        )
        model = _table(
            b,
            "Model",
            {
                "Version": 3,
                "OperatorCodes": _vector(b, code_offsets),
                "Subgraphs": _vector(b, [subgraph]),
                "Description": b.CreateString("stridekit test"),
                "Buffers": _vector(b, buffer_offsets),
            },
        )
        b.Finish(model, file_identifier=b"TFL3")
        return bytes(b.Output())


def _vector(b: flatbuffers.Builder, offsets: Sequence[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        b.PrependUOffsetTRelative(offset)
    return b.EndVector()


def _table(b: flatbuffers.Builder, name: str, values: dict[str, Any]) -> int:
    """A table through the generated ``Start``/``Add<Field>``/``End`` functions (offsets
    and vectors must be created before: flatbuffers builds bottom-up)."""
    module = importlib.import_module(f"tflite.{name}")
    module.Start(b)
    for key, value in values.items():
        getattr(module, f"Add{key[0].upper()}{key[1:]}")(b, value)
    return int(module.End(b))


__all__ = ["Net", "TensorType", "tflite"]
