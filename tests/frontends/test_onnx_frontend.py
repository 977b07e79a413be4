"""The ONNX frontend on models exported from PyTorch, against PyTorch itself.

Each model is exported with the legacy exporter to a temporary file and loaded back;
its output shape, parameter count and MACs must equal the eager model's
(``FlopCounterMode``), and the receptive field of the head must equal the one measured
by gradients (`oracles.gradient_extent`). torchvision models are also compared with the
torch frontend, the other route to the same `Graph`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from stridekit.frontends.onnx import load_onnx
from stridekit.graph import Graph
from stridekit.passes import head_node, propagate_fields
from tests.frontends.oracles import (
    eager_facts,
    export_onnx,
    gradient_extent,
    integer_interval,
)


class Chain(nn.Module):
    """``features`` (whose output enters the head: the gradient oracle runs it) + head."""

    def __init__(self, *layers: nn.Module, head: nn.Module | None = None) -> None:
        super().__init__()
        self.features = nn.Sequential(*layers)
        self.head = head if head is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class Residual(nn.Module):
    def __init__(self, main: nn.Module, shortcut: nn.Module) -> None:
        super().__init__()
        self.main, self.shortcut = main, shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + self.shortcut(x)


class Cat(nn.Module):
    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class Strided(nn.Module):
    """``x[:, :, a::s, b::t]``: strided slicing on both spatial axes."""

    def __init__(self, a: int, s: int, b: int, t: int) -> None:
        super().__init__()
        self.a, self.s, self.b, self.t = a, s, b, t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, self.a :: self.s, self.b :: self.t]


class ChannelsLastLinear(nn.Module):
    """A linear layer over channels in NHWC: a 1×1 convolution in disguise."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def conv(c_in: int, c_out: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, s, p, dilation=d)


# name → (model factory, input shape, exact): exact models have fields equal to the
# gradient-measured ones; the others (interpolation, transposed convs) bound them.
MODELS = {
    "stem": (
        lambda: Chain(conv(3, 8, 7, 2, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                      conv(8, 8, 3, 1, 1)),
        (1, 3, 64, 64),
        True,
    ),
    "residual": (
        lambda: Chain(Residual(nn.Sequential(conv(3, 8, 3, 2, 1), nn.ReLU(), conv(8, 8, 3, 1, 1)),
                               conv(3, 8, 1, 2)), nn.ReLU()),
        (1, 3, 32, 32),
        True,
    ),
    "dilated": (
        lambda: Chain(conv(3, 4, 3, 1, 2, 2), conv(4, 4, 3, 1, 4, 4),
                      nn.AvgPool2d(3, 2, 1, ceil_mode=True)),
        (1, 3, 40, 40),
        True,
    ),
    # H = 21: ceil((21 + 2 − 2)/2) + 1 = 12, but window 12 would start at 22 ≥ 21 + 1,
    # in the right padding, so PyTorch (and the ONNX spec) give 11; onnx's inference 12.
    # W = 24 + 1 (the pad, exported as shape arithmetic the frontend folds) = 25: 14 → 13
    "ceil_pool": (
        lambda: Chain(nn.ConstantPad2d((0, 1, 0, 0), 0.0), conv(3, 4, 3, 1, 1),
                      nn.MaxPool2d(2, 2, 1, ceil_mode=True), conv(4, 4, 3, 2, 1)),
        (1, 3, 21, 24),
        True,
    ),
    "transposed": (
        lambda: Chain(conv(3, 4, 3, 2, 1), nn.ConvTranspose2d(4, 4, 4, 2, 1),
                      nn.ConvTranspose2d(4, 4, 3, 2, 1, output_padding=1)),
        (1, 3, 16, 16),
        False,
    ),
    "unshuffle": (
        lambda: Chain(nn.PixelUnshuffle(2), conv(12, 8, 3, 1, 1), nn.PixelUnshuffle(2),
                      conv(32, 4, 3, 1, 1)),
        (1, 3, 32, 32),
        True,
    ),
    # a fractional jump (½ after the shuffle) makes the hull an outer bound
    "shuffle": (
        lambda: Chain(nn.PixelUnshuffle(2), conv(12, 8, 3, 1, 1), nn.PixelShuffle(2),
                      conv(2, 2, 3, 1, 1)),
        (1, 3, 32, 32),
        False,
    ),
    "pad_slice": (
        lambda: Chain(nn.ConstantPad2d((1, 2, 3, 0), 0.0), conv(3, 4, 3), Strided(1, 2, 0, 3),
                      conv(4, 4, 3, 1, 1)),
        (1, 3, 32, 32),
        True,
    ),
    "upsample": (
        lambda: Chain(conv(3, 4, 3, 2, 1), nn.Upsample(scale_factor=2), conv(4, 4, 3, 1, 1),
                      nn.Upsample(scale_factor=2, mode="bilinear"), conv(4, 4, 3, 1, 1)),
        (1, 3, 32, 32),
        False,
    ),
    "concat": (
        lambda: Chain(Cat(conv(3, 4, 3, 1, 1), conv(3, 4, 5, 1, 2)), conv(8, 4, 3, 2, 1)),
        (1, 3, 24, 24),
        True,
    ),
    "channels_last_linear": (
        lambda: Chain(conv(3, 8, 3, 2, 1), ChannelsLastLinear(8, 8), conv(8, 8, 3, 1, 1)),
        (1, 3, 32, 32),
        True,
    ),
    "conv1d": (
        lambda: Chain(nn.Conv1d(2, 4, 5, 2, 2), nn.MaxPool1d(3, 2, 1),
                      nn.Conv1d(4, 4, 3, 1, 2, dilation=2)),
        (1, 2, 64),
        True,
    ),
    "classifier_head": (
        lambda: Chain(conv(3, 8, 3, 2, 1), nn.ReLU(), conv(8, 8, 3, 2, 1),
                      head=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))),
        (1, 3, 32, 32),
        True,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[nn.Module, Graph]]:
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("onnx")
    loaded = {}
    for name, (factory, shape, _) in MODELS.items():
        model = factory().eval()
        path = export_onnx(model, shape, directory / f"{name}.onnx")
        loaded[name] = (model, load_onnx(path))
    return loaded


@pytest.mark.parametrize("name", MODELS)
def test_shapes_params_macs_match_eager_pytorch(
    name: str, exported: dict[str, tuple[nn.Module, Graph]]
) -> None:
    model, graph = exported[name]
    shape = MODELS[name][1]
    out_shape, params, macs = eager_facts(model, shape)
    assert graph.output.output_shape == out_shape
    assert sum(node.params for node in graph.nodes) == params
    assert sum(node.macs for node in graph.nodes) == macs


@pytest.mark.parametrize("name", MODELS)
def test_head_field_matches_gradients(
    name: str, exported: dict[str, tuple[nn.Module, Graph]]
) -> None:
    model, graph = exported[name]
    shape, exact = MODELS[name][1:]
    head = head_node(graph)
    fields = propagate_fields(graph).fields[head.name]
    assert not any(f.is_global for f in fields)
    inputs, outputs = shape[2:], head.output_shape[2:]
    # an interior output (field inside the image) and the two border outputs
    centre = tuple(
        next(
            m
            for m in range(n_out)
            if integer_interval(f, m)[0] >= 0 and integer_interval(f, m)[1] < n_in
        )
        for f, n_in, n_out in zip(fields, inputs, outputs, strict=True)
    )
    for position in (centre, (0,) * len(inputs), tuple(n - 1 for n in outputs)):
        measured = gradient_extent(model.features, shape, position)
        for f, m, n, (lo, hi) in zip(fields, position, inputs, measured, strict=True):
            want_lo, want_hi = integer_interval(f, m)
            assert max(want_lo, 0) <= lo and hi <= min(want_hi, n - 1), (position, f)
            if exact and position == centre:
                assert (lo, hi) == (want_lo, want_hi), (position, f)


def test_ceil_mode_drops_the_window_in_the_right_padding(
    exported: dict[str, tuple[nn.Module, Graph]],
) -> None:
    pool = next(node for node in exported["ceil_pool"][1].nodes if node.op == "max_pool")
    assert pool.output_shape[2:] == (11, 13)  # both: the last window dropped
    assert pool.windows is not None and pool.windows[0].ceil_mode


@pytest.mark.parametrize(
    ("name", "op", "maps"),
    [
        ("shuffle", "pixel_unshuffle", "Window(kernel=2, stride=2"),
        ("shuffle", "pixel_shuffle", "Resample(scale=Fraction(1, 2)"),
        ("channels_last_linear", "conv", "Window(kernel=1, stride=1"),
        ("pad_slice", "slice", "Resample(scale=Fraction(2, 1), start=Fraction(1, 1)"),
    ],
)
def test_layout_ops_lower_to_their_stride_meaning(
    name: str, op: str, maps: str, exported: dict[str, tuple[nn.Module, Graph]]
) -> None:
    # PyTorch writes pixel_unshuffle as Reshape → Transpose → Reshape, a linear layer
    # over NHWC as Transpose → MatMul, and x[:, :, 1::2] as Slice with steps
    graph = exported[name][1]
    nodes = [n for n in graph.nodes if n.op == op and n.axes is not None]
    assert nodes and any(repr(n.axes[0]).startswith(maps) for n in nodes)


# --- torchvision models: against eager PyTorch, gradients and the torch frontend ----------

ZOO = {
    "resnet18": (1, 3, 64, 64),
    "mobilenet_v3_small": (1, 3, 64, 64),
    "lraspp_mobilenet_v3_large": (1, 3, 64, 64),
}


def zoo_model(name: str) -> nn.Module:
    torch.manual_seed(0)
    options = {"weights_backbone": None} if name.startswith("lraspp") else {}
    return torchvision.models.get_model(name, weights=None, **options).eval()


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[nn.Module, Path]]:
    directory = tmp_path_factory.mktemp("zoo")
    return {
        name: (model := zoo_model(name), export_onnx(model, shape, directory / f"{name}.onnx"))
        for name, shape in ZOO.items()
    }


@pytest.mark.parametrize("name", ZOO)
def test_zoo_matches_eager_pytorch(name: str, zoo: dict[str, tuple[nn.Module, Path]]) -> None:
    model, path = zoo[name]
    graph = load_onnx(path)
    out_shape, params, macs = eager_facts(model, ZOO[name])
    assert graph.output.output_shape == out_shape
    assert sum(node.params for node in graph.nodes) == params
    assert sum(node.macs for node in graph.nodes) == macs


def test_resnet18_field_matches_gradients_at_a_new_input_size(
    zoo: dict[str, tuple[nn.Module, Path]],
) -> None:
    # exported at 64², analysed at 480×32: tall enough for an interior output along H
    # (RF 435 = 1 + 2·217, jump 32), narrow enough to be quick
    model, path = zoo["resnet18"]
    shape = (1, 3, 480, 32)
    graph = load_onnx(path, input_shape=shape)
    head = head_node(graph)
    field = propagate_fields(graph).fields[head.name][0]
    assert (field.jump, field.size) == (32, 435)
    m = 7  # 7·32 − 217 = 7 ≥ 0 and 7·32 + 217 = 441 < 480
    features = nn.Sequential(*list(model.children())[:-2])
    (lo, hi), _ = gradient_extent(features, shape, (m, 0))
    assert (lo, hi) == integer_interval(field, m) == (7, 441)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_agrees_with_the_torch_frontend(
    name: str, zoo: dict[str, tuple[nn.Module, Path]]
) -> None:
    from stridekit.frontends.torch import trace_torch

    model, path = zoo[name]
    from_onnx, from_torch = load_onnx(path), trace_torch(model, ZOO[name])
    results = []
    for graph in (from_onnx, from_torch):
        head = head_node(graph)
        fields = propagate_fields(graph)
        results.append(
            (
                head.output_shape,
                fields.fields[head.name],
                fields.local[head.name],
                graph.output.output_shape,
                sum(node.params for node in graph.nodes),
                sum(node.macs for node in graph.nodes),
            )
        )
    assert results[0] == results[1]
