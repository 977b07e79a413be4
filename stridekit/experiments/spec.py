"""The sweep spec: what to train, what to vary, how to search; and one trial's config.

A sweep spec is a YAML file. Its base fields (``dataset``, ``task``, ``input_size``,
``model``, ``training``, ``metrics``) describe one trial; ``vary`` lists the factors and
their values; ``seeds`` and ``search`` say how many trials and which:

.. code-block:: yaml

    name: mnist-strides
    dataset: mnist5k                   # or {name: cifar10, root: ~/data, download: true}
    task: classification
    model: {family: plain-cnn, width: 32, strides: [2, 2, 1]}
    training: {epochs: 3, batch_size: 128, optimizer: adam, lr: 0.003}
    metrics: [accuracy, shift_consistency, latency]
    vary:
      op: [conv, max_pool, blur_pool]  # a model or training field by its name,
      strides: [[2, 2, 1], [1, 2, 2]]  # or any field by its path: dataset.options.noise
    seeds: [0, 1]
    search: {kind: grid}

A factor's name is a dotted path into the trial config (``model.op``, ``training.lr``,
``dataset.options.detail``); a bare name of a ``model`` or ``training`` field stands for its
path, and ``input`` for ``input_size``. Every error names the field and its line.

>>> spec = SweepSpec.parse('''
... dataset: synthetic-detail
... model: {family: plain-cnn, strides: [2, 2]}
... vary: {op: [conv, max_pool]}
... ''')
>>> spec.space()
{'model.op': ['conv', 'max_pool']}
>>> config = spec.config({"model.op": "max_pool"})
>>> config.model.op, config.model.strides
('max_pool', (2, 2))
>>> len(config.key(0)), config.key(0) == config.key(1)
(64, False)
>>> SweepSpec.parse("dataset: mnist5k\\ntraining: {epoch: 3}\\n")
Traceback (most recent call last):
...
stridekit.errors.SweepSpecError: sweep spec: line 2: training.epoch: unknown field; did you mean 'epochs'?
"""  # noqa: E501

from __future__ import annotations

import copy
import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from stridekit.errors import SweepSpecError, UsageError
from stridekit.experiments.choices import suggest
from stridekit.experiments.yaml_lines import line_of, load_with_lines

__all__ = [
    "AugmentationConfig",
    "DatasetConfig",
    "HalvingConfig",
    "MetricsConfig",
    "ModelConfig",
    "PlanSearchConfig",
    "SearchConfig",
    "SweepSpec",
    "TrainingConfig",
    "TrialConfig",
    "install_trial_check",
]

Task = Literal["classification", "segmentation", "detection"]
Scalar = int | float | str | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetConfig(_Strict):
    """Which data: a registered ``name`` (`stridekit.experiments.datasets.DATASETS`), its
    ``root`` on disk and whether to ``download`` it there, optional subsets of the first
    ``train_size`` / ``test_size`` samples of a fixed shuffle, and the generator's
    ``options`` for synthetic sets (``size``, ``detail``, ``noise``...)."""

    name: str
    root: str | None = None
    download: bool = False
    train_size: int | None = Field(default=None, ge=1)
    test_size: int | None = Field(default=None, ge=1)
    options: dict[str, Scalar] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data


class ModelConfig(_Strict):
    """Which network: a ``family`` (plain-cnn, resnet-cifar, fcn, centernet, spec) and its
    knobs.

    ``strides`` has one stride per stage; ``op`` is how each stage downsamples (conv,
    max_pool, avg_pool, blur_pool, spd, diffstride); ``kernel`` and ``padding`` (same:
    ``kernel//2`` each side; valid: none; tf: TensorFlow's SAME) are the convs'; ``width``
    is the first stage's channels (doubled each stage), ``depth`` the convs (plain-cnn) or
    residual blocks (resnet-cifar) per stage; ``decoder`` is fcn's upsampling; ``spec`` a
    layer spec (a file or inline) for the ``spec`` family; ``smoothness`` DiffStride's."""

    family: str = "plain-cnn"
    strides: tuple[int, ...] = Field(default=(2, 2, 2), min_length=1)
    op: str = "conv"
    kernel: int = Field(default=3, ge=1)
    padding: Literal["same", "valid", "tf"] = "same"
    width: int = Field(default=32, ge=1)
    depth: int | None = Field(default=None, ge=1)
    decoder: Literal["bilinear", "transposed"] = "bilinear"
    norm: Literal["batch", "none"] = "batch"
    smoothness: float = Field(default=4.0, gt=0)
    spec: str | dict[str, Any] | None = None

    @field_validator("strides")
    @classmethod
    def _positive(cls, strides: tuple[int, ...]) -> tuple[int, ...]:
        if min(strides) < 1:
            raise ValueError(f"strides must be >= 1, got {list(strides)}")
        return strides


class AugmentationConfig(_Strict):
    """Random shifts of up to ``shift`` pixels (zero fill) and horizontal ``flip``s."""

    shift: int = Field(default=0, ge=0)
    flip: bool = False


class TrainingConfig(_Strict):
    """How to train: epochs, batch size, optimizer and its learning-rate schedule, weight
    decay, augmentation, and DiffStride's ``stride_penalty`` weight (0: none)."""

    epochs: int = Field(default=3, ge=1)
    batch_size: int = Field(default=128, ge=1)
    optimizer: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float = Field(default=1e-3, gt=0)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    schedule: Literal["constant", "cosine", "step", "onecycle"] = "cosine"
    weight_decay: float = Field(default=0.0, ge=0)
    augmentation: AugmentationConfig = Field(default_factory=AugmentationConfig)
    stride_penalty: float = Field(default=0.0, ge=0)
    eval_batch_size: int = Field(default=500, ge=1)


class MetricsConfig(_Strict):
    """Which metrics (`stridekit.experiments.metrics.METRICS`; the task's defaults when
    omitted), the largest shift of shift consistency, and the timed latency runs."""

    names: tuple[str, ...] | None = None
    max_shift: int = Field(default=4, ge=1)
    latency_runs: int = Field(default=20, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        return {"names": data} if isinstance(data, list | tuple) else data


class _TrialFields(_Strict):
    """What a trial is: the fields a sweep's base config and each trial share."""

    dataset: DatasetConfig
    task: Task = "classification"
    input_size: int | None = Field(default=None, ge=1)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)


class TrialConfig(_TrialFields):
    """One trial's configuration, without its seed: frozen, hashable and JSON-able.

    >>> config = TrialConfig(dataset="mnist5k", model={"strides": [2, 2]})
    >>> config.dataset.name, config.model.family, config.training.epochs
    ('mnist5k', 'plain-cnn', 3)
    >>> TrialConfig.model_validate_json(config.to_json()) == config
    True
    """

    def to_json(self) -> str:
        """The canonical JSON (sorted keys, no spaces): equal configs, equal text."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def key(self, seed: int) -> str:
        """The trial's identity: sha256 of the canonical JSON of the config and the seed."""
        text = json.dumps({"config": json.loads(self.to_json()), "seed": seed}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def check(self) -> None:
        """Deprecated: `stridekit.experiments.checks.check_config` (this method runs it when
        that module has been imported, and warns)."""
        _installed_check("TrialConfig.check()")(self)


class PlanSearchConfig(_Strict):
    """Train the planner's ``top`` plans for ``template`` (a family or a spec file), a
    ``task`` preset and an ``input`` size; ``max_volume_drop`` adds a hard limit to the
    preset's bottleneck preference (``null``: the preset's preference alone; ``0``: no
    bottleneck rule at all)."""

    template: str
    task: str = "classification"
    input: int = Field(ge=1)
    top: int = Field(default=3, ge=1)
    max_volume_drop: float | None = Field(default=None, ge=0)


class HalvingConfig(_Strict):
    """Successive halving: after ``min_epochs``, then every ``reduction``-fold more epochs,
    keep the best ``1/reduction`` of the trials by ``metric``."""

    min_epochs: int = Field(default=1, ge=1)
    reduction: int = Field(default=3, ge=2)
    metric: str = "accuracy"


def _accuracy_up() -> dict[str, Literal["max", "min"]]:
    return {"accuracy": "max"}


class SearchConfig(_Strict):
    """How trials are chosen: ``grid`` (every combination), ``random`` (``n_trials`` of
    them) or ``optuna`` (a sampler asked and told, ``objectives`` metric → max|min)."""

    kind: Literal["grid", "random", "optuna"] = "grid"
    n_trials: int | None = Field(default=None, ge=1)
    objectives: dict[str, Literal["max", "min"]] = Field(default_factory=_accuracy_up)
    sampler: str | None = None
    sampler_options: dict[str, Scalar] = Field(default_factory=dict)
    seed: int = 0
    plan: PlanSearchConfig | None = None
    halving: HalvingConfig | None = None


BASE_FIELDS = ("dataset", "task", "input_size", "model", "training", "metrics")
SHORTHANDS = {"input": "input_size"} | {
    name: f"{section}.{name}"
    for section, config in (("model", ModelConfig), ("training", TrainingConfig))
    for name in config.model_fields
}


class SweepSpec(_TrialFields):
    """A whole sweep: the base trial config, the factors to ``vary``, ``seeds``, ``search``."""

    name: str | None = None
    vary: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: tuple[int, ...] = Field(default=(0,), min_length=1)
    search: SearchConfig = Field(default_factory=SearchConfig)

    _lines: dict[tuple[int | str, ...], int] = PrivateAttr(default_factory=dict)
    _source: str = PrivateAttr(default="sweep spec")
    _paths: dict[str, str] = PrivateAttr(default_factory=dict)  # factor path → as written

    @field_validator("vary")
    @classmethod
    def _factors(cls, vary: dict[str, list[Any]]) -> dict[str, list[Any]]:
        factors: dict[str, list[Any]] = {}
        for name, values in vary.items():
            path = _factor_path(name)
            if path in factors:
                raise ValueError(f"{name!r} and another factor both vary {path}")
            if not values:
                raise ValueError(f"{name}: give at least one value")
            factors[path] = values
        return factors

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SweepSpec:
        """Read and validate a YAML sweep spec; every factor value is validated too."""
        file = Path(path)
        if not file.is_file():
            raise SweepSpecError(f"sweep spec {str(file)!r} not found")
        return cls.parse(file.read_text(), source=str(file))

    @classmethod
    def parse(cls, text: str, source: str = "sweep spec") -> SweepSpec:
        """Validate a sweep spec given as YAML text (``source`` names it in errors)."""
        try:
            data, lines = load_with_lines(text)
        except yaml.YAMLError as error:
            reason = " ".join(str(error).split())
            raise SweepSpecError(f"{source}: not valid YAML: {reason}") from None
        if not isinstance(data, dict):
            raise SweepSpecError(f"{source}: a sweep spec is a mapping with at least `dataset`")
        for name in data.get("vary") or {} if isinstance(data.get("vary"), dict) else {}:
            try:
                _factor_path(str(name))
            except ValueError as error:
                line = line_of(lines, ("vary", name))
                raise SweepSpecError(
                    f"{source}: line {line}: vary.{name}: {error}", field=f"vary.{name}", line=line
                ) from None
        try:
            spec = cls.model_validate(data)
        except ValidationError as error:
            raise _explain(error, source, lines, data) from None
        spec._lines, spec._source = lines, source
        spec._paths = {_factor_path(name): name for name in data.get("vary") or {}}
        for path, values in spec.space().items():
            for value in values:  # each value alone, so an error names its line
                spec.config({path: value})
        return spec

    def space(self) -> dict[str, list[Any]]:
        """The varied factors (as config paths) and their values, in the file's order."""
        return {path: list(values) for path, values in self.vary.items()}

    def base(self) -> dict[str, Any]:
        """The base trial config as JSON-ready data."""
        return self.model_dump(mode="json", include=set(BASE_FIELDS))

    def config(self, choice: dict[str, Any]) -> TrialConfig:
        """The trial config with ``choice`` (factor path → value) set on the base."""
        data = self.base()
        for name, value in choice.items():
            path = _factor_path(name)
            _set(data, path.split("."), copy.deepcopy(value))
        try:
            return TrialConfig.model_validate(data)
        except ValidationError as error:
            raise _explain(error, self._source, self._lines, data, self._where(choice)) from None

    def locate(self, error: SweepSpecError) -> SweepSpecError:
        """``error`` (a trial config's, naming its field) pointing at the line to blame:
        the factor in ``vary`` that set the field, else the base field.

        >>> spec = SweepSpec.parse("dataset: mnist5k\\nvary:\\n  op: [conv, maxpool]\\n")
        >>> str(spec.locate(SweepSpecError("model.op: unknown", field="model.op")))
        'sweep spec: line 3: model.op: unknown'
        """
        line = self._line(error.field) if error.field else None
        where = f"line {line}: " if line else ""
        return SweepSpecError(f"{self._source}: {where}{error}", field=error.field, line=line)

    def check(self, config: TrialConfig) -> None:
        """Deprecated: ``check_config(config, spec)`` of `stridekit.experiments.checks`
        (this method runs it when that module has been imported, and warns)."""
        check = _installed_check("SweepSpec.check(config)")
        try:
            check(config)
        except SweepSpecError as error:
            raise self.locate(error) from None

    def configs(self) -> Iterator[dict[str, Any]]:
        """Every combination of the factors (the grid), in order."""
        space = self.space()
        choices: list[dict[str, Any]] = [{}]
        for path, values in space.items():
            choices = [{**choice, path: value} for choice in choices for value in values]
        yield from choices

    def _line(self, field: str) -> int | None:
        """The line of a field: its factor in ``vary`` if varied, else the base field."""
        path = field.split(".")
        for depth in range(len(path), 0, -1):
            factor = ".".join(path[:depth])
            if factor in self._paths:
                return line_of(self._lines, ("vary", self._paths[factor]))
        return line_of(self._lines, path)

    def _where(self, choice: dict[str, Any]) -> dict[str, tuple[int | str, ...]]:
        """Where each chosen value is written: ``vary.NAME[i]`` (for error lines)."""
        places: dict[str, tuple[int | str, ...]] = {}
        for name, value in choice.items():
            path = _factor_path(name)
            written = self._paths.get(path, name)
            values = self.vary.get(path, [])
            index = next((i for i, v in enumerate(values) if v == value), None)
            places[path] = ("vary", written) if index is None else ("vary", written, index)
        return places


def _factor_path(name: str) -> str:
    """``op`` → ``model.op``; a dotted path must lead to a field of the trial config.

    >>> _factor_path("op"), _factor_path("dataset.options.noise")
    ('model.op', 'dataset.options.noise')
    """
    path = SHORTHANDS.get(name, name)
    parts = path.split(".")
    model: type[BaseModel] = TrialConfig
    for depth, part in enumerate(parts):
        fields = model.model_fields
        if part not in fields:
            known = set(fields) | (set(SHORTHANDS) if model is TrialConfig else set())
            raise ValueError(f"unknown factor {name!r}{suggest(part, sorted(known))}")
        annotation = fields[part].annotation
        if depth == len(parts) - 1 or "dict" in str(annotation):
            return path  # the field itself, or a key of a free-form mapping (options, spec)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise ValueError(f"unknown factor {name!r}: {part} has no fields")
        model = annotation
    return path


def _set(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        child = data.get(key)
        if not isinstance(child, dict):
            child = data[key] = {}
        data = child
    data[keys[-1]] = value


def _explain(
    error: ValidationError,
    source: str,
    lines: dict[tuple[int | str, ...], int],
    data: Any,
    places: dict[str, tuple[int | str, ...]] | None = None,
) -> SweepSpecError:
    """One line per wrong field: where it is (line), its path, what is wrong."""
    messages, first_field, first_line = [], None, None
    for item in error.errors():
        loc = tuple(k for k in item["loc"] if not (isinstance(k, str) and "[" in k))
        field = ".".join(str(k) for k in loc)
        line = None
        for path, place in (places or {}).items():
            if field == path or field.startswith(path + "."):
                line = line_of(lines, place)
        line = line or line_of(lines, loc)
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            names = parent.model_fields if parent is not None else {}
            message = f"unknown field{suggest(str(loc[-1]), names)}"
        where = f"line {line}: " if line else ""
        text = f"{where}{field}: {message}" if field else f"{where}{message}"
        if text not in messages:
            messages.append(text)
        first_field = first_field or field or None
        first_line = first_line or line
    return SweepSpecError(f"{source}: {'; '.join(messages)}", field=first_field, line=first_line)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = SweepSpec
    for part in loc:
        if not isinstance(part, str) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


# The whole-trial check builds the model (torch) and analyses it, so it lives above this
# module, in `stridekit.experiments.checks`, which installs it here when it is imported.
# Only the deprecated `TrialConfig.check` and `SweepSpec.check` run it from here: reading a
# spec never imports torch (`stridekit results` stays light), and nothing here imports up.
_TRIAL_CHECKS: list[Callable[[TrialConfig], object]] = []


def install_trial_check(check: Callable[[TrialConfig], object]) -> None:
    """Make ``check`` what the deprecated `TrialConfig.check` runs (the checks module
    calls this once, when it is imported)."""
    _TRIAL_CHECKS[:] = [check]


def _installed_check(method: str) -> Callable[[TrialConfig], object]:
    warnings.warn(
        f"{method} is deprecated: use stridekit.experiments.checks.check_config(config, spec)",
        DeprecationWarning,
        stacklevel=3,
    )
    if not _TRIAL_CHECKS:
        raise UsageError(
            f"{method} needs the checks of stridekit.experiments.checks: call "
            "stridekit.experiments.checks.check_config(config) instead"
        )
    return _TRIAL_CHECKS[0]
