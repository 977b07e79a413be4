"""Whole-trial checks: does a trial config make sense before any training?

`check_config` runs them all: the names (dataset and its options, model family, op,
metrics) against their registries, whether the dataset, the model and the metrics do the
config's task, and the geometry of the model it builds (`stridekit.analyze` and the
doctor: an output below one pixel, a feature map that collapses before the head).

The checks read every registry (`datasets`, `models`, `metrics`) and the analysis, so they
sit above all of those and above `stridekit.experiments.spec`, whose configs they check;
`stridekit.experiments.trial` runs them before it trains. The spec imports nothing of
this module, so reading a spec never imports torch.

>>> from stridekit.experiments.spec import TrialConfig
>>> check_config(TrialConfig(dataset="mnist5k", model={"op": "maxpool"}))
Traceback (most recent call last):
...
stridekit.errors.SweepSpecError: model.op: unknown downsampling op 'maxpool'; did you mean 'max_pool' or 'avg_pool'? (choose one of conv, max_pool, avg_pool, blur_pool, spd, diffstride)
>>> check_config(TrialConfig(dataset="mnist5k", model={"strides": [2, 2, 2, 2, 2]}))
Traceback (most recent call last):
...
stridekit.errors.SweepSpecError: model.strides: strides [2, 2, 2, 2, 2] at input 28x28: the feature map collapses to 1x1 at stages.4.0, before the head: later layers see no spatial structure (use a larger input, or remove a stride (or replace it with dilation))
>>> check_config(TrialConfig(dataset="mnist5k", model={"strides": [2, 2]}))["output_stride"]
[4, 4]
"""  # noqa: E501

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from stridekit.analysis import analyze
from stridekit.doctor import doctor
from stridekit.errors import StrideError, SweepSpecError
from stridekit.experiments.choices import unknown_name
from stridekit.experiments.data import DataInfo
from stridekit.experiments.datasets import dataset_info
from stridekit.experiments.metrics import METRICS
from stridekit.experiments.models import build_model, check_model_config
from stridekit.experiments.spec import SweepSpec, TrialConfig, install_trial_check
from stridekit.layer_record import jsonable

__all__ = ["check_config", "check_names", "input_shape", "inspect_model"]


def input_shape(config: TrialConfig, info: DataInfo) -> tuple[int, int, int, int]:
    """``(1, C, H, W)``: the dataset's channels at the config's input size (or its own)."""
    size = (config.input_size,) * 2 if config.input_size is not None else info.size
    return (1, info.channels, size[0], size[1])


def _model_info(config: TrialConfig, info: DataInfo) -> DataInfo:
    shape = input_shape(config, info)
    return DataInfo(info.task, info.channels, (shape[2], shape[3]), info.num_classes)


def check_names(config: TrialConfig) -> DataInfo:
    """The checks that need no model: dataset, family, op, task, metrics. Returns the
    data's description (at the config's input size)."""
    info = dataset_info(config.dataset)
    if info.task != config.task:
        raise SweepSpecError(
            f"task: {config.dataset.name} is a {info.task} dataset, the config says {config.task}",
            field="task",
        )
    check_model_config(config.model, config.task)
    augmentation = config.training.augmentation
    if config.task == "detection" and (augmentation.shift or augmentation.flip):
        raise SweepSpecError(
            "training.augmentation: shifts and flips would move the images but not their "
            "boxes; remove the augmentation for detection",
            field="training.augmentation",
        )
    for name in config.metrics.names or ():
        metric = METRICS.get(name)
        if metric is None:
            raise unknown_name("metrics.names", "metric", name, METRICS)
        if config.task not in metric.tasks:
            raise SweepSpecError(
                f"metrics.names: {name} is a {' or '.join(metric.tasks)} metric, not {config.task}",
                field="metrics.names",
            )
    return _model_info(config, info)


def inspect_model(model: nn.Module, config: TrialConfig, info: DataInfo) -> dict[str, Any]:
    """The model's analysis as JSON-ready data (a segmenter's ``output_stride`` is that of
    its coarsest feature map, the encoder's); a `SweepSpecError` on ``model.strides``
    when the geometry rejects the stride plan (an output below one pixel, or a feature map
    that the doctor finds collapsed before the head)."""
    shape = input_shape(config, info)
    where = f"strides {list(config.model.strides)} at input {shape[2]}x{shape[3]}"
    try:
        analysis = analyze(model, shape)
    except (StrideError, RuntimeError) as error:
        message = " ".join(str(error).split())
        raise SweepSpecError(f"model.strides: {where}: {message}", field="model.strides") from None
    report = doctor(analysis)
    collapsed = [f for f in report.findings if f.code == "collapse"]
    if collapsed:
        finding = collapsed[0]
        raise SweepSpecError(
            f"model.strides: {where}: {finding.message} ({finding.fix})", field="model.strides"
        )
    stride = analysis.output_stride
    if config.task == "segmentation":  # the encoder's: the coarsest map's, not the output's
        stride = max((r.jump for r in analysis.layers if r.jump), key=lambda j: j[0])
    return {
        "input_shape": list(shape),
        "params": analysis.total_params,
        "flops": analysis.total_flops,
        "macs": analysis.total_macs,
        "output_stride": jsonable(list(stride)),
        "receptive_field": jsonable(list(rf)) if (rf := analysis.receptive_field) else None,
        "local_receptive_field": jsonable(list(analysis.local_receptive_field)),
        "findings": sorted({f.code for f in report.findings}),
        "doctor": [
            {"code": f.code, "severity": f.severity.value, "node": f.node, "message": f.message}
            for f in report.findings
        ],
    }


def check_config(config: TrialConfig, spec: SweepSpec | None = None) -> dict[str, Any]:
    """Fail fast, before any training: unknown names (dataset, model family, op,
    metrics), a task the dataset or model does not do, and a stride plan the geometry
    rejects. Raises `SweepSpecError` naming the field (with a ``spec``, the line of the
    spec to blame: the factor in ``vary`` that set it, or the base field). Returns the
    analysis of the model it builds (on the CPU, from a private generator: the global one
    is left as it was)."""
    try:
        info = check_names(config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = build_model(config.model, info)
        return inspect_model(model, config, info)
    except SweepSpecError as error:
        if spec is None:
            raise
        raise spec.locate(error) from None


install_trial_check(check_config)  # what the deprecated TrialConfig.check() runs
