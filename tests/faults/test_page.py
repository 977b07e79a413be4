"""The docs page "When things go wrong" (docs/faults.md) and the fault tests name each
other: every test a row names exists, and every test under tests/faults is in a row."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "faults.md"


def named_on_the_page() -> set[str]:
    return set(re.findall(r"`(tests/[\w/]+\.py::\w+)`", PAGE.read_text()))


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    relative = path.relative_to(ROOT).as_posix()
    return {
        f"{relative}::{node.name}"
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_row_names_a_test_that_exists() -> None:
    named = named_on_the_page()
    assert len(named) >= 25
    for test in sorted(named):
        path = ROOT / test.split("::")[0]
        assert path.is_file() and test in defined_tests(path), f"{PAGE.name} names {test}"


def test_every_fault_test_has_its_row() -> None:
    faults = {t for p in (ROOT / "tests" / "faults").glob("test_*.py") for t in defined_tests(p)}
    faults -= defined_tests(Path(__file__))
    assert faults <= named_on_the_page(), sorted(faults - named_on_the_page())


def test_the_page_is_in_the_site() -> None:
    assert "faults.md" in (ROOT / "mkdocs.yml").read_text()
