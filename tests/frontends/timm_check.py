"""One timm model against timm's own declaration, and the doctor at its published size:
the check that ``test_timm_reductions.py`` asserts model by model and that
``tools/timm_walk.py`` runs over the whole zoo to list what the doctor still says.

The oracle is ``feature_info[-1]["reduction"]``, the reduction timm declares for the
features that enter its head (written by timm's authors, not computed by stridekit).
Where the declaration does not describe what the head reads (MobileNetV5's fusion
resizes its last two stages to a fixed 16 × 16 map; DeepSeek's aligner unshuffles 3 × 3
tokens after the encoder's blocks), stridekit's stride at the module timm names is
checked instead. Where a resize makes the stride fractional (CrossViT resizes 240 to
224: ``240/14 · 224/240 = 120/7``) timm rounds it, so the check does too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from fractions import Fraction

import stridekit
from stridekit.doctor import Severity
from stridekit.errors import StrideError
from stridekit.frontends.resolve import resolve

warnings.filterwarnings("ignore", category=UserWarning, module="timm")


@dataclass
class Checked:
    """What one model gave: ``status`` is ``agree``, ``disagree`` or ``skip`` (``why``)."""

    name: str
    status: str
    why: str = ""
    strides: list[str] = field(default_factory=list)
    reduction: int | None = None
    # (severity, code, node, message) of every doctor finding above info
    findings: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[str, str, str, str]]:
        return [f for f in self.findings if f[0] == Severity.error.value]


def declared_reduction(module: object) -> int | None:
    """The reduction timm declares for the last features (None when it declares none)."""
    last = _last_info(module)
    reduction = last.get("reduction") if last else None
    return int(reduction) if reduction else None


def declared_module(module: object) -> str | None:
    """The module whose output timm's last ``feature_info`` entry describes."""
    last = _last_info(module)
    return last.get("module") if last else None


def _last_info(module: object) -> dict | None:
    info = getattr(module, "feature_info", None)
    last = info[-1] if info else None
    return last if isinstance(last, dict) else None


def _within(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def agrees(stride: Fraction, reduction: int) -> bool:
    """Equal, or rounding to it where a resize made the stride fractional."""
    return stride == reduction or (stride.denominator != 1 and round(stride) == reduction)


def check(name: str, *, doctor: bool = True) -> Checked:
    """Build ``timm:name`` on meta at its published size, compare, and run the doctor."""
    try:
        resolved = resolve(f"timm:{name}")
    except Exception as error:  # timm's own builder: not stridekit's to judge
        return Checked(name, "skip", f"does not build on meta: {type(error).__name__}: {error}")
    assert resolved.module is not None and resolved.input_shape is not None
    reduction = declared_reduction(resolved.module)
    if reduction is None:
        return Checked(name, "skip", "timm declares no feature_info reduction")
    try:
        analysis = stridekit.analyze(resolved.module, resolved.input_shape)
    except StrideError as error:
        return Checked(name, "skip", f"does not run at its own input size on meta: {error}")
    strides = analysis.output_stride
    shown = [str(s) for s in strides]
    checked = Checked(name, "agree", strides=shown, reduction=reduction)
    if not all(agrees(stride, reduction) for stride in strides):
        checked.status = "disagree"
        module = declared_module(resolved.module)
        inside = [r for r in analysis.layers if module and _within(r.module, module)]
        there = inside[-1].jump if inside else ()
        if there and all(agrees(stride, reduction) for stride in there):
            checked.status = "skip"
            checked.why = (
                f"timm's reduction describes {module}, where stridekit agrees; the head reads "
                f"{analysis.head.module or analysis.head.name} after it, every {'×'.join(shown)} "
                "pixels"
            )
    if doctor:
        report = stridekit.doctor(analysis)
        checked.findings = [
            (f.severity.value, f.code, f.node, f.message)
            for f in report.findings
            if f.severity is not Severity.info
        ]
    return checked
