"""Zoo references are built without weight storage, and analyse exactly as built eagerly.

Oracle: the same model built by its own zoo (``torchvision.models.get_model``,
``timm.create_model``) with real weights, analysed by the same tracer: layers, shapes,
parameters and MACs must agree. `build_on_meta`'s two ways and its fallback are each
reached by a model made to need them.
"""

from __future__ import annotations

import json
import warnings

import pytest
import timm
import torch
import torchvision
from torch import nn

from stridekit.analysis import analyze
from stridekit.frontends.resolve import resolve
from stridekit.frontends.torch_meta import build_on_meta, parameters_on_meta

warnings.filterwarnings("ignore", category=FutureWarning, module="torchvision")


def eager(reference: str) -> nn.Module:
    """The model built by its zoo, with real (random) weights."""
    source, name = reference.split(":")
    if source == "timm":
        return timm.create_model(name, pretrained=False)
    return torchvision.models.get_model(name, weights=None)


@pytest.mark.parametrize(
    ("reference", "shape"),
    [
        ("torchvision:resnet18", (1, 3, 64, 64)),  # parameters on meta, buffers real
        ("timm:vit_tiny_patch16_224", (1, 3, 224, 224)),  # drop-path rates from .tolist()
        ("timm:vit_tiny_r_s16_p8_224", (1, 3, 224, 224)),  # runs a forward in __init__
    ],
)
def test_references_have_no_storage_and_analyse_as_built_eagerly(
    reference: str, shape: tuple[int, ...]
) -> None:
    module = resolve(reference).module
    assert module is not None
    assert all(p.is_meta for p in module.parameters())
    built = eager(reference)
    assert all(not p.is_meta for p in built.parameters())
    on_meta, real = analyze(reference, shape), analyze(built, shape)
    assert on_meta.declared_params == sum(p.numel() for p in built.parameters())
    expected = real.to_dict()
    expected["model"] = reference
    assert json.dumps(on_meta.to_dict(), default=str) == json.dumps(expected, default=str)


def test_device_cpu_builds_real_weights() -> None:
    module = resolve("torchvision:resnet18", device="cpu").module
    assert module is not None and all(not p.is_meta for p in module.parameters())
    assert module.fc.weight.abs().sum() > 0  # initialised, not just allocated


class MeasuresItself(nn.Module):
    """Runs a forward pass on a real input in ``__init__`` to size its head (SSDlite)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Conv2d(3, 8, 3)
        channels = self.body(torch.zeros(1, 3, 8, 8)).shape[1]
        self.head = nn.Linear(channels, 2)


class ReadsItsWeights(nn.Module):
    """Reads a weight's value in ``__init__``: nothing but a real build works."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.scale = float(self.conv.weight.detach().abs().max())


@pytest.mark.parametrize(
    ("builder", "on_meta"),
    [(lambda: nn.Conv2d(3, 8, 3), True), (MeasuresItself, True), (ReadsItsWeights, False)],
)
def test_build_on_meta_tries_each_way(builder: type[nn.Module], on_meta: bool) -> None:
    original = nn.Module.register_parameter
    module, meta = build_on_meta(builder)
    assert meta is on_meta
    assert [p.is_meta for p in module.parameters()] == [on_meta] * len(list(module.parameters()))
    assert nn.Module.register_parameter is original  # the patch never outlives a build


def test_parameters_keep_their_class_flags_and_attributes() -> None:
    class Tagged(nn.Parameter):
        pass

    with parameters_on_meta():
        layer = nn.Linear(4, 4)
        frozen = nn.Parameter(torch.ones(3), requires_grad=False)
        frozen.no_decay = True
        layer.frozen = frozen
        layer.tagged = Tagged(torch.ones(2))
    assert layer.frozen.is_meta and not layer.frozen.requires_grad and layer.frozen.no_decay
    assert type(layer.tagged) is Tagged and layer.tagged.is_meta
    assert layer.weight.requires_grad
