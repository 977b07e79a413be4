"""The Keras frontend: a ``.keras`` or ``.h5`` model file → stridekit's `Graph`, read as data.

Neither Keras nor TensorFlow is imported, and nothing in the file runs: the model's config
(`stridekit.frontends.keras_archive`) is walked as JSON, each layer call translated into a
canonical op (`stridekit.frontends.keras_layers`). Functional models (branches, shared
layers, several outputs), Sequential models and models nested in either are read; a
``Lambda`` layer, a custom object or a layer without a rule is an unhandled op (global,
listed in `Analysis.unhandled`).

Shapes: every node has the shape Keras gives its output (channels last: ``(N, H, W, C)``,
the batch ``None`` read as ``N``); the graph's ``input_shape`` is stridekit's
``(N, C, *spatial)`` as for every frontend, and so is the ``input_shape`` argument. Without
one the model's ``Input`` gives it; one with free spatial sizes needs it.

The output shape of a layer without a rule comes from the shape the file records for it
(Keras 3 writes each tensor's shape at the saved input size): at another input size it is
known only when the layer keeps its input's shape. At the saved size every recorded shape
is checked against stridekit's, so a translation that disagrees with Keras says so.

Costs: ``params`` from the configs (kernels, biases, depth multipliers, norm scales and
shifts, not running statistics); ``flops`` with the formulas of
``torch.utils.flop_counter`` (MACs = FLOPs / 2); activations are float32.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any

from stridekit.errors import ModelError, StrideError
from stridekit.frontends.keras_archive import read_config
from stridekit.frontends.keras_call import LayerCall, Translated
from stridekit.frontends.keras_config import (
    MAX_DEPTH,
    Recorded,
    Ref,
    data_formats,
    fits,
    inbound,
    input_batch_shape,
    layer_name,
    list_of,
    mapping,
    order,
    refs,
)
from stridekit.frontends.keras_layers import translate
from stridekit.geometry.layout import axis_sizes, permute, standard
from stridekit.geometry.limits import check_shape
from stridekit.graph import Graph, GraphOutput, Node
from stridekit.lowering import Meta, unknown

Shape = tuple[int, ...]
MODEL_CLASSES = frozenset({"Functional", "Model", "Sequential"})
MAX_CALLS = 100_000
_MALFORMED = (
    TypeError,
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
    ZeroDivisionError,
    OverflowError,
)


def load_keras(
    path_or_config: str | os.PathLike[str] | dict[str, Any],
    input_shape: tuple[int, ...] | None = None,
) -> Graph:
    """Read a Keras model (a ``.keras``/``.h5`` path, or its config as a dict) into a `Graph`.

    >>> conv = {"class_name": "Conv2D", "config": {"name": "conv", "filters": 8,
    ...         "kernel_size": [3, 3], "strides": [2, 2], "padding": "same"}}
    >>> model = {"class_name": "Sequential", "config": {"name": "net", "layers": [
    ...     {"class_name": "InputLayer", "config": {"batch_shape": [None, 32, 32, 3]}}, conv]}}
    >>> node = load_keras(model).output       # TF SAME, 32 → 16: padding (0, 1)
    >>> node.output_shape, node.windows[0].padding, node.params
    ((1, 16, 16, 8), (0, 1), 224)
    >>> load_keras(model, (1, 3, 33, 33)).output.windows[0].padding   # 33 → 17: (1, 1)
    (1, 1)
    """
    if isinstance(path_or_config, dict):
        config, label = path_or_config, "keras model"
    else:
        config, label = read_config(path_or_config), Path(path_or_config).name
    try:
        return _Builder(config, label).build(input_shape)
    except StrideError as error:
        raise ModelError(f"{label}: {error}") from None
    except _MALFORMED as error:  # a config shaped unlike any Keras writes
        raise ModelError(
            f"{label}: malformed model config ({type(error).__name__}: {error})"
        ) from None


@dataclass(frozen=True)
class _Tensor:
    node: str  # the graph node that wrote it
    meta: Meta


class _Builder:
    def __init__(self, config: dict[str, Any], label: str) -> None:
        self.root, self.label = config, label
        self.graph = Graph(input_shape=(1, 1, 1))  # replaced in build()
        self.calls = 0
        self.at_saved_size = False

    # --- the model input ---------------------------------------------------------------

    def _declared(self, model: dict[str, Any]) -> tuple[int | None, ...]:
        body = model.get("config")
        if str(model.get("class_name")) not in MODEL_CLASSES:
            raise ModelError(f"the file holds a {model.get('class_name')!r}, not a Keras model")
        if isinstance(body, list):  # a Keras 1/2 Sequential: a bare list of layers
            body = {"layers": body}
        body = mapping(body, "model config")
        layers = list_of(body.get("layers"), "layers")
        if not layers:
            raise ModelError("the model has no layers")
        if model["class_name"] == "Sequential":
            first = mapping(layers[0], "layer")
            shape = input_batch_shape(first)
        else:
            inputs = refs(body.get("input_layers"), "input_layers")
            if len(inputs) != 1:
                raise ModelError(
                    f"the model has {len(inputs)} inputs; stridekit analyses models with one"
                )
            named = [mapping(layer, "layer") for layer in layers]
            found = [layer for layer in named if layer_name(layer) == inputs[0][0]]
            shape = input_batch_shape(found[0]) if found else None
        if shape is None:
            raise ModelError("the model declares no input shape; pass input_shape")
        return shape

    def build(self, input_shape: tuple[int, ...] | None) -> Graph:
        declared = self._declared(self.root)
        if len(declared) < 3:
            raise ModelError(
                f"the model's input {declared} has no spatial axes; stridekit analyses "
                "images, volumes and sequences: (batch, *spatial, channels)"
            )
        formats = list(data_formats(self.root))
        last = not formats or formats[0] == "channels_last"
        channels = declared[-1] if last else declared[1]
        sizes = declared[1:-1] if last else declared[2:]
        nchw_declared = (1, channels, *sizes)
        if input_shape is None:
            if None in nchw_declared:
                example = ", ".join(["224"] * len(sizes))
                raise ModelError(
                    f"the model's input {declared} has free sizes; give an input shape "
                    f"(N, C, *spatial), e.g. (1, {channels or 3}, {example})"
                )
            shape: Shape = tuple(int(n) for n in nchw_declared if n is not None)
        else:
            shape = tuple(int(n) for n in input_shape)
            if len(shape) != len(declared) or channels not in (None, shape[1]):
                raise ModelError(
                    f"input shape {shape} does not fit the model's input {declared}: give "
                    f"(N, C, *spatial) with C = {channels}, e.g. "
                    f"(1, {channels}, {', '.join(str(n or 224) for n in sizes)})"
                )
        check_shape(shape, "input shape")
        self.at_saved_size = shape[1:] == nchw_declared[1:]
        spatial = len(shape) - 2
        self.graph = Graph(input_shape=shape, name=self._name(self.root))
        layout = standard(shape, spatial)
        keras_shape = shape
        if last:
            order = [0, *range(2, len(shape)), 1]
            layout, keras_shape = permute(layout, order), tuple(shape[d] for d in order)
        tensor = _Tensor("input", Meta(keras_shape, layout, spatial))
        outputs = self._model(self.root, [tensor], "", 0)
        self.graph.outputs = [
            GraphOutput(str(i), t.node, t.meta.shape) for i, t in enumerate(outputs)
        ]
        return self.graph

    def _name(self, model: dict[str, Any]) -> str:
        body = model.get("config")
        name = body.get("name") if isinstance(body, dict) else None
        return name if isinstance(name, str) and name else Path(self.label).stem

    # --- models: Functional and Sequential ----------------------------------------------

    def _model(
        self, model: dict[str, Any], inputs: list[_Tensor], scope: str, depth: int
    ) -> list[_Tensor]:
        if depth > MAX_DEPTH:
            raise ModelError(f"models nested more than {MAX_DEPTH} deep")
        body = model.get("config")
        if isinstance(body, list):
            body = {"layers": body}
        body = mapping(body, f"{scope or 'model'} config")
        layers = [mapping(layer, "layer") for layer in list_of(body.get("layers"), "layers")]
        if model.get("class_name") == "Sequential":
            return self._sequential(layers, inputs, scope, depth)
        return self._functional(body, layers, inputs, scope, depth)

    def _sequential(
        self, layers: list[dict[str, Any]], inputs: list[_Tensor], scope: str, depth: int
    ) -> list[_Tensor]:
        if len(inputs) != 1:
            raise ModelError(f"{scope or 'a Sequential model'} is called with {len(inputs)} inputs")
        current = inputs
        for layer in layers:
            if layer.get("class_name") == "InputLayer":
                continue
            current = self._call(layer, 0, current, scope, depth, (None, None))
        return current

    def _functional(
        self,
        body: dict[str, Any],
        layers: list[dict[str, Any]],
        inputs: list[_Tensor],
        scope: str,
        depth: int,
    ) -> list[_Tensor]:
        by_name = {layer_name(layer): layer for layer in layers}
        keras2 = any(
            isinstance(layer.get("inbound_nodes"), list)
            and layer["inbound_nodes"]
            and isinstance(layer["inbound_nodes"][0], list)
            for layer in layers
        )
        input_refs = _reindexed(refs(body.get("input_layers"), "inputs"), by_name, keras2)
        output_refs = _reindexed(refs(body.get("output_layers"), "outputs"), by_name, keras2)
        if len(input_refs) != len(inputs):
            raise ModelError(
                f"{scope or 'the model'} takes {len(input_refs)} inputs, got {len(inputs)}"
            )
        values: dict[Ref, _Tensor] = dict(zip(input_refs, inputs, strict=True))
        # every call (layer, node index) with the refs it reads and the shapes recorded
        calls: dict[tuple[str, int], list[tuple[Ref, tuple[int | None, ...] | None]]] = {}
        for name, layer in by_name.items():
            if layer.get("class_name") == "InputLayer":
                continue
            nodes = list_of(layer.get("inbound_nodes", []), f"layer {name!r} inbound_nodes")
            for index, node in enumerate(nodes):
                where = f"layer {name!r} inbound node"
                reads = list(inbound(node, where, frozenset(by_name)))
                if keras2:  # no shapes recorded there
                    reads = [(r, None) for r in _reindexed([r for r, _ in reads], by_name, True)]
                calls[(name, index)] = reads
        self.calls += len(calls)
        if self.calls > MAX_CALLS:
            raise ModelError(f"more than {MAX_CALLS:,} layer calls; is the file damaged?")
        recorded: dict[Ref, tuple[int | None, ...]] = {}
        for reads in calls.values():
            for ref, shape in reads:
                if shape is not None and recorded.setdefault(ref, shape) != shape:
                    raise ModelError(
                        f"the file records two shapes for the output of {ref[0]!r}: "
                        f"{recorded[ref]} and {shape}"
                    )
        for name, index in order(calls, {ref[:2] for ref in input_refs}):
            reads = calls[(name, index)]
            missing = [ref for ref, _ in reads if ref not in values]
            if missing:
                raise ModelError(
                    f"layer {name!r} reads {missing[0][0]!r} (node {missing[0][1]}, tensor "
                    f"{missing[0][2]}), which the model does not compute"
                )
            saved = (reads[0][1] if reads else None, recorded.get((name, index, 0)))
            outputs = self._call(
                by_name[name], index, [values[ref] for ref, _ in reads], scope, depth, saved
            )
            for t, tensor in enumerate(outputs):
                values[(name, index, t)] = tensor
        missing = [ref for ref in output_refs if ref not in values]
        if missing:
            raise ModelError(f"output {missing[0][0]!r} is not computed by the model")
        return [values[ref] for ref in output_refs]

    # --- one layer call ------------------------------------------------------------------

    def _call(
        self,
        layer: dict[str, Any],
        index: int,
        inputs: list[_Tensor],
        scope: str,
        depth: int,
        saved: tuple[Recorded, Recorded],
    ) -> list[_Tensor]:
        """Translate one call; ``saved``: the shapes the file records for its first input
        and its output (at the saved input size), when it does."""
        name = layer_name(layer)
        class_name = layer.get("class_name")
        if not isinstance(class_name, str):
            raise ModelError(f"layer {name!r} has no class_name")
        path = f"{scope}{name}" + (f"_{index}" if index else "")
        raw = layer.get("config", {})
        if not inputs:
            raise ModelError(f"layer {name!r} ({class_name}) reads no tensor")
        if class_name in MODEL_CLASSES and (isinstance(raw, list) or "layers" in raw):
            return self._model(layer, inputs, f"{path}/", depth + 1)
        config = mapping(raw, f"layer {name!r} config")
        module = layer.get("module")
        keras_own = module is None or module == "keras" or str(module).startswith("keras.")
        call = LayerCall(
            class_name, str(module or "keras.layers"), config, [t.meta for t in inputs]
        )
        try:
            done = translate(call) if keras_own else Translated(unknown(class_name))
        except StrideError as error:
            raise ModelError(f"layer {path!r} ({class_name}): {error}") from None
        except _MALFORMED as error:
            raise ModelError(
                f"layer {path!r} ({class_name}): malformed config: {type(error).__name__}: {error}"
            ) from None
        lowered, shape = done.lowered, done.lowered.shape
        first = inputs[0].meta.shape
        if shape is None:  # no rule: the shape the file records, or the input's
            shape = self._unknown_shape(path, class_name, config, first, saved)
        elif self.at_saved_size and not fits(saved[1], shape):
            raise ModelError(
                f"layer {path!r} ({class_name}): stridekit computes {shape}, the file "
                f"records {saved[1]}; please report this model"
            )
        spatial = inputs[0].meta.spatial
        sizes = axis_sizes(lowered.layout, spatial)
        attributes = {k: v for k, v in lowered.notes.items() if k != "op"}
        if lowered.unhandled:
            attributes["unhandled"] = True
        node_name = path
        while node_name in self.graph:
            node_name += "_"
        target = f"ops.{class_name}" if call.module.startswith("keras.src.ops") else class_name
        self.graph.add(
            Node(
                node_name,
                lowered.kind,
                tuple(t.node for t in inputs),
                tuple(t.meta.shape for t in inputs),
                shape,
                lowered.axes,
                params=done.params,
                flops=lowered.flops,
                macs=lowered.flops // 2,
                activation_bytes=4 * prod(shape),
                module=path,
                target=target,
                attributes=attributes,
                sizes=sizes,
                positional=sizes is not None,
            )
        )
        return [_Tensor(node_name, Meta(shape, lowered.layout, spatial))]

    def _unknown_shape(
        self,
        path: str,
        class_name: str,
        config: dict[str, Any],
        first: Shape,
        saved: tuple[Recorded, Recorded],
    ) -> Shape:
        saved_in, saved_out = saved
        if saved_out is not None:
            if self.at_saved_size and None not in saved_out[1:]:
                return (first[0], *(int(n) for n in saved_out[1:] if n is not None))
            if saved_in is not None and saved_in == saved_out:
                return first  # it keeps its input's shape
            raise ModelError(
                f"layer {path!r} ({class_name}) has no rule and turns {saved_in} into "
                f"{saved_out} at the saved input size; stridekit never runs it, so analyse "
                "at the saved input size"
            )
        declared = config.get("output_shape")
        if (
            isinstance(declared, list)
            and declared
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in declared)
        ):
            return (first[0], *declared)
        return first  # no record (a Keras 2 file): the input's shape, as an identity would


def _reindexed(found: list[Ref], by_name: dict[str, dict[str, Any]], keras2: bool) -> list[Ref]:
    """Refs as indices into the saved ``inbound_nodes``. A nested Functional model starts
    with a built-in node that Keras does not save but counts: Keras 3 counts it in
    ``input_layers``/``output_layers`` (not in call arguments), Keras 2 everywhere, for
    Sequential models too (Functional models there)."""
    shifted = []
    for name, index, tensor in found:
        kind = by_name.get(name, {}).get("class_name")
        nested = kind == "Functional" or (keras2 and kind in MODEL_CLASSES)
        shifted.append((name, index - 1 if nested and index > 0 else index, tensor))
    return shifted
