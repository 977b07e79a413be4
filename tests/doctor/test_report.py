"""The doctor's report: grouped by code in the table, one by one with `each` and in JSON."""

from __future__ import annotations

from rich.console import Console

from stridekit.doctor import RULES, Finding, Report, Severity


def finding(code: str, node: str, severity: Severity = Severity.info) -> Finding:
    return Finding(code, severity, node, f"{code} at {node}", f"fix {node}", {"node": node})


REPORT = Report(
    (
        finding("collapse", "l4", Severity.warning),
        *(finding("aliasing", f"conv{i}") for i in range(5)),
        finding("gaps", "down", Severity.warning),
        finding("gaps", "shortcut"),
    ),
    "net",
    (1, 3, 64, 64),
)


def text(renderable: object) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def rows(markdown: str) -> list[list[str]]:
    lines = [line for line in markdown.splitlines() if line.startswith("| ")][1:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_the_table_has_a_line_per_code_and_severity() -> None:
    table = rows(REPORT.to_markdown())
    assert [(r[0], r[1], r[2]) for r in table] == [
        ("warning", "collapse", "1"),
        ("warning", "gaps", "1"),
        ("info", "aliasing", "5"),
        ("info", "gaps", "1"),
    ]
    aliasing = table[2]
    assert aliasing[3] == "conv0, conv1, conv2, +2 more"  # the first layers
    assert aliasing[4] == RULES["aliasing"].summary and aliasing[5] == "fix conv0"
    assert table[0][4] == "collapse at l4"  # a single finding: its own message
    assert "--all" in text(REPORT)


def test_each_lists_every_finding_and_json_always_does() -> None:
    listed = rows(REPORT.each().to_markdown())
    assert [(r[1], r[2]) for r in listed] == [(f.code, f.node) for f in REPORT.findings]
    data = REPORT.to_dict()
    assert data == REPORT.each().to_dict()
    assert [f["node"] for f in data["findings"]] == [f.node for f in REPORT.findings]
    assert data["counts"] == {"error": 0, "warning": 2, "info": 6}


def test_no_findings() -> None:
    empty = Report((), "net")
    assert text(empty).strip() == text(empty.each()).strip() == "net: no findings"
