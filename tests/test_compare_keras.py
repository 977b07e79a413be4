"""The port the issue is about: a Keras MobileNetV2 (``weights=None``, saved to a
``.keras`` file) against its naive PyTorch port, torchvision's ``mobilenet_v2`` (PyTorch's
symmetric padding 1). `compare` names the first stride-2 layer; after `match` the port
agrees, and on the Keras model's weights (copied across, float64) its feature maps equal
Keras's own to 1e-5."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from stridekit import compare
from stridekit.nn import Conv2dSame, match
from tests.frontends.keras_support import import_keras, save

keras = import_keras()
torchvision = pytest.importorskip("torchvision")

pytestmark = [
    pytest.mark.xdist_group("keras"),
    # Keras's get_weights under NumPy 2 (keras/src/backend/.../np.array(x))
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
]

SIZE = 96  # even: TF's SAME pads (0, 1) at every stride-2 layer


@pytest.fixture(scope="module")
def keras_mobilenet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    """Keras's MobileNetV2 in float64 with random weights and BN statistics, and its file."""
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")  # a policy set earlier would override floatx
    keras.config.set_dtype_policy("float64")
    try:
        keras.utils.set_random_seed(0)
        model = keras.applications.MobileNetV2(weights=None, input_shape=(SIZE, SIZE, 3))
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape),
                    rng.uniform(-0.5, 0.5, beta.shape),
                    rng.uniform(-0.5, 0.5, mean.shape),
                    rng.uniform(0.5, 1.5, variance.shape),
                ]
            )
    path = save(model, tmp_path_factory.mktemp("keras") / "mobilenet_v2.keras")
    return model, str(path)


def naive_port() -> nn.Module:
    return torchvision.models.mobilenet_v2().double().eval()


def copy_weights(model: Any, port: nn.Module) -> None:
    """Keras's convolutions, batch norms and head into the port, in order (both build
    MobileNetV2 in the same order): kernels HWIO → OIHW, depthwise HWC1 → C1HW."""
    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.BatchNormalization)
    theirs = [layer for layer in model.layers if isinstance(layer, kinds)]
    ours = [m for m in port.modules() if isinstance(m, nn.Conv2d | nn.BatchNorm2d)]
    assert len(theirs) == len(ours)
    with torch.no_grad():
        for layer, module in zip(theirs, ours, strict=True):
            weights = [torch.from_numpy(np.asarray(w, np.float64)) for w in layer.get_weights()]
            if isinstance(module, nn.BatchNorm2d):
                assert isinstance(layer, keras.layers.BatchNormalization)
                module.weight.copy_(weights[0])
                module.bias.copy_(weights[1])
                module.running_mean.copy_(weights[2])
                module.running_var.copy_(weights[3])
                module.eps = layer.epsilon  # Keras's 1e-3, not PyTorch's 1e-5
            elif isinstance(layer, keras.layers.DepthwiseConv2D):
                module.weight.copy_(weights[0].permute(2, 3, 0, 1))
            else:
                module.weight.copy_(weights[0].permute(3, 2, 0, 1))


def test_compare_finds_the_shift_of_the_naive_port(keras_mobilenet: tuple[Any, str]) -> None:
    _, path = keras_mobilenet
    result = compare(naive_port(), path, (1, 3, SIZE, SIZE))
    first = result.first_divergence
    assert first is not None and first.cause == "padding"
    assert first.message.startswith(
        "layer features.0.0 (B's Conv1) pads (1, 1) in A and (0, 1) in B: the grid moves 1 px"
    )
    # the stem and the four stride-2 depthwise convs start one of their input pixels
    # earlier in the port; their inputs have jumps 1, 2, 4, 8 and 16
    assert result.offset == (Fraction(-(1 + 2 + 4 + 8 + 16)),) * 2


def test_the_matched_port_computes_what_keras_does(keras_mobilenet: tuple[Any, str]) -> None:
    model, path = keras_mobilenet
    port = naive_port()
    copy_weights(model, port)
    fixed = match(port, path, (1, 3, SIZE, SIZE))
    assert compare(fixed, path, (1, 3, SIZE, SIZE)).agree
    assert type(fixed.features[0][0]) is Conv2dSame
    features = keras.Model(model.input, model.get_layer("out_relu").output)
    x = np.random.default_rng(1).uniform(-1, 1, (2, SIZE, SIZE, 3))
    expected = torch.from_numpy(keras.ops.convert_to_numpy(features(x))).permute(0, 3, 1, 2)
    assert expected.dtype == torch.float64
    ours = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        assert not torch.allclose(port.features(ours), expected, atol=1e-5)  # the port is off
        torch.testing.assert_close(fixed.features(ours), expected, atol=1e-5, rtol=0)
