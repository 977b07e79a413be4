"""The Keras frontend agrees with Keras itself and with the same architectures in PyTorch.

Each ``keras.applications`` model is built once (``weights=None``, its default input
size), saved to a ``.keras`` file and read back by stridekit without Keras:

- every layer's output shape equals the one Keras computes (``layer.output.shape``);
- output stride, receptive field (global or not) and local field equal those of the same
  architecture from torchvision or timm, traced by stridekit's torch frontend (an
  independent path: aten ops, not layer configs), and so do the FLOPs and, where the
  architectures agree on biases, the parameters.

The PyTorch twins: torchvision's ``mobilenet_v2``, ``efficientnet_b0``, ``densenet121``,
``convnext_tiny``; timm's ``legacy_xception`` (Chollet's Xception as Keras ships it, the
ported Keras weights; ``xception41`` and friends are the later aligned variants with
other strides). Keras's ResNet50 is the original v1, whose stride-2 sits in the first
1 × 1 conv of a stage, and its convs have biases; torchvision's ``resnet50`` is v1.5
(stride in the 3 × 3, no biases): the twin is torchvision's with the strides moved back
(`_resnet50_v1`), and parameters are not compared.

The first stride-2 layers of MobileNetV2 and EfficientNetB0 pad asymmetrically in Keras
(``ZeroPadding2D(((0, 1), (0, 1)))``, TF's SAME) and symmetrically in torchvision: the
fields have the same size but start one input pixel apart (padding 0 before the first
row instead of 1), which this test leaves to the ``compare`` tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import stridekit
from stridekit.frontends.keras import load_keras
from tests.frontends.keras_support import import_keras, keras_shapes, save

keras = import_keras()

pytestmark = pytest.mark.xdist_group("keras")  # one worker builds the Keras models once

# keras.applications name → the same architecture as a stridekit model reference
TWINS = {
    "MobileNetV2": "torchvision:mobilenet_v2",
    "ResNet50": "resnet50 v1",
    "EfficientNetB0": "torchvision:efficientnet_b0",
    "DenseNet121": "torchvision:densenet121",
    "Xception": "timm:legacy_xception",
    "ConvNeXtTiny": "torchvision:convnext_tiny",
}


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[Any, Path]]:
    """Each model built (lazily) and saved once for the whole module."""
    return {}


def _model(name: str, built: dict[str, tuple[Any, Path]], folder: Path) -> tuple[Any, Path]:
    if name not in built:
        model = getattr(keras.applications, name)(weights=None)
        built[name] = (model, save(model, folder / f"{name}.keras"))
    return built[name]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keras_zoo")


def _resnet50_v1() -> Any:
    import torchvision

    model = torchvision.models.resnet50(weights=None)
    for stage in (model.layer2, model.layer3, model.layer4):
        stage[0].conv1.stride, stage[0].conv2.stride = (2, 2), (1, 1)
    return model


@pytest.mark.parametrize("name", list(TWINS))
def test_every_layer_shape_is_keras_own(
    name: str, built: dict[str, tuple[Any, Path]], folder: Path
) -> None:
    model, path = _model(name, built, folder)
    expected = keras_shapes(model)
    graph = load_keras(path)
    got = {node.name: node.output_shape for node in graph.nodes if node.name != "input"}
    assert set(got) == set(expected)
    wrong = {n: (got[n], expected[n]) for n in expected if got[n] != expected[n]}
    assert not wrong, f"{len(wrong)} of {len(expected)} layers differ: {list(wrong.items())[:3]}"
    assert graph.input_shape == (1, 3, *model.input_shape[1:3])


@pytest.mark.parametrize("name", list(TWINS))
def test_stride_and_field_agree_with_the_pytorch_twin(
    name: str, built: dict[str, tuple[Any, Path]], folder: Path
) -> None:
    _, path = _model(name, built, folder)
    ported = stridekit.analyze(str(path))
    twin = TWINS[name]
    shape = ported.graph.input_shape
    reference = stridekit.analyze(_resnet50_v1() if twin == "resnet50 v1" else twin, shape)
    assert ported.output_stride == reference.output_stride
    assert ported.receptive_field == reference.receptive_field
    assert ported.local_receptive_field == reference.local_receptive_field
    assert ported.total_flops == reference.total_flops
    if name != "ResNet50":
        assert ported.total_params == reference.total_params
    assert ported.unhandled == [] and ported.graph.output.output_shape == (1, 1000)
