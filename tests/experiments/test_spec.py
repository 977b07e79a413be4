"""The sweep spec: errors name the field and its line; configs, keys, the space; checks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

import stridekit
from stridekit.errors import SweepSpecError, UsageError
from stridekit.experiments import spec as spec_module
from stridekit.experiments.checks import check_config
from stridekit.experiments.datasets import DataInfo
from stridekit.experiments.models import OPS, build_model
from stridekit.experiments.spec import SweepSpec, TrialConfig
from tests.experiments.conftest import TINY_DETAIL

SPEC = """\
name: strides
dataset:
  name: synthetic-detail
  options: {n_train: 48, n_test: 24, size: 16}
model:
  family: plain-cnn
  strides: [2, 2]
  width: 4
training:
  epochs: 1
vary:
  op: [conv, max_pool]
  training.lr: [0.001, 0.01]
seeds: [0, 1]
"""


def _line(text: str, needle: str) -> int:
    """The 1-based line of the first line containing ``needle``: the oracle for lines."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_space_and_grid_follow_the_file() -> None:
    spec = SweepSpec.parse(SPEC)
    assert spec.space() == {"model.op": ["conv", "max_pool"], "training.lr": [0.001, 0.01]}
    assert list(spec.configs()) == [
        {"model.op": op, "training.lr": lr} for op in ("conv", "max_pool") for lr in (0.001, 0.01)
    ]
    assert spec.seeds == (0, 1)
    assert spec.search.kind == "grid"


def test_config_sets_the_choice_on_the_base() -> None:
    config = SweepSpec.parse(SPEC).config({"model.op": "max_pool", "training.lr": 0.01})
    assert (config.model.op, config.training.lr) == ("max_pool", 0.01)
    assert (config.model.strides, config.training.epochs) == ((2, 2), 1)  # the base's


def test_key_is_sha256_of_canonical_config_and_seed() -> None:
    config = SweepSpec.parse(SPEC).config({"model.op": "conv"})
    payload = {"config": config.model_dump(mode="json"), "seed": 3}
    expected = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    assert config.key(3) == expected


def test_equal_configs_are_equal_keys_and_hashes_whatever_the_spelling() -> None:
    a = TrialConfig(dataset="mnist5k", model={"strides": [2, 2]})
    b = TrialConfig.model_validate_json(
        '{"model": {"strides": [2, 2], "family": "plain-cnn"}, "dataset": {"name": "mnist5k"}}'
    )
    assert a == b and hash(a) == hash(b) and a.key(0) == b.key(0)
    assert len({a.key(0), a.key(1), a.model_copy(update={"task": "segmentation"}).key(0)}) == 3


def test_trial_config_is_frozen_and_json_round_trips() -> None:
    config = SweepSpec.parse(SPEC).config({})
    with pytest.raises(ValueError):
        config.task = "segmentation"  # type: ignore[misc]
    assert TrialConfig.model_validate_json(config.to_json()) == config


@pytest.mark.parametrize(
    ("edit", "needle", "field"),
    [
        (("  epochs: 1", "  epoch: 1"), "epoch: 1", "training.epoch"),
        (("  width: 4", "  width: -4"), "width: -4", "model.width"),
        (("  op: [conv, max_pool]", "  op: [conv, 7]"), "op: [conv, 7]", "model.op"),
        (
            ("  training.lr: [0.001, 0.01]", "  training.lr: [0.001, -1]"),
            "training.lr",
            "training.lr",
        ),
        (("  op: [conv, max_pool]", "  opp: [conv]"), "opp:", "vary.opp"),
        (("seeds: [0, 1]", "seeds: zero"), "seeds: zero", "seeds"),
    ],
)
def test_errors_name_the_field_and_its_line(edit: tuple[str, str], needle: str, field: str) -> None:
    text = SPEC.replace(*edit)
    with pytest.raises(SweepSpecError) as caught:
        SweepSpec.parse(text, source="s.yaml")
    line = _line(text, needle)
    assert caught.value.line == line
    assert caught.value.field == field
    assert str(caught.value).startswith(f"s.yaml: line {line}: {field}")


def test_unknown_field_suggests_the_close_one() -> None:
    with pytest.raises(SweepSpecError, match="did you mean 'epochs'"):
        SweepSpec.parse(SPEC.replace("  epochs: 1", "  epoch: 1"))


def test_load_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(SPEC.replace("  width: 4", "  width: wide"))
    with pytest.raises(SweepSpecError, match=rf"^{path}: line 8: model.width"):
        SweepSpec.load(path)
    with pytest.raises(SweepSpecError, match="not found"):
        SweepSpec.load(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text", ["- a list", "dataset: [unclosed"])
def test_a_file_that_is_no_spec_is_one_error(text: str) -> None:
    with pytest.raises(SweepSpecError):
        SweepSpec.parse(text)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"dataset": {"name": "mnist6k"}}, "dataset.name", "did you mean 'mnist5k'"),
        (
            {"dataset": {**TINY_DETAIL, "options": {"detial": 1}}},
            "dataset.options.detial",
            "detail",
        ),
        ({"model": {"op": "maxpool"}}, "model.op", "max_pool"),
        ({"model": {"family": "resnet"}}, "model.family", "resnet-cifar"),
        ({"model": {"family": "fcn"}}, "model.family", "does not do classification"),
        ({"model": {"family": "resnet-cifar", "strides": [1, 2]}}, "model.strides", "4 strides"),
        ({"task": "segmentation"}, "task", "classification dataset"),
        ({"metrics": ["miou"]}, "metrics.names", "segmentation metric"),
        ({"metrics": ["acuracy"]}, "metrics.names", "did you mean 'accuracy'"),
        ({"dataset": {"name": "cifar10"}}, "dataset.root", "give `root`"),
    ],
)
def test_check_fails_fast_naming_the_field(change: dict, field: str, words: str) -> None:
    data = {"dataset": TINY_DETAIL, "model": {"strides": [2, 2]}} | change
    with pytest.raises(SweepSpecError, match=words) as caught:
        check_config(TrialConfig.model_validate(data))
    assert caught.value.field == field
    assert str(caught.value).startswith(field)


def _doctor_collapse_message(strides: tuple[int, ...], size: int) -> str:
    """The oracle: the doctor's own message on the same model, built by hand."""
    config = TrialConfig(dataset="mnist5k", model={"strides": list(strides)})
    model = build_model(config.model, DataInfo("classification", 1, (size, size), 10))
    report = stridekit.doctor(stridekit.analyze(model, (1, 1, size, size)))
    return next(f.message for f in report.findings if f.code == "collapse")


def test_a_collapsing_stride_plan_fails_with_the_doctors_message() -> None:
    strides = (2, 2, 2, 2, 2)  # 28 → 14 → 7 → 4 → 2 → 1 before the head
    config = TrialConfig(dataset="mnist5k", model={"strides": list(strides)})
    with pytest.raises(SweepSpecError) as caught:
        check_config(config)
    assert caught.value.field == "model.strides"
    assert _doctor_collapse_message(strides, 28) in str(caught.value)


def test_an_output_below_one_pixel_fails_before_training() -> None:
    config = TrialConfig(
        dataset="mnist5k", input_size=8, model={"strides": [4, 4, 4], "padding": "valid"}
    )
    with pytest.raises(SweepSpecError, match=r"model\.strides: strides \[4, 4, 4\] at input 8x8"):
        check_config(config)


def test_check_leaves_the_global_generator_alone() -> None:
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_config(TrialConfig(dataset=TINY_DETAIL, model={"strides": [2, 2]}))
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("op", OPS)
def test_every_op_passes_the_check_on_a_sane_plan(op: str) -> None:
    check_config(TrialConfig(dataset=TINY_DETAIL, model={"strides": [2, 1], "op": op, "width": 4}))


def test_sweep_check_points_at_the_line_of_the_varied_factor() -> None:
    text = SPEC.replace("  op: [conv, max_pool]", "  strides: [[2, 2], [2, 2, 2, 2, 2]]")
    spec = SweepSpec.parse(text, source="s.yaml")
    check_config(spec.config({"model.strides": [2, 2]}), spec)
    with pytest.raises(SweepSpecError) as caught:
        check_config(spec.config({"model.strides": [2, 2, 2, 2, 2], "training.lr": 0.01}), spec)
    line = _line(text, "strides: [[2, 2]")
    assert (caught.value.field, caught.value.line) == ("model.strides", line)
    assert str(caught.value).startswith(f"s.yaml: line {line}: model.strides")


def test_the_deprecated_check_methods_warn_and_still_check() -> None:
    """``TrialConfig.check`` and ``SweepSpec.check`` moved to `checks.check_config`: the
    old methods run it (the checks module is imported above) and raise the same error."""
    config = TrialConfig(dataset="mnist5k", model={"op": "maxpool"})
    with pytest.raises(SweepSpecError) as expected:
        check_config(config)
    with (
        pytest.warns(DeprecationWarning, match="check_config"),
        pytest.raises(SweepSpecError) as caught,
    ):
        config.check()
    assert str(caught.value) == str(expected.value)
    text = SPEC.replace("  op: [conv, max_pool]", "  strides: [[2, 2], [2, 2, 2, 2, 2]]")
    spec = SweepSpec.parse(text, source="s.yaml")
    bad = spec.config({"model.strides": [2, 2, 2, 2, 2]})
    with pytest.raises(SweepSpecError) as expected:
        check_config(bad, spec)
    with (
        pytest.warns(DeprecationWarning, match="check_config"),
        pytest.raises(SweepSpecError) as caught,
    ):
        spec.check(bad)
    assert (caught.value.field, caught.value.line) == (expected.value.field, expected.value.line)
    assert str(caught.value) == str(expected.value)


def test_search_and_plan_options_are_validated() -> None:
    text = (
        SPEC + "search:\n  kind: optuna\n  n_trials: 8\n  objectives: {accuracy: max, flops: min}\n"
    )
    text += "  plan: {template: vgg16, task: classification, input: 32, top: 2}\n"
    search = SweepSpec.parse(text).search
    assert (search.kind, search.n_trials, search.objectives) == (
        "optuna",
        8,
        {"accuracy": "max", "flops": "min"},
    )
    assert search.plan is not None and search.plan.top == 2
    with pytest.raises(SweepSpecError, match=r"search\.kind"):
        SweepSpec.parse(SPEC + "search: {kind: bayes}\n")


def test_the_deprecated_check_says_where_the_checks_are_when_none_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a process that never imported `stridekit.experiments.checks` (the spec does not
    import it: that would import torch), the old method names the new function."""
    monkeypatch.setattr(spec_module, "_TRIAL_CHECKS", [])
    config = TrialConfig(dataset="mnist5k", model={"strides": [2, 2]})
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(UsageError, match=r"stridekit\.experiments\.checks\.check_config"),
    ):
        config.check()
