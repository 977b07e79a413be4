"""Shape arithmetic of a TFLite model, evaluated: the values of the small tensors that
operators compute from constants and from activations' shapes (``SHAPE``).

A model converted with dynamic dimensions computes a resize's size or a reshape's
target at run time: ``SHAPE → STRIDED_SLICE → MUL → PACK``. `fold` evaluates these few
integer operators with numpy (bounded: results past `VALUE_LIMIT` elements are left
unknown), so the translations read the numbers as if the file held them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from stridekit.frontends.tflite_model import VALUE_LIMIT, OperatorInfo

Values = list[np.ndarray]
Rule = Callable[[OperatorInfo, Values], np.ndarray]


def _strided_slice(op: OperatorInfo, v: Values) -> np.ndarray:
    x, begin, end = v[0], v[1].ravel(), v[2].ravel()
    strides = v[3].ravel() if len(v) > 3 else np.ones_like(begin)
    if op.option("EllipsisMask", 0) or op.option("NewAxisMask", 0):
        raise ValueError("masks stridekit does not evaluate")
    b_mask, e_mask = op.option("BeginMask", 0), op.option("EndMask", 0)
    shrink = op.option("ShrinkAxisMask", 0)
    index: list[int | slice] = []
    for d in range(len(begin)):
        if shrink >> d & 1:
            index.append(int(begin[d]))
        else:
            start = None if b_mask >> d & 1 else int(begin[d])
            stop = None if e_mask >> d & 1 else int(end[d])
            index.append(slice(start, stop, int(strides[d])))
    return np.asarray(x[tuple(index)])


def _slice(op: OperatorInfo, v: Values) -> np.ndarray:
    index = tuple(
        slice(int(b), None if s == -1 else int(b + s))
        for b, s in zip(v[1].ravel(), v[2].ravel(), strict=True)
    )
    return np.asarray(v[0][index])


def _binary(function: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Rule:
    return lambda op, v: np.asarray(function(v[0], v[1]))


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    integer = np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)
    return np.floor_divide(a, b) if integer else np.divide(a, b)


RULES: dict[str, Rule] = {
    "CAST": lambda op, v: v[0],
    "STRIDED_SLICE": _strided_slice,
    "SLICE": _slice,
    "GATHER": lambda op, v: np.take(v[0], v[1], axis=op.option("Axis", 0)),
    "PACK": lambda op, v: np.stack(v, axis=op.option("Axis", 0)),
    "CONCATENATION": lambda op, v: np.concatenate(v, axis=op.option("Axis", 0)),
    "ADD": _binary(np.add),
    "SUB": _binary(np.subtract),
    "MUL": _binary(np.multiply),
    "DIV": _binary(_divide),
    "FLOOR_DIV": _binary(np.floor_divide),
    "MAXIMUM": _binary(np.maximum),
    "MINIMUM": _binary(np.minimum),
    "RESHAPE": lambda op, v: v[0].reshape([int(d) for d in v[1].ravel()]),
    "SQUEEZE": lambda op, v: np.squeeze(v[0]),
    "EXPAND_DIMS": lambda op, v: np.expand_dims(v[0], int(v[1].ravel()[0])),
    "REDUCE_PROD": lambda op, v: np.prod(v[0], axis=tuple(int(a) for a in v[1].ravel())),
}


def fold(
    op: OperatorInfo, values: Mapping[int, np.ndarray], shapes: Mapping[int, tuple[int, ...]]
) -> np.ndarray | None:
    """The value of ``op``'s first output, or None when stridekit cannot compute it.

    >>> op = OperatorInfo(0, "SHAPE", (0,), (1,))
    >>> fold(op, {}, {0: (1, 32, 32, 3)})
    array([ 1, 32, 32,  3], dtype=int32)
    >>> fold(OperatorInfo(1, "MUL", (1, 2), (3,)), {1: np.array([32, 32]), 2: np.array(2)}, {})
    array([64, 64])
    """
    if op.code == "SHAPE":
        source = op.inputs[0] if op.inputs else -1
        shape = shapes.get(source)
        if shape is None and source in values:
            shape = values[source].shape
        return None if shape is None else np.asarray(shape, dtype=np.int32)
    rule = RULES.get(op.code)
    inputs = [t for t in op.inputs if t >= 0]
    if rule is None or not inputs or any(t not in values for t in inputs):
        return None
    try:
        result = np.asarray(rule(op, [np.asarray(values[t]) for t in inputs]))
    except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError):
        return None  # arithmetic stridekit does not follow: the value stays unknown
    return result if result.size <= VALUE_LIMIT else None
