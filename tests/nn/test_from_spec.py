"""`from_spec`: the trained module is the analysed spec (shapes, params, FLOPs, fields).

The oracle is the spec frontend's own analysis of the spec (no torch involved); the
module is analysed through the torch frontend (a trace of the real module) and run on
real tensors.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import stridekit
from stridekit.errors import ModelError
from stridekit.frontends.spec import load_spec
from stridekit.nn.from_spec import from_spec

CONV = {"type": "conv", "channels": 6, "kernel": 3}
HEAD = [{"type": "global_pool"}, {"type": "flatten"}, {"type": "linear", "channels": 5}]

CASES: dict[str, dict[str, Any]] = {
    "torch padding, pools, head": {
        "input": [1, 3, 33, 33],
        "layers": [
            {**CONV, "stride": 2, "padding": 1, "name": "stem"},
            {"type": "batch_norm"},
            {"type": "relu"},
            {"type": "max_pool", "kernel": 3, "stride": 2, "padding": 1},
            {"type": "avg_pool", "kernel": 2},
            *HEAD,
        ],
    },
    "tf same (asymmetric) and valid": {
        "input": [1, 3, 32, 30],
        "layers": [
            {**CONV, "stride": 2, "padding": "same", "convention": "tf"},
            {**CONV, "kernel": [3, 5], "stride": [1, 2], "padding": "valid"},
            {"type": "max_pool", "kernel": 2, "padding": "same", "convention": "tf"},
            {"type": "gelu"},
        ],
    },
    "explicit per-axis padding, dilation, groups, no bias": {
        "input": [1, 4, 20, 20],
        "layers": [
            {**CONV, "padding": [[2, 1], [0, 3]], "dilation": 2, "groups": 2, "bias": False},
            {"type": "pad", "padding": [1, 2]},
            {"type": "silu"},
        ],
    },
    "residual and concat blocks": {
        "input": [1, 6, 16, 16],
        "layers": [
            {"merge": "add", "branches": [[{**CONV, "padding": 1}, {"type": "relu"}], []]},
            {
                "merge": "concat",
                "branches": [
                    [{**CONV, "stride": 2, "padding": 1}],
                    [{"type": "avg_pool", "kernel": 2}],
                ],
            },
            {"merge": "mul", "branches": [[{"type": "sigmoid"}], [{"type": "identity"}]]},
            *HEAD,
        ],
    },
    "decoder: transposed conv, upsample, pixel shuffle": {
        "input": [1, 8, 9, 9],
        "layers": [
            {"type": "conv_transpose", "channels": 8, "kernel": 3, "stride": 2, "padding": 1},
            {"type": "conv_transpose", "channels": 4, "kernel": 4, "stride": 2, "padding": 1},
            {"type": "upsample", "scale": "3/2", "mode": "linear"},
            {"type": "upsample", "size": [20, 24]},
            {"type": "pixel_unshuffle", "factor": 2},
            {"type": "pixel_shuffle", "factor": 2},
            {"type": "norm"},
            {"type": "dropout"},
        ],
    },
    "asymmetric transposed padding": {
        "input": [1, 4, 9, 9],
        "layers": [
            {"type": "conv_transpose", "channels": 4, "kernel": 4, "stride": 2, "padding": [1, 2]}
        ],
    },
    "one spatial axis": {
        "input": [1, 2, 40],
        "layers": [
            {**CONV, "stride": 2, "padding": "same", "convention": "onnx-lower"},
            {"type": "max_pool", "kernel": 2},
            {"type": "batch_norm"},
            *HEAD,
        ],
    },
}


# torch has no asymmetric padding for transposed convs: the module pads the smaller side
# and crops the rest, so its conv_transpose alone is larger than the spec's
CROPPED = {"asymmetric transposed padding"}


def _windowed(analysis: stridekit.Analysis) -> list[tuple[str, int]]:
    """(op, output size) of every op with windows: what sets shapes, fields and costs.
    Sizes as element counts: torch runs a 1-d pool as a 2-d one on a (N, C, 1, L) view."""
    kinds = {"conv", "conv_transpose", "max_pool", "avg_pool"}
    return [(r.op, math.prod(r.output_shape)) for r in analysis.layers if r.op in kinds]


@pytest.mark.parametrize("name", CASES)
def test_module_matches_the_analysis_of_its_spec(name: str) -> None:
    spec = CASES[name]
    shape = tuple(spec["input"])
    expected = stridekit.analyze(load_spec(spec))
    model = from_spec(spec)
    measured = stridekit.analyze(model, shape)
    assert model(torch.randn(shape)).shape == expected.graph.output.output_shape
    assert (
        measured.total_params == expected.total_params == sum(p.numel() for p in model.parameters())
    )
    assert measured.total_flops == expected.total_flops
    assert measured.output_stride == expected.output_stride
    assert measured.receptive_field == expected.receptive_field
    if name not in CROPPED:
        assert _windowed(measured) == _windowed(expected)


@pytest.mark.parametrize("name", CASES)
def test_module_trains(name: str) -> None:
    spec = CASES[name]
    model = from_spec(spec)
    if not any(p.requires_grad for p in model.parameters()):
        pytest.skip("no parameters")
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.randn(2, *spec["input"][1:])).square().mean().backward()
    optimizer.step()
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))


def test_input_shape_overrides_the_specs(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(CASES["tf same (asymmetric) and valid"]))
    model = from_spec(path, (2, 3, 64, 48))
    expected = load_spec(path, (2, 3, 64, 48)).output.output_shape
    assert model(torch.zeros(2, 3, 64, 48)).shape == expected


def test_a_planners_spec_trains_as_analysed(tmp_path: Path) -> None:
    from stridekit.design.plan import Constraints
    from stridekit.design.plan_report import plan_report
    from stridekit.design.presets import family

    report = plan_report("plain6", family("plain6"), 32, Constraints(output_stride=8), top=1)
    spec = report.spec()
    model = from_spec(spec)
    assert stridekit.analyze(model, tuple(spec["input"])).output_stride == (8, 8)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"input": [1, 3, 8, 8], "layers": [{"type": "conv", "kernel": 3}]}, "needs channels"),
        ({"input": [1, 3, 2, 2], "layers": [{**CONV, "kernel": 5}]}, "conv"),
        ({"layers": [CONV]}, "no input shape"),
    ],
)
def test_bad_specs_raise_the_analysis_errors(spec: dict[str, Any], error: str) -> None:
    with pytest.raises(stridekit.StrideError, match=error):
        from_spec(spec)


def test_a_missing_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        from_spec(tmp_path / "nope.yaml")
