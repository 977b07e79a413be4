"""The torch frontend against independent oracles.

- receptive fields: gradients of a linearized copy (positive weights, identity activations,
  average instead of max pooling) on a zoo of branching models and torchvision's ResNet-18;
- published values: AlexNet 195 and VGG-16 212 (Araujo et al., Distill 2019);
- cost: `FlopCounterMode` for FLOPs, ``model.parameters()`` for parameters;
- shapes: forward hooks on an eager run of the same model;
- the user's model comes back untouched; data-dependent models need ``device="cpu"``.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torchvision
from torch import nn
from torch.nn.modules import module as torch_module
from torch.utils.flop_counter import FlopCounterMode

from stridekit.errors import ModelError
from stridekit.frontends.torch import trace_torch, unhandled_ops
from stridekit.graph import Graph, Node
from stridekit.passes import head_node, propagate_fields
from tests.frontends.zoo import EXACT, INPUTS, ZOO, DataDependent, linearized, measured_interval
from tests.frontends.zoo import weights_on_meta as meta_weights

warnings.filterwarnings("ignore", category=FutureWarning, module="torchvision")

ZOO_INPUT = (1, 3, 36, 44)


def positions(n: int) -> list[int]:
    return sorted({0, 1, n // 2, n - 2, n - 1} & set(range(n)))


def check_fields(graph: Graph, node: Node, x: torch.Tensor, out: torch.Tensor, exact: bool) -> int:
    """Compare predicted and gradient-measured intervals; return how many were inside.

    Output positions walk each axis at once (first, second, middle, ..., last); for each,
    the gradient of the position's channel sum gives the input pixels it depends on.
    """
    fields = propagate_fields(graph).fields[node.name]
    assert tuple(out.shape) == node.output_shape
    per_axis = [positions(n) for n in out.shape[2:]]
    inside_seen = 0
    first_inside: dict[int, tuple[int, int]] = {}
    for step in range(max(len(p) for p in per_axis)):
        index = tuple(p[min(step, len(p) - 1)] for p in per_axis)
        (grad,) = torch.autograd.grad(out[(0, slice(None), *index)].sum(), x, retain_graph=True)
        for axis, m in enumerate(index):
            field, n = fields[axis], x.shape[2 + axis]
            assert not field.is_global
            lo, hi = field.interval(m)
            predicted = (math.ceil(lo), math.floor(hi))
            measured = measured_interval(grad, axis)
            if predicted[0] >= 0 and predicted[1] <= n - 1:
                inside_seen += 1
                assert measured is not None, (node.name, axis, m)
                if exact:
                    assert measured == predicted, (node.name, axis, m, measured, predicted)
                    start = first_inside.setdefault(axis, (m, measured[0]))
                    if m != start[0]:  # the jump, measured between two inside outputs
                        assert (measured[0] - start[1]) / (m - start[0]) == field.jump
                else:
                    assert predicted[0] <= measured[0] <= measured[1] <= predicted[1]
            elif measured is not None:
                assert (
                    max(0, predicted[0]) <= measured[0] <= measured[1] <= min(n - 1, predicted[1])
                )
    return inside_seen


def positive_input(shape: tuple[int, ...]) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(shape, generator=generator, dtype=torch.float64) + 0.5
    return x.requires_grad_()


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_fields_match_gradients(name: str) -> None:
    model, shape = ZOO[name](), INPUTS.get(name, ZOO_INPUT)
    graph = trace_torch(model, shape)
    assert unhandled_ops(graph) == []
    x = positive_input(shape)
    out = linearized(model)(x)
    assert check_fields(graph, graph.output, x, out, exact=name in EXACT) > 0


@pytest.mark.parametrize(
    ("stage", "rf", "jump"), [("layer1", 43, 4), ("layer2", 99, 8), ("layer4", 435, 32)]
)
def test_resnet18_fields_match_gradients(stage: str, rf: int, jump: int) -> None:
    """ResNet-18 at 128×128: exact intervals inside the image for layer1 and layer2,
    containment for layer4 (its 435-pixel field is larger than the input)."""
    model = torchvision.models.resnet18()
    graph = trace_torch(model, (1, 3, 128, 128))
    node = [n for n in graph.nodes if n.module == stage or n.module.startswith(stage + ".")][-1]
    field = propagate_fields(graph).fields[node.name][0]
    assert (field.size, field.jump) == (rf, jump)
    captured: list[torch.Tensor] = []
    linear = linearized(model)
    handle = getattr(linear, stage).register_forward_hook(lambda m, i, o: captured.append(o))
    x = positive_input((1, 3, 128, 128))
    linear(x)
    handle.remove()
    inside = check_fields(graph, node, x, captured[0], exact=True)
    assert inside > 0 or stage == "layer4"


@pytest.mark.parametrize(
    ("model", "node", "rf"),
    [
        # Araujo et al. report AlexNet 195 and VGG-16 212 at effective stride 32: the output
        # of the last max-pool of `features` (pool5). The last conv layer itself (conv5,
        # conv5_3) has stride 16 and fields 163 and 196: 163 + (3−1)·16 = 195,
        # 196 + (2−1)·16 = 212. torchvision's AlexNet (64-192-384-256-256 channels, no LRN,
        # 11×11/4 with padding 2) has the same windows as the original up to padding,
        # so the sizes agree; only the effective padding differs.
        ("alexnet", "features.12", 195),
        ("alexnet", "features.10", 163),
        ("vgg16", "features.30", 212),
        ("vgg16", "features.28", 196),
    ],
)
def test_published_receptive_fields(model: str, node: str, rf: int) -> None:
    with meta_weights():
        net = torchvision.models.get_model(model)
    graph = trace_torch(net, (1, 3, 224, 224))
    field = propagate_fields(graph).fields[node][0]
    assert field.size == rf
    assert field.jump == (32 if rf in (195, 212) else 16)
    assert head_node(graph).name == "avgpool"  # 7×7 → 7×7 (6×6 → 6×6): the field of pool5


REPRESENTATIVE = {
    "alexnet", "convnext_tiny", "densenet121", "efficientnet_b0", "googlenet", "inception_v3",
    "maxvit_t", "mnasnet0_5", "mobilenet_v3_small", "regnet_x_400mf", "regnet_y_400mf",
    "resnet50", "resnext50_32x4d", "shufflenet_v2_x0_5", "squeezenet1_1", "swin_t",
    "swin_v2_t", "vgg11_bn", "vit_b_32",
}  # fmt: skip
CLASSIFIERS = [
    pytest.param(name, marks=() if name in REPRESENTATIVE else pytest.mark.slow)
    for name in torchvision.models.list_models(module=torchvision.models)
]
SEGMENTATION = torchvision.models.list_models(module=torchvision.models.segmentation)


def build(name: str) -> nn.Module:
    options: dict[str, object] = {}
    if name in ("googlenet", "inception_v3"):
        options = {"aux_logits": False, "init_weights": False}  # eval mode runs no aux head
    if name in SEGMENTATION:
        options = {"weights_backbone": None}
    with meta_weights():
        return torchvision.models.get_model(name, **options)


def eager_shapes(model: nn.Module, x: torch.Tensor) -> tuple[dict[str, list[tuple]], object]:
    """Output shapes of every module call of a plain eager run, by module path."""
    shapes: dict[str, list[tuple]] = {}
    names = {module: path for path, module in model.named_modules()}

    def hook(module: nn.Module, args: object, output: object) -> None:
        if isinstance(output, torch.Tensor):
            shapes.setdefault(names[module], []).append(tuple(output.shape))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            out = model.eval()(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes, out


def check_against_eager(model: nn.Module, shape: tuple[int, ...]) -> Graph:
    graph = trace_torch(model, shape)
    x = torch.empty(shape, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(x)
    assert sum(n.flops for n in graph.nodes) == counter.get_total_flops()
    assert sum(n.macs for n in graph.nodes) == counter.get_total_flops() // 2
    assert sum(n.params for n in graph.nodes) == sum(p.numel() for p in model.parameters())
    shapes, out = eager_shapes(model, x)
    final = out["out"] if isinstance(out, dict) else out
    assert isinstance(final, torch.Tensor) and graph.output.output_shape == tuple(final.shape)
    compared = 0
    for node in graph.nodes[1:]:
        if "/" in node.name or not node.module:
            continue  # a functional op, or one of several ops in a module
        path, _, call = node.name.partition(":")
        assert node.module == path
        if shapes.get(path) and len(shapes[path]) > int(call or 0):
            assert node.output_shape == shapes[path][int(call or 0)], node.name
            compared += 1
    assert compared > 0
    for node in graph.nodes[1:]:
        assert node.activation_bytes == math.prod(node.output_shape) * 4
    return graph


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_torchvision_classifiers(name: str) -> None:
    size = 299 if name == "inception_v3" else 224
    graph = check_against_eager(build(name), (1, 3, size, size))
    assert graph.output.output_shape == (1, 1000)


@pytest.mark.parametrize("name", SEGMENTATION)
def test_torchvision_segmentation(name: str) -> None:
    graph = check_against_eager(build(name), (1, 3, 96, 96))
    assert graph.output.op == "upsample" and graph.output.output_shape == (1, 21, 96, 96)
    result = propagate_fields(graph)
    assert result.unmergeable == {}
    if "deeplab" in name:  # dilated backbone: output stride 8 (ResNet) or 16 (MobileNet)
        head = head_node(graph)
        assert result.local[head.name][0].jump == (16 if "mobilenet" in name else 8)


def test_timm_tf_same_padding() -> None:
    timm = pytest.importorskip("timm")
    with meta_weights():
        model = timm.create_model("tf_efficientnet_b0", pretrained=False)
    graph = check_against_eager(model, (1, 3, 225, 225))
    pad, conv = graph["conv_stem/pad"], graph["conv_stem/conv"]
    # SAME on 225 with k=3, s=2: out 113, total (113−1)·2 + 3 − 225 = 2 → (1, 1)
    assert [a.start for a in pad.axes or ()] == [-1, -1]
    assert conv.windows is not None and conv.windows[0].describe() == "k=3 s=2 p=(0,0)"
    assert unhandled_ops(graph) == []


def test_names_follow_modules() -> None:
    graph = trace_torch(torchvision.models.resnet18(), (1, 3, 64, 64))
    names = [node.name for node in graph.nodes]
    assert names[:6] == ["input", "conv1", "bn1", "relu", "maxpool", "layer1.0.conv1"]
    assert "layer1.0.relu:1" in names and "layer1.0/add" in names
    assert graph["layer1.0/add"].inputs == ("layer1.0.bn2", "maxpool")
    assert graph["layer2.0/add"].inputs == ("layer2.0.bn2", "layer2.0.downsample.1")
    assert graph["fc"].op == "linear" and graph["fc"].params == 512 * 1000 + 1000
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_model_is_restored(device: str) -> None:
    model = torchvision.models.resnet18()
    model.train()
    model.layer1.eval()  # a mixed state must survive too
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    global_hooks = (
        len(torch_module._global_forward_hooks),
        len(torch_module._global_forward_pre_hooks),
    )
    trace_torch(model, (1, 3, 64, 64), device=device)
    assert [m.training for m in model.modules()] == modes
    after = model.state_dict()
    assert all(after[k].device == v.device and torch.equal(after[k], v) for k, v in before.items())
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
    assert global_hooks == (
        len(torch_module._global_forward_hooks),
        len(torch_module._global_forward_pre_hooks),
    )


def test_cpu_and_meta_give_the_same_graph() -> None:
    model = ZOO["branches"]()
    meta, cpu = (trace_torch(model, ZOO_INPUT, device=d) for d in ("meta", "cpu"))
    assert [
        (n.name, n.op, n.inputs, n.output_shape, n.axes, n.flops, n.params) for n in meta.nodes
    ] == [(n.name, n.op, n.inputs, n.output_shape, n.axes, n.flops, n.params) for n in cpu.nodes]


@pytest.mark.parametrize("how", ["if", "item", "nonzero"])
def test_data_dependent_models_need_real_tensors(how: str) -> None:
    model = DataDependent(how).train()
    with pytest.raises(ModelError, match=r"device='cpu'.*--device cpu"):
        trace_torch(model, (1, 3, 16, 16))
    assert model.training and not torch_module._global_forward_pre_hooks
    graph = trace_torch(model, (1, 3, 16, 16), device="cpu")
    assert graph["conv"].op == "conv" and graph["conv"].output_shape == (1, 4, 16, 16)


@pytest.mark.parametrize("shape", [(3,), (1, 3, 0, 8), (1, 3, 8.0, 8)])
def test_bad_input_shape(shape: tuple) -> None:
    with pytest.raises(ModelError, match="input_shape"):
        trace_torch(nn.Conv2d(3, 4, 3), shape)


def test_shape_errors_are_not_blamed_on_meta() -> None:
    with pytest.raises(ModelError, match=r"failed in the top-level forward: RuntimeError") as info:
        trace_torch(nn.Conv2d(3, 4, 3), (1, 5, 8, 8))
    assert "device='cpu'" not in str(info.value)


def test_double_precision_and_in_place_views() -> None:
    class InPlace(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            y[:, :2].relu_()  # writes into a view: y now comes from the relu
            return y.mean((2, 3))

    graph = trace_torch(InPlace(), (2, 3, 8, 8), dtype=torch.float64)
    assert [n.op for n in graph.nodes] == [
        "input",
        "conv",
        "elementwise",
        "elementwise",
        "global_pool",
    ]
    assert graph.output.inputs == ("relu",) and graph["conv"].activation_bytes == 2 * 4 * 64 * 8


@pytest.mark.parametrize(
    ("name", "head_global", "local_rf", "jump"),
    [
        ("convnext_tiny", False, 1688, 32),  # its Linear layers act on NHWC pixels: 1×1 convs
        ("efficientnet_b0", True, 851, 32),  # squeeze-and-excitation gates are global
        ("vit_b_32", True, None, None),  # attention over patch tokens
        ("swin_t", True, 32, 32),  # shifted windows: global, the patch embedding is local
    ],
)
def test_global_and_local_fields(
    name: str, head_global: bool, local_rf: int | None, jump: int | None
) -> None:
    graph = trace_torch(build(name), (1, 3, 224, 224))
    result, head = propagate_fields(graph), head_node(graph)
    assert result.fields[head.name][0].is_global == head_global
    local = result.local[head.name][0]
    if local_rf is None:
        assert local.is_global
    else:
        assert (local.is_global, local.size, local.jump) == (False, local_rf, jump)


@pytest.mark.parametrize(
    ("name", "output_stride"),
    [
        ("volo_d1_224", 16),  # outlook attention: unfold, attention, fold (stride 2 each)
        ("tnt_s_patch16_224", 16),  # pixel tokens inside patches: F.unfold
        ("halonet26t", 32),  # halo attention: Tensor.unfold over blocks
    ],
)
def test_unfold_and_fold_models(name: str, output_stride: int) -> None:
    """im2col, col2im and Tensor.unfold have rules: nothing unhandled, and a fold undoes
    its unfold's stride even after attention mixed the windows (VOLO reported 256)."""
    import stridekit

    analysis = stridekit.analyze(f"timm:{name}")
    assert analysis.unhandled == []
    assert analysis.output_stride == (output_stride, output_stride)
