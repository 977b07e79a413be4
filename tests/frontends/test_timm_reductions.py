"""Output stride against timm's own declaration, and no doctor error, model by model
(`tests.frontends.timm_check`: the oracle and the exceptions it allows, with why).

Every timm model is a case; the suite runs one per family (timm's module), chosen by a
rule: the family's first model in sorted order; the rest are ``soak`` (``make soak``,
or ``pytest --soak tests/frontends/test_timm_reductions.py``, walks them all;
``python tools/timm_walk.py`` walks them too and lists the warnings that remain). A
model that does not build on the meta device, declares no reduction or cannot run at
its own input size is skipped, and says why; families that disagreed before for reasons
of their own are ``xfail`` (strict) with the reason.
"""

from __future__ import annotations

import pytest

from tests.frontends.timm_check import check

timm = pytest.importorskip("timm")


def families() -> dict[str, list[str]]:
    """timm's models by the module that defines them (its family), each list sorted."""
    return {module: sorted(timm.list_models(module=module)) for module in timm.list_modules()}


# families whose stride disagrees with timm for reasons of their own, by name prefix
# (strict: a fix makes them fail, so the mark goes away with the cause); none left
KNOWN: dict[str, str] = {}


def _marks(name: str) -> list[pytest.MarkDecorator]:
    marks = [] if name in SAMPLE else [pytest.mark.slow, pytest.mark.soak]
    known = [why for prefix, why in KNOWN.items() if name.startswith(prefix)]
    if known:
        marks.append(pytest.mark.xfail(strict=True, reason=known[0]))
    return marks


SAMPLE = frozenset(names[0] for names in families().values() if names)
MODELS = [pytest.param(name, marks=_marks(name)) for name in sorted(timm.list_models())]


@pytest.mark.parametrize("name", MODELS)
def test_output_stride_is_timms_reduction_and_the_doctor_finds_no_error(name: str) -> None:
    checked = check(name)
    if checked.status == "skip":
        pytest.skip(checked.why[:200])
    assert checked.status == "agree", (name, checked.strides, checked.reduction)
    assert checked.errors == [], (name, checked.errors)
