"""The heavy work of the explorer, run in worker processes (`stridekit.web.worker`):
analyses of registry models, specs and uploaded ONNX, Keras and TFLite files, their
doctor reports and valid sizes, stride plans, and sweep stores. Each job takes plain,
already validated parameters and returns the result's JSON text: exactly
``result.to_json(indent=None)``, the data the CLI prints with ``--format json``.

A worker keeps its recent analyses (`ANALYSES`), so the doctor, the sizes and the table
of one model at one input share a single trace.

>>> spec = {"kind": "spec", "data": {"input": [1, 1, 8, 8],
...         "layers": [{"type": "conv", "channels": 1, "kernel": 3, "stride": 2}]}}
>>> import json
>>> json.loads(run_job("analyze", {"source": spec}, b""))["layers"][-1]["output_shape"]
[1, 1, 3, 3]
"""

from __future__ import annotations

import contextlib
import json
from collections import OrderedDict
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from stridekit.analysis import Analysis, analyze, analyze_graph
from stridekit.errors import ChoiceError, ModelError, UsageError
from stridekit.objects import parse_objects

Params = dict[str, Any]
Job = Callable[[Params, bytes], str]
JOBS: dict[str, Job] = {}
ANALYSES: OrderedDict[str, Analysis] = OrderedDict()
KEEP_ANALYSES = 16


def job(name: str) -> Callable[[Job], Job]:
    """Register a job under ``name`` (duplicates refused)."""

    def register(function: Job) -> Job:
        if name in JOBS:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = function
        return function

    return register


def run_job(name: str, params: Params, blob: bytes) -> str:
    """Run the job ``name``; `StrideError`s propagate to the caller."""
    if name not in JOBS:
        raise ChoiceError(f"unknown job {name!r}; jobs: {', '.join(JOBS)}")
    return JOBS[name](params, blob)


def _shape(params: Params) -> tuple[int, ...] | None:
    shape = params.get("input_shape")
    return tuple(shape) if shape is not None else None


def model_analysis(params: Params, blob: bytes) -> Analysis:
    """The analysis of ``params["source"]`` at ``params["input_shape"]``, from the cache
    when this worker made it recently."""
    source, shape = params["source"], _shape(params)
    key = json.dumps([source, shape], sort_keys=True)
    if key in ANALYSES:
        ANALYSES.move_to_end(key)
        return ANALYSES[key]
    kind = source["kind"]
    if kind == "name":  # a registry name, checked by `sources.registry_name`
        analysis = analyze(source["name"], shape)
    elif kind == "spec":
        from stridekit.frontends.spec import load_spec

        graph = load_spec(source["data"], shape)
        analysis = analyze_graph(graph, graph.name)
    elif kind == "onnx":
        from stridekit.frontends.onnx import load_onnx
        from stridekit.web.uploads import check_onnx

        analysis = analyze_graph(load_onnx(check_onnx(source["name"], blob), shape))
        analysis.model = source["name"]
    elif kind == "keras":
        from stridekit.frontends.keras import load_keras
        from stridekit.web.uploads import check_keras

        config = check_keras(source["name"], blob)
        analysis = analyze_graph(load_keras(config, shape, label=source["name"]))
        analysis.model = source["name"]
    elif kind == "tflite":
        from stridekit.frontends.tflite import load_tflite

        try:
            analysis = analyze_graph(load_tflite(blob, shape))
        except ModelError as error:
            raise ModelError(f"{source['name']}: {error}") from None
        analysis.model = source["name"]
    else:
        raise ChoiceError(f"unknown model source {kind!r}; use name, spec, onnx, keras or tflite")
    ANALYSES[key] = analysis
    while len(ANALYSES) > KEEP_ANALYSES:
        ANALYSES.popitem(last=False)
    return analysis


@job("analyze")
def analyze_job(params: Params, blob: bytes) -> str:
    """``stridekit analyze MODEL --input ... --depth ... --ops ...``."""
    view = model_analysis(params, blob).view(params.get("depth"), params.get("ops", "main"))
    return view.to_json(indent=None)


@job("doctor")
def doctor_job(params: Params, blob: bytes) -> str:
    """``stridekit doctor MODEL --select ... --ignore ...``."""
    from stridekit.doctor import doctor

    report = doctor(
        model_analysis(params, blob),
        params.get("select") or None,
        params.get("ignore") or None,
        objects=None if params.get("objects") is None else parse_objects(params["objects"]),
    )
    return report.to_json(indent=None)


@job("sizes")
def sizes_job(params: Params, blob: bytes) -> str:
    """``stridekit sizes MODEL --range START:STOP``."""
    from stridekit.design.sizes import model_sizes

    span = tuple(params.get("range", (1, 1024)))
    return model_sizes(model_analysis(params, blob), (span[0], span[1])).to_json(indent=None)


@job("network")
def network_job(params: Params, blob: bytes) -> str:
    """``stridekit viz network MODEL``: the network diagram's data, its one-line summary
    and its SVG."""
    from stridekit.viz import network_story

    story = network_story(model_analysis(params, blob))
    return json.dumps(story.to_dict() | {"summary": story.summary(), "svg": story.inline_svg()})


@job("compare")
def compare_job(params: Params, blob: bytes) -> str:
    """``stridekit compare A B --input ...``: ``blob`` holds A's upload then B's (A's
    is ``params["split"]`` bytes)."""
    from stridekit.compare import compare_analyses, input_error
    from stridekit.errors import StrideError

    split, shape = params.get("split", 0), _shape(params)
    first = model_analysis({"source": params["a"], "input_shape": shape}, blob[:split])
    second_shape = shape or first.input_shape
    try:
        second = model_analysis(
            {"source": params["b"], "input_shape": list(second_shape)}, blob[split:]
        )
    except StrideError as error:
        raise input_error("B", tuple(second_shape), shape is not None, error) from None
    return compare_analyses(first, second).to_json(indent=None)


@job("plan")
def plan_job(params: Params, blob: bytes) -> str:
    """``stridekit plan --template FAMILY ...`` (families only: no template file)."""
    from stridekit.design.plan import Constraints
    from stridekit.design.plan_report import plan_report
    from stridekit.design.presets import (
        family,
        task_constraints,
        with_overrides,
        with_volume_drop,
    )

    size, task = params["input_size"], params.get("task")
    objects = None if params.get("objects") is None else parse_objects(params["objects"])
    if objects is not None and task is None:
        task = "detection"  # object sizes say what the plan is for, as on the CLI
    if task is None and params.get("output_stride") is None and params.get("output_size") is None:
        raise UsageError("give a task, or an output stride or output size to plan for")
    base = task_constraints(task, size, objects) if task else Constraints()
    dilations = params.get("dilations")
    constraints = with_overrides(
        base,
        output_stride=params.get("output_stride"),
        output_size=params.get("output_size"),
        min_rf=params.get("min_rf"),
        max_macs=params.get("max_macs"),
        paddings=tuple(params.get("paddings", ("same",))),
        dilations=tuple(dilations) if dilations else None,
    )
    if "max_volume_drop" in params:
        drop = params["max_volume_drop"]
        constraints = with_volume_drop(constraints, None if drop is None else Fraction(drop))
    template = params["template"]
    report = plan_report(
        template,
        family(template),
        size,
        constraints,
        top=params.get("top", 5),
        task=task,
        objects=objects,
    )
    return report.to_json(indent=None)


@job("models")
def models_job(params: Params, blob: bytes) -> str:
    """The names the registries know: ``torchvision:NAME`` and ``timm:NAME``."""
    names: list[str] = []
    try:
        import torchvision

        names += [f"torchvision:{n}" for n in torchvision.models.list_models()]
    except ImportError:
        pass
    try:
        import timm

        names += [f"timm:{n}" for n in timm.list_models()]
    except ImportError:
        pass
    return json.dumps({"models": names})


@job("warm")
def warm_job(params: Params, blob: bytes) -> str:
    """Import the torch frontend and the model zoos, so the first analysis is quick."""
    import stridekit.frontends.torch  # noqa: F401

    for zoo in ("torchvision", "timm", "onnx"):
        with contextlib.suppress(ImportError):
            __import__(zoo)
    return "{}"


@job("results")
def results_job(params: Params, blob: bytes) -> str:
    """``stridekit results STORE --format json``."""
    from stridekit.experiments.results import Results

    return Results.load(params["path"], include_orphaned=params.get("all", False)).to_json(
        indent=None
    )


@job("plots")
def plots_job(params: Params, blob: bytes) -> str:
    """The plots of ``stridekit report STORE``: name, title and SVG of each."""
    from stridekit.experiments.report import build_report

    report = build_report(params["path"], include_orphaned=params.get("all", False))
    plots = [{"name": p.name, "title": p.title, "svg": p.svg} for p in report.plots]
    return json.dumps({"store": report.results.source, "plots": plots})
