"""The documents under docs/ run: every ``>>>`` example is executed as a doctest, so the
numbers on the pages are stridekit's own."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))


def test_there_are_pages() -> None:
    assert {p.name for p in PAGES} >= {"architecture.md", "algebra.md", "extending.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_examples_run(page: Path) -> None:
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0 and result.failed == 0


def test_links_between_pages_resolve() -> None:
    import re

    for page in PAGES:
        for target in re.findall(r"\]\(([^)#]+\.md)\)", page.read_text()):
            assert (DOCS / target).exists(), f"{page.name} links to a missing {target}"
