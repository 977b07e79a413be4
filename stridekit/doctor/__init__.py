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
from stridekit.doctor.objects import OBJECT_RULES, model_levels, object_findings
from stridekit.doctor.registry import RULES, Rule
from stridekit.doctor.report import Report, ReportListing
from stridekit.errors import ChoiceError
from stridekit.object_coverage import object_coverage
from stridekit.objects import MIN_CELLS, ObjectSizes, parse_objects

if TYPE_CHECKING:
    from stridekit.analysis import Analysis

__all__ = [
    "OBJECT_RULES",
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
    unknown = chosen - set(RULES) - set(OBJECT_RULES)
    if unknown:
        rules = ", ".join([*RULES, *OBJECT_RULES])
        raise ChoiceError(f"{option}: unknown rule {', '.join(sorted(unknown))}; rules: {rules}")
    return chosen


def doctor(
    analysis: Analysis,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    *,
    objects: str | int | Iterable[str | int] | ObjectSizes | None = None,
    min_cells: int = MIN_CELLS,
) -> Report:
    """Run the rules (all, or ``select``, minus ``ignore``) over an analysis.

    With ``objects`` (sizes in input pixels: ``"8:256"``, ``"8,16,32"``, a list), the
    detection rules (`OBJECT_RULES`) also judge which pyramid level serves each size
    (`stridekit.doctor.objects`), and the report carries the table of sizes and levels:

    >>> from stridekit.analysis import analyze
    >>> from stridekit.geometry import Window
    >>> from stridekit.graph import Graph, Node
    >>> g = Graph(input_shape=(1, 3, 64, 64))
    >>> w = Window(8, 8)
    >>> _ = g.add(Node("p3", "conv", ("input",), ((1, 3, 64, 64),), (1, 8, 8, 8), (w, w)))
    >>> report = doctor(analyze(g), objects="4:16")   # 4 px at stride 8: half a cell
    >>> [(f.code, f.data["sizes"]) for f in report.findings if f.code.startswith("objects")]
    [('objects-lost', [4]), ('objects-beyond-field', [16]), ('objects-undersampled', [8])]
    >>> [(row["size"], row["cells"], row["verdict"]) for row in report.to_dict()["objects"]["rows"]]
    [(4, '1/2', 'lost'), (8, 1, 'undersampled'), (16, 2, 'beyond field')]
    """
    chosen = _codes(select, "--select") or set(RULES) | set(OBJECT_RULES)
    selected = chosen - (_codes(ignore, "--ignore") or set())
    sizes = None if objects is None else parse_objects(objects, "objects")
    findings = [f for code in RULES if code in selected for f in RULES[code].check(analysis)]
    findings = merge_axes(findings)
    coverage = None
    if sizes is not None:
        coverage = object_coverage(sizes, model_levels(analysis), min_cells)
        findings += [f for f in object_findings(coverage) if f.code in selected]
    findings.sort(key=lambda f: -f.severity.rank)
    return Report(tuple(findings), analysis.model, analysis.input_shape, coverage)


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
