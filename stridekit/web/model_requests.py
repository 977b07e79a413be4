"""The model tab's requests: a model (a registry name, a pasted spec, or an uploaded ONNX,
Keras or TFLite file) at an input shape, and what to compute on it (``/api/analyze``, ``/api/doctor``,
``/api/sizes``), and the planner's options (``/api/plan``).

Each request checks its fields against the `Limits` and turns into the parameters of a
worker job (`stridekit.web.jobs`): plain data, nothing from the request executed.

>>> request = AnalyzeRequest(model=ModelSource(name="torchvision:resnet18"), input="1x3x64x64")
>>> request.job_params(Limits(), None)[0]
{'source': {'kind': 'name', 'name': 'torchvision:resnet18'}, 'input_shape': [1, 3, 64, 64], 'depth': None, 'ops': 'main'}
"""  # noqa: E501

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stridekit.errors import SizeError, UsageError
from stridekit.geometry.limits import MAX_SIZE
from stridekit.geometry.notation import parse_drop, parse_input_shape, parse_ints, parse_sizes
from stridekit.objects import parse_objects
from stridekit.web.limits import Limits
from stridekit.web.sources import parse_spec, registry_name
from stridekit.web.uploads import Uploads

Params = dict[str, Any]
SPEC_CHARACTERS = 1 << 20  # the schema's bound; `Limits.max_spec_bytes` is the real one
UPLOAD_ID = r"^[0-9a-f]{64}$"


class ModelSource(BaseModel):
    """Exactly one of: a registry ``name``, a ``spec`` (YAML or JSON text), or the id of
    an uploaded ``file`` (``POST /api/upload``: ``.onnx``, ``.keras`` or ``.tflite``);
    ``onnx`` is the same as ``file``, kept for the clients that name it so."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        None, max_length=200, examples=["torchvision:resnet50", "timm:resnet18"]
    )
    spec: str | None = Field(None, max_length=SPEC_CHARACTERS)
    file: str | None = Field(None, pattern=UPLOAD_ID, description="An upload's id")
    onnx: str | None = Field(
        None, pattern=UPLOAD_ID, description="An upload's id (the same as file)"
    )

    @model_validator(mode="after")
    def _one(self) -> ModelSource:
        given = [k for k in ("name", "spec", "file", "onnx") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of name, spec or file")
        return self

    def job_source(self, limits: Limits, uploads: Uploads | None) -> tuple[Params, bytes]:
        """The job's ``source`` parameter and the bytes that go with it."""
        if self.name is not None:
            return {"kind": "name", "name": registry_name(self.name)}, b""
        if self.spec is not None:
            data = parse_spec(self.spec, limits.max_spec_bytes, limits.max_spec_nodes)
            return {"kind": "spec", "data": data}, b""
        upload_id = self.file or self.onnx
        assert upload_id is not None
        if uploads is None:
            raise UsageError("this server takes no uploads")
        upload = uploads.get(upload_id)
        return {"kind": upload.format, "id": upload.id, "name": upload.name}, upload.data


class ModelRequest(BaseModel):
    """A model at an input shape (the CLI's ``--input 1x3x224x224``; default: the size
    the model declares)."""

    model_config = ConfigDict(extra="forbid")

    model: ModelSource
    input: str | None = Field(None, max_length=64, examples=["1x3x224x224"])

    def job_params(self, limits: Limits, uploads: Uploads | None) -> tuple[Params, bytes]:
        source, blob = self.model.job_source(limits, uploads)
        shape = parse_input_shape(self.input)
        if shape is not None:
            shape = limits.check_model_shape(shape)
        params = {"source": source, "input_shape": list(shape) if shape else None}
        return params | self.extra_params(), blob

    def extra_params(self) -> Params:
        return {}


class AnalyzeRequest(ModelRequest):
    """``stridekit analyze``: every layer's shape, stride, receptive field and cost."""

    depth: int | None = Field(None, ge=0, le=64, description="Fold rows to this module depth")
    ops: Literal["main", "all"] = "main"

    def extra_params(self) -> Params:
        return {"depth": self.depth, "ops": self.ops}


class DoctorRequest(ModelRequest):
    """``stridekit doctor``: what the strides break, with a fix."""

    select: list[str] = Field(default_factory=list, max_length=64)
    ignore: list[str] = Field(default_factory=list, max_length=64)
    objects: str | None = Field(None, max_length=256, examples=["8:256", "8,16,32"])

    def extra_params(self) -> Params:
        for code in (*self.select, *self.ignore):
            if len(code) > 64:
                raise UsageError(f"rule code {code[:64]!r}...: too long")
        params: Params = {"select": self.select, "ignore": self.ignore}
        if self.objects is not None:
            parse_objects(self.objects)  # a 4xx before the model is traced
            params["objects"] = self.objects
        return params


class SizesRequest(ModelRequest):
    """``stridekit sizes MODEL --range START:STOP``."""

    range: str = Field("1:1024", max_length=32, examples=["1:1024"])

    def span(self, limits: Limits) -> tuple[int, int]:
        start_text, sep, stop_text = self.range.partition(":")
        if not sep:
            raise UsageError(f"--range {self.range!r}: expected START:STOP, e.g. 200:640")
        start, stop = parse_sizes(start_text, "range")[0], parse_sizes(stop_text, "range")[0]
        if stop < start:
            raise UsageError(f"--range {self.range!r}: expected START <= STOP")
        if stop - start >= limits.max_span:
            raise SizeError(
                f"--range {self.range!r} spans more than {limits.max_span:,} sizes, the "
                "explorer's bound"
            )
        return start, stop

    def job_params(self, limits: Limits, uploads: Uploads | None) -> tuple[Params, bytes]:
        params, blob = super().job_params(limits, uploads)
        return params | {"range": list(self.span(limits))}, blob


class CompareRequest(BaseModel):
    """``stridekit compare A B``: model ``a`` (the one to change) against ``b`` (the
    reference) at one input (default: the size ``a`` declares)."""

    model_config = ConfigDict(extra="forbid")

    a: ModelSource
    b: ModelSource
    input: str | None = Field(None, max_length=64, examples=["1x3x224x224"])

    def job_params(self, limits: Limits, uploads: Uploads | None) -> tuple[Params, bytes]:
        source_a, blob_a = self.a.job_source(limits, uploads)
        source_b, blob_b = self.b.job_source(limits, uploads)
        shape = parse_input_shape(self.input)
        if shape is not None:
            shape = limits.check_model_shape(shape)
        params = {
            "a": source_a,
            "b": source_b,
            "input_shape": list(shape) if shape else None,
            "split": len(blob_a),
        }
        return params, blob_a + blob_b


Padding = Literal["same", "valid"]


def _same() -> list[Padding]:
    return ["same"]


Task = Literal["classification", "segmentation", "detection", "small-objects"]


class PlanRequest(BaseModel):
    """``stridekit plan`` on a template family (``vgg16``, ``resnet18``, ``plainN``)."""

    model_config = ConfigDict(extra="forbid")

    template: str = Field("plain20", pattern=r"^(vgg16|resnet18|plain[1-9][0-9]{0,2})$")
    input: int = Field(224, ge=1, le=MAX_SIZE)
    task: Task | None = None
    output_stride: int | None = Field(None, ge=1, le=MAX_SIZE)
    output_size: int | None = Field(None, ge=1, le=MAX_SIZE)
    min_rf: int | None = Field(None, ge=1, le=MAX_SIZE)
    max_macs: int | None = Field(None, ge=0, le=10**18)
    paddings: list[Padding] = Field(default_factory=_same, min_length=1, max_length=2)
    dilations: str | None = Field(None, max_length=64, examples=["1x2x4"])
    max_volume_drop: str | None = Field(None, max_length=32, examples=["2", "3/2", "off"])
    top: int = Field(5, ge=1, le=100)
    objects: str | None = Field(None, max_length=256, examples=["8:256", "8,16,32"])

    def job_params(self, limits: Limits) -> Params:
        if self.input > limits.max_model_size:
            raise SizeError(
                f"input {self.input:,} is beyond {limits.max_model_size:,}, the largest the "
                "explorer plans for"
            )
        layers = 13 if self.template == "vgg16" else 17 if self.template == "resnet18" else 0
        if layers == 0 and int(self.template[5:]) > limits.max_plan_layers:
            raise SizeError(
                f"{self.template}: more than {limits.max_plan_layers} layers, the explorer's bound"
            )
        if self.top > limits.max_top:
            raise SizeError(f"top {self.top} is beyond {limits.max_top}, the explorer's bound")
        params: Params = {
            "template": self.template,
            "input_size": parse_sizes(str(self.input), "input")[0],
            "task": self.task,
            "output_stride": self.output_stride,
            "output_size": self.output_size,
            "min_rf": self.min_rf,
            "max_macs": self.max_macs,
            "paddings": list(self.paddings),
            "top": self.top,
        }
        if self.objects is not None:
            parse_objects(self.objects)
            params["objects"] = self.objects
        if self.dilations:
            dilations = parse_ints(self.dilations, "dilations", 1)
            if max(dilations) > limits.max_dilation or len(dilations) > 8:
                raise SizeError(
                    f"--dilations {self.dilations}: at most 8 dilations up to "
                    f"{limits.max_dilation}, the explorer's bound"
                )
            params["dilations"] = list(dilations)
        if self.max_volume_drop is not None:
            drop = parse_drop(self.max_volume_drop)
            params["max_volume_drop"] = None if drop is None else str(drop)
        return params
