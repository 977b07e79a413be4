"""Each Keras layer the frontend translates, against Keras itself: small functional models
saved to ``.keras`` and read back; every layer's shape must be Keras's, and the pixels an
output depends on (the Jacobian, through the torch backend) must lie in stridekit's field
(exactly fill it, for chains of windows and pads)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import stridekit
from stridekit.frontends.keras import load_keras
from stridekit.graph import Graph
from stridekit.passes import propagate_fields
from tests.frontends.keras_support import import_keras, keras_shapes, save, support

keras = import_keras()
layers = keras.layers

pytestmark = pytest.mark.xdist_group("keras")


def _chain(shape: tuple[int, ...], *stack: Any) -> Any:
    x = inputs = keras.Input(shape)
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x)


def _branches() -> Any:
    x = keras.Input((12, 10, 3))
    a = layers.Conv2D(4, 3, strides=2, padding="same")(x)
    b = layers.MaxPooling2D(2, padding="same")(layers.Conv2D(4, 1)(x))
    gate = layers.GlobalAveragePooling2D(keepdims=True)(a)
    merged = [layers.Add()([a, b]), layers.Multiply()([a, gate]), layers.Subtract()([a, b])]
    merged += [layers.Average()([a, b]), layers.Maximum()([a, b]), keras.ops.add(a, b)]
    return keras.Model(x, layers.Concatenate()(merged))


def _nested() -> Any:
    inner_in = keras.Input((8, 8, 4))
    inner = keras.Model(inner_in, layers.Conv2D(4, 3, strides=2, padding="same")(inner_in))
    x = keras.Input((16, 16, 3))
    y = layers.Conv2D(4, 3, strides=2, padding="same", name="stem")(x)
    head = keras.Sequential([layers.ZeroPadding2D(1), layers.Conv2D(2, 3)], name="head")
    return keras.Model(x, head(inner(y)))


def _layout() -> Any:
    x = keras.Input((6, 8, 3))
    y = layers.Conv2D(4, 3, padding="same")(x)
    y = layers.Permute((2, 1, 3))(y)
    y = layers.Reshape((-1, 4))(y)
    y = layers.Dense(5)(y)
    return keras.Model(x, layers.Dense(2)(layers.Flatten()(y)))


# name → (model builder, Jacobian check: None (not local), "inside" or "exact")
CASES: dict[str, tuple[Callable[[], Any], str | None]] = {
    "conv2d-same-stride2": (
        lambda: _chain(
            (10, 9, 2),
            layers.Conv2D(3, 3, strides=2, padding="same"),
            layers.Conv2D(3, 5, strides=3, padding="same", dilation_rate=1),
        ),
        "exact",
    ),
    "conv2d-dilated-valid": (
        lambda: _chain(
            (17, 15, 2),
            layers.Conv2D(3, 3, dilation_rate=2),
            layers.Conv2D(3, (1, 4), strides=(1, 2), padding="same"),
        ),
        "exact",
    ),
    "conv1d-causal": (
        lambda: _chain(
            (20, 2),
            layers.Conv1D(4, 3, dilation_rate=2, padding="causal"),
            layers.Conv1D(4, 5, strides=3, padding="same"),
        ),
        "exact",
    ),
    "conv3d-pool3d": (
        lambda: _chain(
            (9, 10, 7, 2),
            layers.Conv3D(3, 3, strides=2, padding="same"),
            layers.AveragePooling3D(2, padding="same"),
        ),
        "exact",
    ),
    "grouped-conv": (lambda: _chain((9, 9, 4), layers.Conv2D(6, 3, strides=2, groups=2)), "exact"),
    "depthwise": (
        lambda: _chain(
            (11, 11, 3),
            layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2),
            layers.DepthwiseConv2D(5, strides=2, padding="same"),
        ),
        "exact",
    ),
    "separable": (
        lambda: _chain(
            (12, 13, 3),
            layers.SeparableConv2D(8, 3, strides=2, padding="same", depth_multiplier=2),
            layers.SeparableConv2D(4, 3),
        ),
        "exact",
    ),
    "transpose-valid": (
        lambda: _chain(
            (5, 6, 2),
            layers.Conv2DTranspose(3, 3, strides=2),
            layers.Conv2DTranspose(2, 1, strides=3),
        ),
        "inside",
    ),
    "transpose-same": (
        lambda: _chain(
            (5, 6, 2),
            layers.Conv2DTranspose(3, 4, strides=2, padding="same"),
            layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
        ),
        "inside",
    ),
    # Keras's torch backend crops this one where TF does not (see _transposed_padding):
    # its shapes are the same in every backend, its pixels are not
    "transpose-output-padding": (
        lambda: _chain(
            (5, 6, 2),
            layers.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1),
            layers.Conv2DTranspose(3, 4, strides=3, output_padding=2),
        ),
        None,
    ),
    "pools": (
        lambda: _chain(
            (13, 12, 2),
            layers.AveragePooling2D(3, strides=2, padding="same"),
            layers.AveragePooling2D((2, 3), strides=(2, 1)),
            layers.MaxPooling2D(2, padding="same"),
        ),
        "inside",
    ),
    "pad-crop": (
        lambda: _chain(
            (9, 8, 2),
            layers.ZeroPadding2D(((1, 2), (0, 3))),
            layers.Conv2D(2, 3, strides=2),
            layers.Cropping2D(((1, 0), (0, 1))),
            layers.CenterCrop(2, 3),
        ),
        "exact",
    ),
    "pad-crop-1d": (
        lambda: _chain(
            (15, 2),
            layers.ZeroPadding1D((2, 1)),
            layers.Conv1D(2, 3, strides=2),
            layers.Cropping1D((1, 2)),
        ),
        "exact",
    ),
    "upsampling": (
        lambda: _chain(
            (5, 6, 2),
            layers.UpSampling2D((2, 3)),
            layers.Conv2D(2, 3, strides=2),
            layers.UpSampling2D(2, interpolation="bilinear"),
            layers.Resizing(13, 9),
        ),
        "inside",
    ),
    "one-axis": (
        lambda: _chain(
            (16, 3),
            layers.SeparableConv1D(4, 3, strides=2, padding="same"),
            layers.DepthwiseConv1D(3),
            layers.UpSampling1D(3),
            layers.Conv1DTranspose(2, 3, strides=2, padding="same"),
            layers.MaxPooling1D(3, strides=2, padding="same"),
        ),
        "inside",
    ),
    "resizing-nearest": (
        lambda: _chain((9, 8, 2), layers.Resizing(4, 12, interpolation="nearest")),
        "inside",
    ),
    "channels-first": (
        lambda: _chain(
            (2, 11, 10),
            layers.Conv2D(3, 3, strides=2, padding="same", data_format="channels_first"),
            layers.MaxPooling2D(2, padding="same", data_format="channels_first"),
            layers.ZeroPadding2D(1, data_format="channels_first"),
            layers.GlobalAveragePooling2D(data_format="channels_first"),
        ),
        None,
    ),
    "branches": (_branches, None),
    "nested": (_nested, "exact"),
    "layout": (_layout, None),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keras_layers")


@pytest.mark.parametrize("name", list(CASES))
def test_shapes_and_fields_are_keras_own(name: str, folder: Path) -> None:
    build, check = CASES[name]
    model = build()
    graph = load_keras(save(model, folder / f"{name}.keras"))
    got = {node.name: node.output_shape for node in graph.nodes if node.name != "input"}
    assert got == keras_shapes(model)
    assert [o.shape for o in graph.outputs] == [(1, *model.output.shape[1:])]
    assert not [n for n in graph.nodes if n.attributes.get("unhandled")]
    if check is None:
        return
    _check_fields(model, graph, exact=check == "exact")


def _check_fields(model: Any, graph: Graph, *, exact: bool) -> None:
    """Along each spatial axis, for the first, a middle and the last output pixel: the
    input pixels it depends on lie in the field and (``exact``) reach both of its ends,
    clipped to the input (a dilated window leaves gaps inside)."""
    keras_in = (1, *model.input.shape[1:])
    node = graph[graph.outputs[0].node]
    fields = propagate_fields(graph).fields[node.name]
    sizes_in, sizes_out = keras_in[1:-1], node.output_shape[1:-1]
    for axis, field in enumerate(fields):
        assert not field.is_global
        for m in sorted({0, sizes_out[axis] // 2, sizes_out[axis] - 1}):
            index = tuple(m if a == axis else 0 for a in range(len(sizes_out)))
            got = support(model, keras_in, index, axis)
            lo, hi = m * field.jump + field.lo, m * field.jump + field.hi
            inside = {p for p in range(sizes_in[axis]) if lo <= p <= hi}
            assert got <= inside, (axis, m, sorted(got), (lo, hi))
            if exact:
                assert (min(got), max(got)) == (min(inside), max(inside)), (axis, m, lo, hi)


@pytest.mark.parametrize(("size", "pads"), [(8, (0, 1)), (9, (1, 1)), (10, (0, 1))])
def test_tf_same_pads_the_odd_pixel_at_the_end(
    size: int, pads: tuple[int, int], tmp_path: Path
) -> None:
    """Stride-2 SAME with a 3 × 3 kernel: total padding max(0, (ceil(n/2) − 1)·2 + 3 − n),
    1 on an even input (at the end: (0, 1)), 2 on an odd one ((1, 1)); the same window
    and field as stridekit's own Conv2dSame, and the pixels Keras reads say so too."""
    from stridekit.nn import Conv2dSame

    model = _chain(
        (size, size, 1),
        layers.Conv2D(1, 3, strides=2, padding="same", use_bias=False, kernel_initializer="ones"),
    )
    graph = load_keras(save(model, tmp_path / "same.keras"))
    node = graph.output
    assert node.output_shape == (1, *model.output.shape[1:])
    assert node.windows is not None and [w.padding for w in node.windows] == [pads, pads]
    ported = stridekit.analyze(graph).layers[-1]
    same = stridekit.analyze(Conv2dSame(1, 1, 3, stride=2), (1, 1, size, size)).layers[-1]
    assert (ported.jump, ported.rf, ported.rf_start) == (same.jump, same.rf, same.rf_start)
    assert ported.rf_start == (-pads[0], -pads[0])
    # output 0 reads rows 0..2 − pad_lo: with the odd pixel at the end, rows 0, 1, 2
    assert support(model, (1, size, size, 1), (0, 0), 0) == set(range(3 - pads[0]))
