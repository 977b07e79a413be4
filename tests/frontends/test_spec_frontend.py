"""The spec frontend against PyTorch: every spec here is also built as a torch module (by
`torch_twin`, a plain reading of the spec with PyTorch layers), whose eager shapes,
parameter count, MACs and gradient-measured receptive fields the graph must match."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from stridekit.errors import ModelError, StrideError
from stridekit.frontends.spec import load_spec
from stridekit.graph import Graph
from stridekit.passes import head_node, propagate_fields
from tests.frontends.oracles import gradient_extent, integer_interval

EXAMPLES = Path(__file__).parents[2] / "stridekit" / "examples" / "specs"


class Block(nn.Module):
    def __init__(self, branches: list[nn.Module], merge: str) -> None:
        super().__init__()
        self.branches, self.merge = nn.ModuleList(branches), merge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [branch(x) for branch in self.branches]
        if self.merge == "concat":
            return torch.cat(outs, dim=1)
        result = outs[0]
        for out in outs[1:]:
            result = result + out if self.merge == "add" else result * out
        return result


def torch_layer(layer: dict[str, Any], spatial: int) -> nn.Module:
    kind = layer["type"]
    padding = layer.get("padding", 0)
    pad: nn.Module = nn.Identity()
    if isinstance(padding, list):  # [lo, hi] on every axis, or [[lo, hi], ...] per axis
        pairs = padding if isinstance(padding[0], list) else [padding] * spatial
        pad = nn.ZeroPad2d(tuple(v for lo_hi in reversed(pairs) for v in lo_hi))
        padding = 0
    if kind == "conv":
        conv = nn.LazyConv2d(layer["channels"], layer["kernel"], layer.get("stride", 1), padding,
                             layer.get("dilation", 1), layer.get("groups", 1),
                             layer.get("bias", True))  # fmt: skip
        return nn.Sequential(pad, conv)
    if kind == "conv_transpose":
        return nn.LazyConvTranspose2d(layer["channels"], layer["kernel"], layer.get("stride", 1),
                                      padding, layer.get("output_padding", 0),
                                      bias=layer.get("bias", True))  # fmt: skip
    if kind in ("max_pool", "avg_pool"):
        args = (layer["kernel"], layer.get("stride"), padding)
        ceil = layer.get("ceil_mode", False)
        if kind == "max_pool":
            return nn.MaxPool2d(*args, dilation=layer.get("dilation", 1), ceil_mode=ceil)
        return nn.AvgPool2d(*args, ceil_mode=ceil)
    if kind == "upsample":
        mode = "bilinear" if layer.get("mode") == "linear" else "nearest"
        if "size" in layer:
            return nn.Upsample(size=layer["size"], mode=mode)
        return nn.Upsample(scale_factor=float(Fraction(str(layer["scale"]))), mode=mode)
    simple = {
        "pixel_shuffle": lambda: nn.PixelShuffle(layer["factor"]),
        "pixel_unshuffle": lambda: nn.PixelUnshuffle(layer["factor"]),
        "global_pool": lambda: nn.AdaptiveAvgPool2d(1),
        "flatten": nn.Flatten,
        "linear": lambda: nn.LazyLinear(layer["channels"], layer.get("bias", True)),
        "pad": lambda: pad,
        "batch_norm": nn.LazyBatchNorm2d,
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
    }
    return simple[kind]()


def torch_twin(
    layers: list[dict[str, Any]], spatial: int, named: dict[str, nn.Module], prefix: str = ""
) -> list[nn.Module]:
    """PyTorch modules for ``layers``; ``named`` maps the spec's layer names to them."""
    modules: list[nn.Module] = []
    for index, layer in enumerate(layers):
        name = layer.get("name") or f"{prefix}{index}"
        if "branches" in layer:
            branches = [
                nn.Sequential(*torch_twin(branch, spatial, named, f"{name}.{b}."))
                for b, branch in enumerate(layer["branches"])
            ]
            module: nn.Module = Block(branches, layer.get("merge", "add"))
        else:
            module = torch_layer(layer, spatial)
        named[name] = module
        modules.append(module)
    return modules


def build(spec: dict[str, Any]) -> tuple[nn.Sequential, dict[str, nn.Module]]:
    named: dict[str, nn.Module] = {}
    torch.manual_seed(0)
    model = nn.Sequential(*torch_twin(spec["layers"], len(spec["input"]) - 2, named)).eval()
    with torch.no_grad():
        model(torch.zeros(spec["input"]))  # materialize the lazy layers
    return model, named


def eager_shapes(model: nn.Module, named: dict[str, nn.Module], shape: list[int]) -> dict:
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        module.register_forward_hook(
            lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape))
        )
        for name, module in named.items()
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(shape))
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


def spec_of(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


SPECS = {
    **{path.stem: spec_of(path.stem) for path in sorted(EXAMPLES.glob("*.yaml"))},
    "odd_layers": {
        "input": [1, 4, 30, 22],
        "layers": [
            {"type": "conv", "channels": 8, "kernel": [7, 3], "padding": [[3, 3], [1, 1]]},
            {"type": "conv", "channels": 8, "kernel": 3, "stride": 2, "padding": [0, 1]},
            {"type": "avg_pool", "kernel": 2, "ceil_mode": True},
            {
                "type": "conv_transpose",
                "channels": 4,
                "kernel": 3,
                "stride": 2,
                "padding": 1,
                "output_padding": 1,
            },
            {"type": "upsample", "scale": "3/2", "mode": "linear"},
            {"type": "pad", "padding": [[0, 2], [1, 1]]},
            {"type": "pixel_unshuffle", "factor": 2},
            {"type": "conv", "channels": 8, "kernel": 3, "groups": 4, "bias": False},
            {"type": "pixel_shuffle", "factor": 2},
            {"type": "upsample", "size": [40, 30]},
            {
                "type": "max_pool",
                "kernel": 3,
                "stride": 2,
                "padding": 1,
                "dilation": 2,
                "ceil_mode": True,
            },
        ],
    },
}


@pytest.mark.parametrize("name", SPECS)
def test_every_layer_shape_params_macs_match_pytorch(name: str) -> None:
    spec = SPECS[name]
    graph = load_spec(spec)
    model, named = build(spec)
    shapes = eager_shapes(model, named, spec["input"])
    assert {n: graph[n].output_shape for n in named} == shapes
    assert sum(node.params for node in graph.nodes) == sum(p.numel() for p in model.parameters())
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(spec["input"]))
    assert sum(node.macs for node in graph.nodes) == counter.get_total_flops() // 2


def check_field(graph: Graph, node: str, module: nn.Module, shape: list[int], exact: bool) -> None:
    """The field of ``node`` against gradients of ``module``, on every axis where some
    output's field lies inside the image (exact there when ``exact``)."""
    fields = propagate_fields(graph)
    field_of = fields.local[node]
    outputs = graph[node].output_shape[2:]
    position, interior = [], []
    for f, n_in, n_out in zip(field_of, shape[2:], outputs, strict=True):
        inside = [m for m in range(n_out) if integer_interval(f, m)[0] >= 0
                  and integer_interval(f, m)[1] < n_in]  # fmt: skip
        position.append(inside[0] if inside else n_out // 2)
        interior.append(bool(inside))
    assert any(interior), "pick an input large enough for one interior output"
    measured = gradient_extent(module, tuple(shape), tuple(position))
    for f, m, n, inside, (lo, hi) in zip(field_of, position, shape[2:], interior, measured,
                                         strict=True):  # fmt: skip
        want = integer_interval(f, m)
        assert max(want[0], 0) <= lo and hi <= min(want[1], n - 1)
        if exact and inside:
            assert (lo, hi) == want


def test_resnet_stem_field_matches_gradients() -> None:
    spec = SPECS["resnet_stem"]
    graph = load_spec(spec)
    model, _ = build(spec)
    head = head_node(graph)
    assert head.name == "layer2.0.relu_out"  # the input of the global pooling
    features = model[: [layer.get("name") for layer in spec["layers"]].index("avgpool")]
    check_field(graph, head.name, features, spec["input"], exact=True)


def test_fpn_field_bounds_gradients() -> None:
    spec = SPECS["fpn_small"]
    graph = load_spec(spec)
    model, _ = build(spec)
    check_field(graph, graph.output.name, model, spec["input"], exact=False)
    # nearest upsampling shifts the coarse level: the merges are misaligned
    assert set(propagate_fields(graph).misalignment) == {"p2", "p3"}


def test_deeplab_gate_is_global_and_the_local_field_is_the_convolutions() -> None:
    spec = {**SPECS["deeplab_encoder"], "input": [1, 3, 448, 48]}  # RF 399 needs room on H
    graph = load_spec(spec)
    assert all(f.is_global for f in propagate_fields(graph).fields[graph.output.name])
    # the local field ignores the gate: it is the field of the network without it
    gateless = {
        **spec,
        "layers": [layer for layer in spec["layers"] if layer.get("name") != "gate"],
    }
    model, _ = build(gateless)
    check_field(graph, graph.output.name, model, spec["input"], exact=True)


@pytest.mark.parametrize(
    ("padding", "convention", "expected", "size"),
    [
        ("same", "tf", (2, 3), 112),  # out 112, total (112−1)·2 + 7 − 224 = 5, odd at the end
        ("same", "onnx-lower", (3, 2), 112),
        ("valid", "torch", (0, 0), 109),  # floor((224 − 7)/2) + 1
        ([1, 4], "torch", (1, 4), 112),  # floor((224 + 5 − 7)/2) + 1 = 112
    ],
)
def test_padding_conventions(
    padding: object, convention: str, expected: tuple[int, int], size: int
) -> None:
    layer = {"type": "conv", "channels": 4, "kernel": 7, "stride": 2, "padding": padding,
             "convention": convention}  # fmt: skip
    node = load_spec({"input": [1, 3, 224, 224], "layers": [layer]}).output
    assert node.windows is not None
    assert node.windows[0].padding == expected and node.output_shape[2:] == (size, size)


def test_causal_padding_keeps_the_length() -> None:
    layer = {"type": "conv", "channels": 2, "kernel": 3, "dilation": 4, "padding": "causal"}
    node = load_spec({"input": [1, 2, 50], "layers": [layer]}).output
    assert node.windows is not None and node.windows[0].padding == (8, 0)  # 4·(3 − 1), all first
    assert node.output_shape == (1, 2, 50)


def test_files_lists_and_input_override(tmp_path: Path) -> None:
    layers = [{"type": "conv", "channels": 8, "kernel": 3, "stride": 2, "padding": 1}]
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(layers))
    graph = load_spec(path, input_shape=(1, 3, 64, 64))
    assert (graph.name, graph.output.output_shape) == ("tiny", (1, 8, 32, 32))
    yaml_path = tmp_path / "tiny.yaml"
    yaml_path.write_text(yaml.safe_dump({"name": "t", "input": [1, 3, 16, 16], "layers": layers}))
    assert load_spec(yaml_path).output.output_shape == (1, 8, 8, 8)


def conv(**fields: object) -> dict[str, object]:
    return {"type": "conv", "channels": 4, "kernel": 3, **fields}


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([{"type": "conv2d", "channels": 4, "kernel": 3}],
         "layers[0] (conv2d): unknown type 'conv2d'; did you mean 'conv'"),
        ([conv(strides=2)], "layers[0] (conv): unknown field 'strides'; did you mean 'stride'"),
        ([{"type": "max_pool", "kernel": 2, "channels": 4}],
         "layers[0] (max_pool): channels does not apply to max_pool; it takes kernel, stride"),
        ([{"type": "avg_pool", "kernel": 2, "dilation": 2}], "dilation does not apply to avg_pool"),
        ([{"type": "conv", "kernel": 3, "name": "c"}], "layers[0] (conv 'c'): conv needs channels"),
        ([conv(kernel="big")],
         "layers[0] (conv): kernel must be an int or a list with one int per spatial axis, "
         "got 'big'"),
        ([conv(kernel=[3, 3, 3])], "layers[0] (conv): kernel [3, 3, 3] needs one int per spatial"),
        ([conv(padding=[1, 2, 3])], "layers[0] (conv): padding [1, 2, 3]: use an int, [lo, hi]"),
        ([conv(), conv(kernel=9, name="big")],
         "layers[1] (conv 'big'): input 8 with kernel 9, dilation 1, padding (0, 0) gives output "
         "floor((8 + 0 + 0 - 9)/1) + 1 = 0"),
        ([conv(stride=2, padding="same")], "use convention='tf'"),
        ([conv(), {"type": "linear", "channels": 10}],
         "layers[1] (linear): linear needs a flat input (N, features), got (1, 4, 8, 8)"),
        ([{"name": "b", "merge": "concat", "branches": [[conv()], [conv(stride=2)]]}],
         "layers[0] (block 'b'): concat needs equal shapes apart from channels"),
        ([{"merge": "add", "branches": [[], [conv(channels=8, padding=1)]]}],
         "layers[0] (block): add needs shapes that match or broadcast, got (1, 3, 10, 10), "
         "(1, 8, 10, 10)"),
        ([{"branches": [[], [conv(), {"type": "conv", "channels": 4}]]}],
         "layers[0].branches[1][1] (conv): conv needs kernel"),
        ([{"branches": [[conv()]]}], "layers[0] (block): branches: List should have at least 2"),
        ([conv(name="c"), conv(name="c")], "layers[1] (conv 'c'): name 'c' is used twice"),
        ([{"type": "upsample"}], "upsample needs exactly one of scale and size"),
        ([{"type": "upsample", "scale": "half"}], "scale 'half' is not a number"),
        ([{"type": "pixel_shuffle", "factor": 2}], "needs channels divisible by 4, got 3"),
    ],
)  # fmt: skip
def test_bad_specs_name_the_layer_and_field(layers: list[dict[str, object]], message: str) -> None:
    with pytest.raises(StrideError) as error:
        load_spec({"input": [1, 3, 10, 10], "layers": layers})
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ("layers: [{type: conv", ".yaml", "not valid YAML"),
        ('{"layers": [}', ".json", "not valid JSON"),
        ("[{type: relu}]", ".yaml", "no input shape; add `input: [1, 3, 224, 224]`"),
        ("name: x\ninputs: [1, 3, 8, 8]\nlayers: [{type: relu}]", ".yml",
         "spec: unknown field 'inputs'; did you mean 'input'"),
        ("42", ".yaml", "a spec is a mapping with `layers`"),
    ],
)  # fmt: skip
def test_bad_files(tmp_path: Path, text: str, suffix: str, message: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    with pytest.raises(ModelError) as error:
        load_spec(path)
    assert message in str(error.value)
    with pytest.raises(ModelError, match="not found"):
        load_spec(tmp_path / "missing.yaml")
