"""The documentation site and the stride guide build (`make docs`): `mkdocs build --strict`
runs every page's Python blocks (markdown-exec), renders the API reference from the
docstrings and checks every link. The site is built once per test session (pytest-xdist's
workers share it). Small sites built with the same configuration show that the build
fails on what it must fail on: a block that raises, a link to a missing page or anchor, a
page left out of the navigation, a missing snippet file."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parent.parent
CONFIG = ROOT / "mkdocs.yml"
README_PICTURE = ROOT / "docs" / "pictures" / "quality_vs_output_stride.svg"
PICTURE_PAGE = "guide/applications.md"  # the guide page that draws the README's picture


def nav_pages(entries: Any) -> list[str]:
    """Every page named in a mkdocs ``nav`` (nested sections included), in order."""
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, dict):
        return [page for value in entries.values() for page in nav_pages(value)]
    return [page for entry in entries for page in nav_pages(entry)]


PAGES = nav_pages(yaml.safe_load(CONFIG.read_text())["nav"])


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``config`` into ``site``, from the repository root (the
    pages read the stored results by paths relative to it), this checkout's stridekit first."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "NO_MKDOCS_2_WARNING": "1"}
    command = ["mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)]
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, env=env, capture_output=True, text=True
    )


def html_of(site: Path, page: str) -> Path:
    """Where a page lands (the offline plugin turns directory URLs off: ``a/b.html``)."""
    return site / Path(page).with_suffix(".html")


@dataclass(frozen=True)
class Built:
    site: Path
    returncode: int
    output: str


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Built:
    """The real site, built once for the session: the first worker builds, the others wait
    for it and read the result."""
    base = tmp_path_factory.getbasetemp()
    folder = base.parent if worker_id != "master" else base
    record = folder / "guide-build.json"
    with _locked(folder / "guide-build.lock"):
        if not record.exists():
            done = build(CONFIG, folder / "guide-site")
            record.write_text(json.dumps([done.returncode, done.stdout + done.stderr]))
    returncode, output = json.loads(record.read_text())
    return Built(folder / "guide-site", returncode, output)


@pytest.mark.slow
def test_the_site_builds_strict(site: Built) -> None:
    assert site.returncode == 0, f"mkdocs build --strict failed:\n{site.output[-6000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_every_page_of_the_nav_is_built(site: Built, page: str) -> None:
    built = html_of(site.site, page)
    assert built.is_file(), f"{page} was not built (see test_the_site_builds_strict)"
    if page.startswith("guide/"):  # (docstrings in the reference show expected tracebacks)
        assert "Traceback (most recent call last)" not in built.read_text()


@pytest.mark.slow
def test_the_readme_picture_is_the_one_the_guide_draws(site: Built) -> None:
    # `make pictures` writes it (docs/pictures.sh runs the page's own file); the page
    # draws it again while the site builds, from the same stored results
    svg = README_PICTURE.read_text()
    assert svg.startswith("<svg")
    assert svg.strip() in html_of(site.site, PICTURE_PAGE).read_text()


def test_the_guide_pages_are_in_the_nav() -> None:
    written = {f"guide/{p.name}" for p in (ROOT / "docs" / "guide").glob("*.md")}
    assert written <= set(PAGES)
    assert len([p for p in PAGES if p.startswith("guide/") and p != "guide/index.md"]) == 11


# ---- the build fails when it must ----------------------------------------------------------

GOOD = '# Good\n\n```python exec="on"\nprint(6 * 7)\n```\n'
CASES: dict[str, tuple[dict[str, str], str | None]] = {  # pages, what the output must name
    "a good page builds and runs its block": ({"index.md": GOOD}, None),
    "a block that raises": (
        {"index.md": GOOD + '\n```python exec="on"\nraise ValueError("the guide broke")\n```\n'},
        "the guide broke",
    ),
    "a link to a missing page": (
        {"index.md": GOOD + "\nSee [a page](nowhere.md).\n"},
        "nowhere.md",
    ),
    "a link to a missing anchor": (
        {"index.md": GOOD + "\nSee [a section](#nowhere).\n"},
        "#nowhere",
    ),
    "a page left out of the nav": ({"index.md": GOOD, "stray.md": "# Stray\n"}, "stray.md"),
    "a missing snippet file": (
        {"index.md": GOOD + '\n```python exec="on"\n--8<-- "docs/guide/figures/gone.py"\n```\n'},
        "gone.py",
    ),
}


def small_site(folder: Path, pages: dict[str, str]) -> Path:
    """A site of ``pages`` with the real configuration (strictness, validation, plugins,
    Markdown extensions); only the API reference's plugin is left out (nothing to render)."""
    config = yaml.safe_load(CONFIG.read_text())
    docs = folder / "docs"
    docs.mkdir()
    for name, text in pages.items():
        (docs / name).write_text(text)
    config.update(docs_dir=str(docs), nav=["index.md"])
    config["plugins"] = [
        p for p in config["plugins"] if not (isinstance(p, dict) and "mkdocstrings" in p)
    ]
    config.pop("exclude_docs", None)
    path = folder / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_the_build_fails_on_a_broken_page(tmp_path: Path, case: str) -> None:
    pages, named = CASES[case]
    done = build(small_site(tmp_path, pages), tmp_path / "site")
    output = done.stdout + done.stderr
    if named is None:  # the control: the same configuration builds a good page
        assert done.returncode == 0, output[-3000:]
        assert "<p>42</p>" in html_of(tmp_path / "site", "index.md").read_text()
    else:
        assert done.returncode != 0, f"{case}: the build passed\n{output[-3000:]}"
        assert named in output
