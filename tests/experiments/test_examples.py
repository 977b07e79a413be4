"""Every example sweep loads, and every configuration it plans passes the checks that run
before any training (names, geometry, the doctor)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stridekit.experiments.checks import check_config
from stridekit.experiments.search import choice_config, make_search
from stridekit.experiments.spec import SweepSpec

EXAMPLES = sorted(
    (Path(__file__).resolve().parents[2] / "stridekit" / "examples" / "sweeps").glob("*.yaml")
)


def test_the_examples_are_there() -> None:
    names = {path.stem for path in EXAMPLES}
    examples = {"mnist-strides", "detail", "seg-output-stride", "detection-strides", "plans"}
    assert examples | {"demo"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_plans_valid_trials(path: Path) -> None:
    spec = SweepSpec.load(path)
    choices = list(make_search(spec).choices())
    assert len(choices) >= 2  # every example compares something
    for choice in choices:
        check_config(choice_config(spec, choice), spec)
