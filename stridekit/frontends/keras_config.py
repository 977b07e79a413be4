"""The structure of a Keras model config, checked as it is read: layer references
(``keras_history``), the tensors each call reads, the shapes Keras recorded, the input's
declared shape, and an order of the calls in which every call follows what it reads.

A config comes from a file: a value of the wrong type or a reference to nothing is a
`ModelError` naming it, never a ``KeyError`` or ``TypeError``.

>>> ref(["conv", 0, 0], "keras_history"), refs(["in", 0, 0], "input_layers")
(('conv', 0, 0), [('in', 0, 0)])
>>> order({("b", 0): [(("a", 0, 0), None)], ("a", 0): [(("in", 0, 0), None)]}, {("in", 0)})
[('a', 0), ('b', 0)]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from stridekit.errors import ModelError

Shape = tuple[int, ...]
Ref = tuple[str, int, int]  # (layer, node index, tensor index): Keras's keras_history
Recorded = tuple[int | None, ...] | None  # a shape the file records (None: not recorded)
MAX_DEPTH = 32  # models nested in models, arguments nested in arguments


def mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ModelError(f"{what} is a {type(value).__name__}, not a mapping")
    return value


def list_of(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ModelError(f"{what} is a {type(value).__name__}, not a list")
    return value


def ref(value: Any, what: str) -> Ref:
    if (
        isinstance(value, list)
        and len(value) >= 3
        and isinstance(value[0], str)
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value[1:3])
    ):
        return (value[0], value[1], value[2])
    raise ModelError(f"{what} {str(value)[:80]!r} is not [layer, node index, tensor index]")


def refs(value: Any, what: str) -> list[Ref]:
    """``input_layers``/``output_layers``: one ref, or a list of them."""
    items = list_of(value, what)
    if items and isinstance(items[0], str):
        return [ref(items, what)]
    return [ref(item, what) for item in items]


def shape_of(value: Any, what: str) -> tuple[int | None, ...]:
    items = list_of(value, what)
    if not all(
        v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in items
    ):
        raise ModelError(f"{what} {value!r} is not a list of sizes (or null)")
    return tuple(items)


def inbound(
    node: Any, what: str, names: frozenset[str] = frozenset()
) -> Iterator[tuple[Ref, tuple[int | None, ...] | None]]:
    """The tensors a call reads, in order, with the shapes the file records (Keras 3's
    ``{"args": [...], "kwargs": {...}}`` of ``__keras_tensor__``; Keras 2's list of
    ``[layer, node, tensor, kwargs]``, where a TF op's second operand is a
    ``[layer, node, tensor]`` among the kwargs: one naming a layer of ``names``)."""
    if isinstance(node, list):  # Keras 2
        for entry in node:
            yield ref(entry, what), None
            kwargs = entry[3] if len(entry) > 3 and isinstance(entry[3], dict) else {}
            for value in kwargs.values():
                if isinstance(value, list) and value and value[0] in names:
                    yield ref(value, what), None
        return
    stack: list[tuple[Any, int]] = [
        (mapping(node, what).get("args", []), 0),
        (node.get("kwargs", {}), 0),
    ]
    found = []
    while stack:
        value, depth = stack.pop(0)
        if depth > 16:
            raise ModelError(f"{what}: arguments nested too deep")
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            tensor = mapping(value.get("config"), what)
            recorded = tensor.get("shape")
            shape = shape_of(recorded, f"{what} shape") if recorded is not None else None
            found.append((ref(tensor.get("keras_history"), f"{what} keras_history"), shape))
        elif isinstance(value, dict):
            stack[:0] = [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack[:0] = [(v, depth + 1) for v in value]
    yield from found


def input_batch_shape(layer: dict[str, Any]) -> tuple[int | None, ...] | None:
    config = mapping(layer.get("config", {}), "layer config")
    for key in ("batch_shape", "batch_input_shape"):
        if config.get(key) is not None:
            return shape_of(config[key], key)
    build = layer.get("build_config")
    if isinstance(build, dict) and build.get("input_shape") is not None:
        return shape_of(build["input_shape"], "build_config.input_shape")
    return None


def data_formats(config: Any, depth: int = 0) -> Iterator[str]:
    if depth > MAX_DEPTH or not isinstance(config, dict | list):
        return
    items = config.values() if isinstance(config, dict) else config
    if isinstance(config, dict) and config.get("data_format") in (
        "channels_last",
        "channels_first",
    ):
        yield config["data_format"]
    for item in items:
        yield from data_formats(item, depth + 1)


def fits(recorded: Recorded, shape: Shape) -> bool:
    """A computed shape agrees with a recorded one (None: any size; the batch is free)."""
    if recorded is None:
        return True
    return len(recorded) == len(shape) and all(
        r is None or r == n for r, n in zip(recorded[1:], shape[1:], strict=True)
    )


def layer_name(layer: dict[str, Any]) -> str:
    name = layer.get("name")
    if not isinstance(name, str):
        config = layer.get("config")
        name = config.get("name") if isinstance(config, dict) else None
    if not isinstance(name, str):
        raise ModelError(f"a {layer.get('class_name', 'layer')!r} layer has no name")
    return name


def order(
    calls: dict[tuple[str, int], list[tuple[Ref, Any]]], ready: set[tuple[str, int]]
) -> list[tuple[str, int]]:
    """The calls in an order where each runs after the calls it reads (Kahn)."""
    waiting = {key: {ref[:2] for ref, _ in reads} - ready for key, reads in calls.items()}
    readers: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for key, needs in waiting.items():
        for need in needs:
            readers.setdefault(need, []).append(key)
    queue = deque(key for key, needs in waiting.items() if not needs)
    order = []
    while queue:
        key = queue.popleft()
        order.append(key)
        for reader in readers.get(key, ()):
            waiting[reader].discard(key)
            if not waiting[reader]:
                queue.append(reader)
    if len(order) != len(calls):
        done = set(order)
        stuck = next(key for key in calls if key not in done)
        raise ModelError(
            f"layer {stuck[0]!r} reads a tensor that is never computed (a cycle or a missing layer)"
        )
    return order
