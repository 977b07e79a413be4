"""`Report`: the doctor's findings for one model, shown grouped by code or one by one.

The table groups the findings of one code and severity on one line (how many, the first
layers, what the rule finds or the one finding's message, one fix), so a model with forty
strided convolutions gets one ``aliasing`` line, not forty; `Report.each` lists every
finding with its numbers, and the JSON always does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from stridekit.doctor.finding import Finding, Severity
from stridekit.doctor.objects import OBJECT_RULES
from stridekit.doctor.registry import RULES
from stridekit.object_coverage import ObjectCoverage
from stridekit.render import Result, table

SHOWN_NODES = 3  # layers named on a grouped line before "+N more"


@dataclass(frozen=True)
class FindingGroup:
    """The findings of one code at one severity, in the order they were found."""

    code: str
    severity: Severity
    findings: tuple[Finding, ...]

    def nodes_text(self) -> str:
        """The first layers, then how many more: ``layer2.0/add, layer3.0/add, +1 more``."""
        nodes = list(dict.fromkeys(f.node for f in self.findings))
        shown = ", ".join(nodes[:SHOWN_NODES])
        return shown + (f", +{len(nodes) - SHOWN_NODES} more" if len(nodes) > SHOWN_NODES else "")

    def cells(self) -> tuple[str, str, str, str, str, str]:
        first = self.findings[0]
        rule = RULES.get(self.code)
        summary = rule.summary if rule is not None else OBJECT_RULES.get(self.code)
        if len(self.findings) == 1 or summary is None:
            example = first.message if len(self.findings) == 1 else f"e.g. {first.message}"
        else:
            example = summary
        return (
            self.severity.value,
            self.code,
            str(len(self.findings)),
            self.nodes_text(),
            example,
            first.fix,
        )


def group_findings(findings: tuple[Finding, ...]) -> list[FindingGroup]:
    """One group per (code, severity), most severe first, then in order of appearance.

    >>> a = Finding("gaps", Severity.info, "l2.down", "skips", "use k=2")
    >>> b = Finding("gaps", Severity.info, "l3.down", "skips", "use k=2")
    >>> c = Finding("collapse", Severity.warning, "l4", "1x1", "larger input")
    >>> [(g.code, len(g.findings)) for g in group_findings((a, b, c))]
    [('collapse', 1), ('gaps', 2)]
    """
    groups: dict[tuple[str, Severity], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.code, finding.severity), []).append(finding)
    ordered = sorted(groups.items(), key=lambda item: -item[0][1].rank)
    return [FindingGroup(code, severity, tuple(found)) for (code, severity), found in ordered]


@dataclass(frozen=True)
class Report(Result):
    """All findings for one analysis, most severe first, with the model they are about.

    Printed, it groups the findings by code; `each` lists them one by one.
    """

    findings: tuple[Finding, ...]
    model: str = "model"
    input_shape: tuple[int, ...] = ()
    objects: ObjectCoverage | None = None  # with object sizes: which level serves each

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    @property
    def exit_code(self) -> int:
        """0: nothing at warning or above; 1: warnings or errors."""
        worst = self.worst
        return 1 if worst is not None and worst.rank >= Severity.warning.rank else 0

    def to_dict(self) -> dict[str, Any]:
        counts = {s.value: sum(f.severity == s for f in self.findings) for s in Severity}
        data = {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "findings": [f.to_dict() for f in self.findings],
            "counts": counts,
        }
        return data if self.objects is None else {**data, "objects": self.objects.to_dict()}

    def each(self) -> ReportListing:
        """The same report, listing every finding with its message (``--all``)."""
        return ReportListing(self)

    def _title(self) -> str:
        return f"{self.model}: {len(self.findings)} findings"

    def with_objects(self, found: RenderableType) -> RenderableType:
        """The findings, then the table of object sizes by level (with ``objects``)."""
        return found if self.objects is None else Group(found, self.objects.__rich__())

    def __rich__(self) -> RenderableType:
        if not self.findings:
            return self.with_objects(Text(f"{self.model}: no findings"))
        groups = group_findings(self.findings)
        grouped = table(
            self._title(),
            ("severity", "code", "count", "layers", "message", "fix"),
            (group.cells() for group in groups),
            overflow="fold",
        )
        if len(groups) == len(self.findings):
            return self.with_objects(grouped)
        note = Text("one line per code: --all (Report.each()) lists each finding")
        return self.with_objects(Group(grouped, note))


@dataclass(frozen=True)
class ReportListing(Result):
    """A `Report` shown one finding per line, with its message; its data is the report."""

    report: Report

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict()

    def __rich__(self) -> RenderableType:
        report = self.report
        if not report.findings:
            return report.with_objects(Text(f"{report.model}: no findings"))
        return report.with_objects(
            table(
                report._title(),
                ("severity", "code", "node", "message", "fix"),
                ((f.severity.value, f.code, f.node, f.message, f.fix) for f in report.findings),
                overflow="fold",
            )
        )
