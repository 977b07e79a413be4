"""The stride doctor: rules over an `Analysis` that find what a stride breaks.

>>> from stridekit.analysis import analyze
>>> from stridekit.geometry import Window
>>> from stridekit.graph import Graph, Node
>>> net = Graph(input_shape=(1, 3, 224, 224))
>>> w = Window(3, 2)                 # floor((224 − 3)/2) + 1 = 111: pixel 223 is never read
>>> _ = net.add(Node("conv", "conv", ("input",), ((1, 3, 224, 224),), (1, 8, 111, 111), (w, w)))
>>> _ = net.add(Node("pool", "global_pool", ("conv",), ((1, 8, 111, 111),), (1, 8, 1, 1)))
>>> [(f.code, f.data["axes"]) for f in doctor(analyze(net)).findings if f.severity == "warning"]
[('dropped-pixels', [0, 1])]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from stridekit.doctor import artifacts, merges, pixels
from stridekit.doctor.finding import Finding, Severity
from stridekit.doctor.registry import RULES, Rule
from stridekit.doctor.report import Report, ReportListing
from stridekit.errors import ChoiceError

if TYPE_CHECKING:
    from stridekit.analysis import Analysis

__all__ = [
    "RULES",
    "Finding",
    "Report",
    "ReportListing",
    "Rule",
    "Severity",
    "doctor",
    "merge_axes",
]
_RULE_MODULES = (artifacts, merges, pixels)


def _codes(codes: Iterable[str] | None, option: str) -> set[str] | None:
    if codes is None:
        return None
    chosen = {c.strip() for code in codes for c in code.split(",") if c.strip()}
    unknown = chosen - set(RULES)
    if unknown:
        raise ChoiceError(
            f"{option}: unknown rule {', '.join(sorted(unknown))}; rules: {', '.join(RULES)}"
        )
    return chosen


def doctor(
    analysis: Analysis, select: Iterable[str] | None = None, ignore: Iterable[str] | None = None
) -> Report:
    """Run the rules (all, or ``select``, minus ``ignore``) over an analysis."""
    selected = _codes(select, "--select") or set(RULES)
    selected -= _codes(ignore, "--ignore") or set()
    findings = [f for code in RULES if code in selected for f in RULES[code].check(analysis)]
    findings = merge_axes(findings)
    findings.sort(key=lambda f: -f.severity.rank)
    return Report(tuple(findings), analysis.model, analysis.input_shape)


def merge_axes(findings: list[Finding]) -> list[Finding]:
    """One finding for the same verdict on several axes ("on axes 0, 1" for a square op).

    >>> a = Finding("gaps", Severity.info, "conv", "skips pixels on axis 0", "fix", {"axis": 0})
    >>> b = Finding("gaps", Severity.info, "conv", "skips pixels on axis 1", "fix", {"axis": 1})
    >>> [(f.message, f.data) for f in merge_axes([a, b])]
    [('skips pixels on axes 0, 1', {'axes': [0, 1]})]
    """
    groups: dict[tuple[object, ...], list[Finding]] = {}
    for f in findings:
        axis = f.data.get("axis")
        if not isinstance(axis, int):
            groups[(id(f),)] = [f]
            continue
        rest = {k: v for k, v in f.data.items() if k != "axis"}
        text = f"{f.message}\n{f.fix}".replace(f"axis {axis}", "axis #")
        key: tuple[object, ...] = (f.code, f.severity, f.node, text, repr(sorted(rest.items())))
        groups.setdefault(key, []).append(f)
    merged = []
    for group in groups.values():
        first = group[0]
        if len(group) == 1:
            merged.append(first)
            continue
        axes = [f.data["axis"] for f in group]
        names = ", ".join(str(a) for a in axes)
        message = first.message.replace(f"axis {axes[0]}", f"axes {names}")
        fix = first.fix.replace(f"axis {axes[0]}", f"axes {names}")
        data = {k: v for k, v in first.data.items() if k != "axis"} | {"axes": axes}
        merged.append(Finding(first.code, first.severity, first.node, message, fix, data))
    return merged
