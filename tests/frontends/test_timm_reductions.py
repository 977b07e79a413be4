"""Output stride against timm's own declaration, model by model: the oracle is
``feature_info[-1]["reduction"]``, the reduction timm declares for the features that enter
its head (written by timm's authors, not computed by stridekit).

Every timm model is a case; the suite runs one per family (timm's module), chosen by a
rule: the family's first model in sorted order; the rest are ``soak`` (``make soak``,
or ``pytest --soak tests/frontends/test_timm_reductions.py``, walks them all). A model
that does not build on the meta device, declares no reduction or cannot run at its own
input size is skipped, and says why; families that disagreed before for reasons of their
own are ``xfail`` (strict) with the reason. Where the declaration does not describe what
the head reads (MobileNetV5's fusion resizes its last two stages to a fixed 16 × 16 map,
every 48 pixels at 768², while ``feature_info`` describes ``blocks.3``, every 32;
DeepSeek's aligner unshuffles 3 × 3 tokens after the encoder's blocks), stridekit's
stride at the module timm names is checked instead, and the model is skipped with the
head's stride once it agrees there. Where a resize makes
the stride fractional (CrossViT resizes 240 to 224: ``240/14 · 224/240 = 120/7``) timm
rounds it, so the test does too.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import pytest

import stridekit
from stridekit.errors import StrideError
from stridekit.frontends.resolve import resolve

timm = pytest.importorskip("timm")

warnings.filterwarnings("ignore", category=UserWarning, module="timm")


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


def declared_reduction(module: object) -> int | None:
    """The reduction timm declares for the last features (None when it declares none)."""
    info = getattr(module, "feature_info", None)
    if not info:
        return None
    last = info[-1]
    reduction = last.get("reduction") if isinstance(last, dict) else None
    return int(reduction) if reduction else None


def agrees(stride: Fraction, reduction: int) -> bool:
    """Equal, or rounding to it where a resize made the stride fractional."""
    return stride == reduction or (stride.denominator != 1 and round(stride) == reduction)


@pytest.mark.parametrize("name", MODELS)
def test_output_stride_is_timms_reduction(name: str) -> None:
    try:
        resolved = resolve(f"timm:{name}")
    except Exception as error:  # timm's own builder: not stridekit's to judge
        pytest.skip(f"does not build on meta: {type(error).__name__}: {error}"[:200])
    assert resolved.module is not None and resolved.input_shape is not None
    reduction = declared_reduction(resolved.module)
    if reduction is None:
        pytest.skip("timm declares no feature_info reduction")
    try:
        analysis = stridekit.analyze(resolved.module, resolved.input_shape)
    except StrideError as error:
        pytest.skip(f"does not run at its own input size on meta: {error}"[:200])
    strides = analysis.output_stride
    module = declared_module(resolved.module)
    if module and not all(agrees(stride, reduction) for stride in strides):
        inside = [
            r for r in analysis.layers if r.module == module or r.module.startswith(module + ".")
        ]
        there = inside[-1].jump if inside else ()
        if there and all(agrees(stride, reduction) for stride in there):
            shown = "×".join(str(s) for s in strides)
            pytest.skip(
                f"timm's reduction describes {module}, where stridekit agrees; the head reads "
                f"{analysis.head.module or analysis.head.name} after it, every {shown} pixels"
            )
    assert all(agrees(stride, reduction) for stride in strides), (
        name,
        [str(s) for s in strides],
        reduction,
        analysis.head.name,
    )


def declared_module(module: object) -> str | None:
    """The module whose output timm's last ``feature_info`` entry describes."""
    info = getattr(module, "feature_info", None)
    last = info[-1] if info else None
    return last.get("module") if isinstance(last, dict) else None
