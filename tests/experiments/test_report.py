"""Results and the HTML report against the store read with plain sqlite3: every number in
the page equals the store's (trials exactly, means and stds recomputed here)."""

from __future__ import annotations

import json
import random
import re
import sqlite3
import statistics
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stridekit.experiments.report import Report, build_report
from stridekit.experiments.results import Results, pareto_front
from stridekit.experiments.store import PlannedTrial, Store

OPS = ("conv", "max_pool", "spd")
STRIDES = ([2, 2], [4, 1], [1, 4])


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three ops × three stride plans × two seeds, random metrics, one failed trial."""
    path = tmp_path_factory.mktemp("report") / "runs.db"
    draw = random.Random(7)
    with Store.open(path) as store:
        trials = [
            PlannedTrial(
                f"{op}-{i}-{seed}",
                f"{op}-{i}",
                {"model": {"op": op, "strides": strides}},
                {"model.op": op, "model.strides": strides},
                seed,
            )
            for op in OPS
            for i, strides in enumerate(STRIDES)
            for seed in (0, 1)
        ]
        store.plan(trials)
        for trial in trials:
            store.start(trial.key)
            if trial.key == "spd-2-1":
                store.fail(trial.key, "loss is nan at epoch 2")
                continue
            stride = trial.factors["model.strides"][0] * trial.factors["model.strides"][1]
            store.finish(
                trial.key,
                metrics={
                    "accuracy": draw.uniform(0.8, 0.99),
                    "flops": draw.randint(10**5, 10**7),
                    "output_stride": stride,
                    "shift_consistency": draw.uniform(0.5, 1.0),
                    "latency_ms": draw.uniform(0.1, 3.0),
                    "learned_stride.stages.0": draw.uniform(1, 3),
                    "learned_stride.stages.1": draw.uniform(1, 3),
                },
                timings={"wall": draw.uniform(1, 5)},
            )
    return path


class Cells(HTMLParser):
    """The ``<td>`` data attributes of each row of each table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, object]]] = {}
        self.table = ""
        self.row: dict[str, object] = {}
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href", "xlink:href"):
            link = found.get(name) or ""
            if link and not link.startswith("#"):
                self.external.append(link)
        if tag == "script":
            self.scripts += 1
        if tag == "table":
            self.table = str(found["id"])
            self.tables[self.table] = []
        elif tag == "tr" and ("data-key" in found or "data-config" in found):
            self.row = {"id": found.get("data-key") or found.get("data-config"), "cells": []}
            self.tables[self.table].append(self.row)
        elif tag == "td" and self.row:
            self.row["cells"].append(found)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def report(store_path: Path) -> Report:
    return build_report(store_path)


@pytest.fixture(scope="module")
def page(store_path: Path, report: Report) -> Cells:
    parser = Cells()
    parser.feed(report.write(store_path.with_suffix(".html")).read_text())
    return parser


def stored(store_path: Path) -> dict[str, dict[str, object]]:
    with sqlite3.connect(store_path) as db:
        rows = db.execute("SELECT key, config_key, status, metrics FROM trials").fetchall()
    return {
        key: {"config": config, "status": status, "metrics": json.loads(metrics or "null")}
        for key, config, status, metrics in rows
    }


def test_trial_cells_equal_the_store(store_path: Path, page: Cells) -> None:
    rows = stored(store_path)
    seen = 0
    for row in page.tables["trials"]:
        metrics = rows[str(row["id"])]["metrics"] or {}
        for cell in row["cells"]:  # type: ignore[attr-defined]
            if "data-metric" in cell:
                value = metrics.get(cell["data-metric"])
                assert cell.get("data-value") == (None if value is None else repr(value))
                seen += value is not None
    assert len(page.tables["trials"]) == 18 and seen == 17 * 7


def test_configuration_means_equal_the_store(store_path: Path, page: Cells) -> None:
    rows = stored(store_path)
    for row in page.tables["configurations"]:
        done = [
            r["metrics"]
            for r in rows.values()
            if r["config"] == row["id"] and r["status"] == "done"
        ]
        for cell in row["cells"]:  # type: ignore[attr-defined]
            if "data-metric" not in cell:
                continue
            values = [m[cell["data-metric"]] for m in done]  # type: ignore[index]
            assert float(cell["data-mean"]) == pytest.approx(statistics.fmean(values), rel=1e-15)
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            assert float(cell["data-std"]) == pytest.approx(spread, rel=1e-15, abs=0)
            assert int(cell["data-n"]) == len(values)
    assert len(page.tables["configurations"]) == 9


def test_page_is_self_contained_with_every_plot(report: Report, page: Cells) -> None:
    assert page.scripts == 0 and page.external == []
    assert [p.name for p in report.plots] == [
        "quality-flops",
        "accuracy-stride",
        "shift-consistency-stride",
        "latency-ms-stride",
        "learned-strides",
    ]
    # one hover title per point: 9 configurations (one per op and stride plan) per plot,
    # and two learned strides for each of the 17 finished trials
    assert [p.svg.count("<title>") for p in report.plots] == [9, 9, 9, 9, 34]


def test_results_formats_agree(store_path: Path) -> None:
    results = Results.load(store_path)
    data = results.to_dict()
    assert data["counts"] == {"pending": 0, "running": 0, "done": 17, "failed": 1}
    lines = results.to_csv().splitlines()
    assert len(lines) == 1 + 18
    header = lines[0].split(",")
    assert header[:4] == ["key", "config_key", "status", "seed"]
    markdown = results.to_markdown()
    # the configurations: one row per op and stride plan (3 + 3 for these two ops)
    assert markdown.count("\n| conv |") + markdown.count("\n| max_pool |") == 6
    assert "loss is nan at epoch 2" in str(results)


@given(st.lists(st.tuples(st.integers(1, 6), st.integers(0, 6)), max_size=12))
def test_pareto_front_matches_a_sweep_line(points: list[tuple[int, int]]) -> None:
    """Oracle: sorted by cost (quality descending on ties), a point is on the front iff its
    quality beats every cheaper point's."""
    front = {points[i] for i in pareto_front(points)}
    expected, best = set(), None
    for x, y in sorted(set(points), key=lambda p: (p[0], -p[1])):
        if best is None or y > best:
            expected.add((x, y))
            best = y
    assert front == expected
    assert len(pareto_front(points)) == len(front)  # equal points appear once


def test_plots_share_the_page_without_id_clashes(report: Report) -> None:
    """Five SVGs in one page: every id is unique and every #reference finds its id."""
    page = report.to_html()
    ids = re.findall(r'\bid="([^"]+)"', page)
    references = set(re.findall(r'(?:href="#|url\(#)([^")]+)', page))
    assert len(ids) == len(set(ids)) and references <= set(ids)
    assert report.to_html() == page  # deterministic: the same store, the same bytes
