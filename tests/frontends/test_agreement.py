"""The torch and ONNX frontends agree on the torchvision zoo: one lowering, one answer.

Each model is exported to ONNX (legacy exporter, BatchNorm not folded) and analysed
through both frontends; they must give the same output stride, receptive field (with
and without global gates), head size, output shape, MACs and parameters, the same
windows (the multiset of window ops: convolutions, pools, space-to-depth..., by the
pixels each output reads), the same
kinds of ops while the field is still local, and no op without a rule.

What is compared as a set rather than counted: ops that frameworks split or fuse
differently without changing the geometry (``x[..., ::2, ::2]`` is one ONNX Slice and two
aten slices; nested ``torch.cat`` calls are one ONNX Concat; ``torch.roll`` is Slice +
Concat in ONNX).
"""

from __future__ import annotations

import os
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import onnx
import pytest
import torch
import torchvision

from stridekit.frontends.onnx import load_onnx
from stridekit.frontends.torch import trace_torch
from stridekit.geometry import Field, Resample, Window
from stridekit.graph import Graph
from stridekit.passes import head_node, propagate_fields
from tests.frontends.oracles import export_onnx

# name → input size (small where the model allows: the export dominates the time)
ZOO = {
    "resnet18": 64,
    "resnext50_32x4d": 64,
    "mobilenet_v2": 64,
    "mobilenet_v3_small": 64,
    "efficientnet_b0": 64,
    "squeezenet1_1": 64,
    "shufflenet_v2_x0_5": 64,
    "mnasnet0_5": 64,
    "regnet_y_400mf": 64,
    "googlenet": 64,
    "densenet121": 64,
    "convnext_tiny": 64,
    "inception_v3": 107,
    "alexnet": 224,
    "vit_b_16": 224,
    "swin_t": 224,
    "maxvit_t": 224,
    "lraspp_mobilenet_v3_large": 64,
    "deeplabv3_mobilenet_v3_large": 64,
}
if os.environ.get("STRIDEKIT_FULL_ZOO"):  # every classifier and segmenter torchvision has
    ZOO = {
        name: 299 if name == "inception_v3" else 224
        for module in (torchvision.models, torchvision.models.segmentation)
        for name in torchvision.models.list_models(module=module)
    }
SLOW = {
    "resnext50_32x4d",
    "densenet121",
    "inception_v3",
    "alexnet",
    "vit_b_16",
    "swin_t",
    "maxvit_t",
}


def _model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    segmentation = name.startswith(("lraspp", "deeplab", "fcn"))
    options = {"weights_backbone": None, "aux_loss": False} if segmentation else {}
    model = torchvision.models.get_model(name, weights=None, **options).eval()
    with torch.no_grad():  # no two parameters equal (exporters share equal initializers)
        for parameter in model.parameters():
            parameter.uniform_(0.5, 1.5)
    return model


WINDOW_KINDS = {"conv", "conv_transpose", "max_pool", "avg_pool", "lp_pool", "pixel_unshuffle"}


def _reads(axis_map: Window | Resample) -> tuple[Fraction, Fraction, Fraction]:
    """What output ``i`` reads, ``[i·jump + lo, i·jump + hi]``: a torch adaptive pool and
    the fixed AveragePool an exporter writes for it read the same pixels."""
    field = (
        Field().through(axis_map)
        if isinstance(axis_map, Window)
        else Field().map(axis_map.scale, axis_map.start, axis_map.stop)
    )
    return field.jump, field.lo, field.hi


def facts(graph: Graph) -> dict[str, Any]:
    head = head_node(graph)
    fields = propagate_fields(graph)
    local = {
        node.name
        for node in graph.nodes
        if node.inputs and not any(f.is_global for f in fields.fields[node.inputs[0]])
    }
    return {
        "output_stride": [f.jump for f in fields.fields[head.name]],
        "rf": [None if f.is_global else f.size for f in fields.fields[head.name]],
        "local_rf": [f.size for f in fields.local[head.name]],
        "head_size": head.spatial_shape,
        "output": graph.output.output_shape,
        "macs": sum(node.macs for node in graph.nodes),
        "params": sum(node.params for node in graph.nodes),
        "windows": Counter(
            (node.op, tuple(_reads(a) for a in node.axes or ()))
            for node in graph.nodes
            if node.name in local and node.op in WINDOW_KINDS
        ),
        "kinds": {graph[name].op for name in local} - {"elementwise"},
        "unhandled": sorted(n.target for n in graph.nodes if n.attributes.get("unhandled")),
    }


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in ZOO]
)
def test_torch_and_onnx_frontends_agree(name: str, tmp_path: Path) -> None:
    model, size = _model(name), ZOO[name]
    shape = (1, 3, size, size)
    path = export_onnx(model, shape, tmp_path / f"{name}.onnx")
    from_onnx, from_torch = facts(load_onnx(path)), facts(trace_torch(model, shape))
    if _exporter_folded_batch_norms(model, path):
        # past 2 GB the legacy exporter cannot write the file and the dynamo exporter's
        # optimizer folds BatchNorm into the convs and drops all-zero biases (this model's
        # initial values): the file holds fewer parameters than the model, by design
        del from_onnx["params"], from_torch["params"]
    disagreements = {
        k: (from_onnx[k], from_torch[k]) for k in from_onnx if from_onnx[k] != from_torch[k]
    }
    assert disagreements == {}
    assert from_torch["unhandled"] == []


def _exporter_folded_batch_norms(model: torch.nn.Module, path: Path) -> bool:
    has_batch_norm = any(
        isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()
    )
    graph = onnx.load(str(path), load_external_data=False).graph
    return has_batch_norm and not any(n.op_type == "BatchNormalization" for n in graph.node)


SPECS = sorted((Path(__file__).parents[2] / "stridekit" / "examples" / "specs").glob("*.yaml"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_frontend_agrees_on_the_example_specs(spec: Path, tmp_path: Path) -> None:
    """A layer spec read directly, the module `from_spec` builds from it traced by the
    torch frontend, and that module exported to ONNX: three frontends, one answer."""
    from stridekit.frontends.spec import load_spec
    from stridekit.nn.from_spec import from_spec

    torch.manual_seed(0)
    graph = load_spec(spec)
    module = from_spec(spec).eval()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.uniform_(0.5, 1.5)
    shape = graph.input_shape
    path = export_onnx(module, shape, tmp_path / f"{spec.stem}.onnx")
    answers = {
        "spec": facts(graph),
        "torch": facts(trace_torch(module, shape)),
        "onnx": facts(load_onnx(path)),
    }
    for frontend in ("torch", "onnx"):
        keys = set(answers["spec"]) - {"kinds", "params"}  # a spec's norms are elementwise
        disagreements = {
            k: (answers["spec"][k], answers[frontend][k])
            for k in keys
            if answers["spec"][k] != answers[frontend][k]
        }
        assert disagreements == {}, frontend


def _outputs(graph: Graph) -> list[dict[str, Any]]:
    """Every output with its levels, as `Analysis.outputs` gives them, less the names
    (an exporter names tensors its own way)."""
    from stridekit.analysis import analyze_graph

    unnamed = {"name": "", "node": ""}
    return [
        record.to_dict()
        | unnamed
        | {"levels": [lv.to_dict() | {"source": ""} for lv in record.levels]}
        for record in analyze_graph(graph).outputs
    ]


def _multi_output_model(name: str) -> tuple[torch.nn.Module, tuple[int, ...]]:
    if name == "yolov8n":
        from stridekit.frontends.packages import _settings_kept

        with _settings_kept():  # ultralytics' print options stay out of the other tests
            ultralytics = pytest.importorskip("ultralytics")
            model = ultralytics.YOLO("yolov8n.yaml", verbose=False).model
        shape = (1, 3, 128, 128)
    else:  # a segmentation model with its aux head: two outputs
        options = {"weights_backbone": None, "aux_loss": True}
        model = torchvision.models.get_model(name, weights=None, **options)
        shape = (1, 3, 64, 64)
    torch.manual_seed(0)
    with torch.no_grad():  # no two parameters equal (exporters share equal initializers)
        for parameter in model.parameters():
            parameter.uniform_(0.5, 1.5)
    return model.eval(), shape


@pytest.mark.parametrize(
    "name",
    [
        "yolov8n",
        "deeplabv3_mobilenet_v3_large",
        pytest.param("fcn_resnet50", marks=pytest.mark.soak),  # ~20 s: a ResNet-50 export
    ],
)
def test_torch_and_onnx_agree_on_outputs_and_levels(name: str, tmp_path: Path) -> None:
    """YOLOv8n's three outputs of rows (three levels each) and three feature maps; a
    segmentation model's ``out`` and ``aux``: the same records through both frontends."""
    model, shape = _multi_output_model(name)
    from_torch = _outputs(trace_torch(model, shape))  # before the export runs it on CPU
    from_onnx = _outputs(load_onnx(export_onnx(model, shape, tmp_path / f"{name}.onnx")))
    assert from_onnx == from_torch
    levels = [len(output["levels"]) for output in from_torch]
    assert levels == ([3, 3, 3, 0, 0, 0] if name == "yolov8n" else [0, 0])
