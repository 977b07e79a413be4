"""The sweep report: one self-contained HTML file (no scripts, fonts or images to fetch)
with the configurations' means ± std over seeds, the plots, and every trial.

It reads only the store (`Results`), so it can be made again at any time. Every number
cell carries its full-precision value in a ``data-value`` attribute, so a reader (or a
test) can check the page against the store. Plots come from `stridekit.viz`: accuracy vs
FLOPs with the Pareto front, accuracy vs output stride per downsampling op, shift
consistency vs output stride, latency vs output stride, DiffStride's learned strides,
and for detection the recall by object size, one curve per configuration; each point
says its configuration on hover.

>>> import tempfile, pathlib
>>> from stridekit.experiments.store import PlannedTrial, Store
>>> path = pathlib.Path(tempfile.mkdtemp()) / "runs.db"
>>> with Store.open(path) as store:
...     trial = PlannedTrial("k0", "c0", {"model": {"op": "conv"}}, {"model.op": "conv"}, 0)
...     _ = store.plan([trial])
...     store.start("k0")
...     store.finish("k0", metrics={"accuracy": 0.97, "flops": 2e6, "output_stride": 4})
>>> report = build_report(path)
>>> [plot.title for plot in report.plots]
['accuracy vs FLOPs', 'accuracy vs output stride']
>>> html = report.to_html()
>>> html.startswith("<!DOCTYPE html>") and 'data-value="0.97"' in html
True
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from stridekit.errors import UsageError
from stridekit.experiments.results import (
    Configuration,
    Results,
    _short_names,
    format_value,
    is_number,
    mean_std,
)
from stridekit.experiments.store import Status, Store, TrialRecord
from stridekit.render import Result
from stridekit.viz import Point, scatter_svg

QUALITY = ("accuracy", "miou", "ap")  # the first one a store has is "accuracy" in the plots
RECALL_BY_SIZE = re.compile(r"recall_(\d+)_(\d+)")  # a detection bucket's recall
STRIDE = "output_stride"


@dataclass(frozen=True)
class Plot:
    """A titled SVG plot of the report."""

    name: str
    title: str
    svg: str


def short_name(path: str, others: Sequence[str] = ()) -> str:
    """``model.op`` → ``op`` unless another factor ends the same way.

    >>> short_name("model.op"), short_name("training.lr", ["model.lr", "training.lr"])
    ('op', 'training.lr')
    """
    return _short_names([path, *(p for p in others if p != path)])[0]


def downsampling(record: TrialRecord) -> str:
    """The group a trial is plotted in: its plan, else its model's downsampling op."""
    plan = record.factors.get("plan")
    if isinstance(plan, dict) and plan.get("name"):
        return str(plan["name"])
    model = record.config.get("model") if isinstance(record.config, dict) else None
    if isinstance(model, dict) and model.get("family") == "spec":
        spec = model.get("spec")
        return str(spec.get("name", "spec")) if isinstance(spec, dict) else str(spec)
    op = model.get("op") if isinstance(model, dict) else None
    return str(op) if op is not None else "all"


class Report(Result):
    """The report of a store: results, plots, and the specs that made it."""

    def __init__(
        self, results: Results, plots: Sequence[Plot], specs: Sequence[dict[str, Any]]
    ) -> None:
        self.results = results
        self.plots = tuple(plots)
        self.specs = tuple(specs)
        self.output: str | None = None  # where `write` put the HTML

    def to_dict(self) -> dict[str, Any]:
        data = self.results.to_dict()
        return {
            "output": self.output,
            "store": data["store"],
            "counts": data["counts"],
            "metrics": data["metrics"],
            "configurations": data["configurations"],
            "plots": [p.title for p in self.plots],
        }

    def __rich__(self) -> RenderableType:
        results = self.results
        where = f"wrote {self.output}" if self.output else "report"
        return Text(
            f"{where}: {len(results.records)} trials, {len(results.configurations())} "
            f"configurations, plots: {', '.join(p.title for p in self.plots) or 'none'}"
        )

    def write(self, path: str | Path) -> Path:
        """Write the HTML file and return its path."""
        target = Path(path)
        try:
            target.write_text(self.to_html(), encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write the report to {target}: {error.strerror}") from None
        self.output = str(target)
        return target

    # -- HTML ------------------------------------------------------------------------
    def to_html(self) -> str:
        results = self.results
        counts = ", ".join(f"{n} {s}" for s, n in results.counts().items() if n) or "no trials"
        name = self.specs[-1]["name"] if self.specs else Path(results.source).stem
        body = [
            f"<h1>stridekit sweep: {_e(name)}</h1>",
            f"<p>Store <code>{_e(results.source)}</code>: {_e(counts)}.</p>",
            "<h2>Configurations (mean ± std over seeds)</h2>",
            self._configurations_table(),
        ]
        if self.plots:
            body.append("<h2>Plots</h2><p>Hover a point to see its configuration.</p>")
            body += [
                f'<figure id="{p.name}">{p.svg}<figcaption>{_e(p.title)}</figcaption></figure>'
                for p in self.plots
            ]
        body += ["<h2>Trials</h2>", self._trials_table()]
        failed = [r for r in results.records if r.status is Status.failed]
        if failed:
            body.append("<h2>Failures</h2><ul>")
            body += [f"<li>{_e(_label(r))}: {_e(r.error or '')}</li>" for r in failed]
            body.append("</ul>")
        for spec in self.specs[-1:]:
            body.append(
                f"<details><summary>Spec {_e(spec['name'])} ({_e(spec['applied_at'])})"
                f"</summary><pre>{_e(spec['text'])}</pre></details>"
            )
        return (
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>stridekit sweep {_e(name)}</title><style>{STYLE}</style></head>"
            "<body>\n" + "\n".join(body) + "\n</body></html>\n"
        )

    def _configurations_table(self) -> str:
        results = self.results
        factors, metrics = results.factor_names(), results.metric_names()
        head = [short_name(f, factors) for f in factors] + ["seeds"] + metrics
        rows = []
        for c in results.configurations():
            cells = [_td(format_value(c.factors.get(f))) for f in factors]
            cells.append(_td(f"{len(c.done)}/{len(c.trials)}"))
            for m in metrics:
                mean, std = c.mean(m), c.std(m)
                attributes = {"metric": m, "mean": mean, "std": std, "n": len(c.values(m))}
                cells.append(_td(mean_std(mean, std), attributes, number=True))
            rows.append(f'<tr data-config="{c.config_key}">{"".join(cells)}</tr>')
        return _table("configurations", head, rows)

    def _trials_table(self) -> str:
        results = self.results
        factors, metrics = results.factor_names(), results.metric_names()
        head = ["key"] + [short_name(f, factors) for f in factors]
        head += ["seed", "status", *metrics, "seconds"]
        rows = []
        for r in results.records:
            cells = [_td(r.key[:8])] + [_td(format_value(r.factors.get(f))) for f in factors]
            cells += [_td(str(r.seed)), _td(str(r.status))]
            for m in metrics:
                value = (r.metrics or {}).get(m)
                cells.append(_td(format_value(value), {"metric": m, "value": value}, number=True))
            wall = (r.timings or {}).get("wall")
            cells.append(_td(format_value(wall), {"value": wall}, number=True))
            rows.append(f'<tr data-key="{r.key}">{"".join(cells)}</tr>')
        return _table("trials", head, rows)


def build_report(path: str | Path, *, include_orphaned: bool = False) -> Report:
    """Read the store at ``path`` and lay out its report (no file is written)."""
    results = Results.load(path, include_orphaned=include_orphaned)
    with Store.open(path, create=False) as store:
        specs = store.specs()
    return Report(results, plots(results), specs)


def plots(results: Results) -> list[Plot]:
    """The report's plots, those the store has data for, in a fixed order."""
    metrics = set(results.metric_names())
    quality = next((m for m in QUALITY if m in metrics), None)
    configurations = [c for c in results.configurations() if c.done]
    found: list[Plot] = []

    def add(name: str, title: str, points: list[Point], **options: Any) -> None:
        if points:
            svg = scatter_svg(points, title=title, name=name, **options)
            found.append(Plot(name, title, svg))

    if quality and "flops" in metrics:
        measured = [c for c in configurations if _both(c, "flops", quality)]
        front = results.front("flops", quality)
        add(
            "quality-flops",
            f"{quality} vs FLOPs",
            _points(measured, "flops", quality),
            x_label="FLOPs (mean over seeds)",
            y_label=quality,
            log_x=True,
            front=[(c.mean("flops") or 0.0, c.mean(quality) or 0.0) for c in front],
        )
    for metric, title in (
        (quality, f"{quality} vs output stride"),
        ("shift_consistency", "shift consistency vs output stride"),
        ("latency_ms", "latency vs output stride"),
    ):
        if metric and metric in metrics and STRIDE in metrics:
            measured = [c for c in configurations if _both(c, STRIDE, metric)]
            add(
                f"{metric}-stride".replace("_", "-"),
                title,
                _points(measured, STRIDE, metric),
                x_label="output stride",
                y_label=metric.replace("_", " "),
                log_x=True,
                connect=True,
            )
    add(
        "recall-by-size",
        "recall by object size",
        _recall_by_size(configurations, sorted(metrics)),
        x_label="object size (px, bucket's geometric middle)",
        y_label="recall (IoU ≥ 0.5)",
        log_x=True,
        connect=True,
    )
    learned = [
        Point(stage, float(stride), _label(r), f"{_label(r)}: stage {stage} stride {stride:.3g}")
        for r in results.records
        if r.status is Status.done
        for stage, stride in enumerate(_learned(r), 1)
    ]
    add(
        "learned-strides",
        "learned strides (DiffStride)",
        learned,
        x_label="downsampling layer",
        y_label="learned stride",
        connect=True,
    )
    return found


def _recall_by_size(configurations: Sequence[Configuration], metrics: list[str]) -> list[Point]:
    """A curve per configuration: each size bucket's recall (mean ± std over seeds) at
    the bucket's geometric middle ``√(lo·hi)``."""
    buckets = [(m, match) for m in metrics if (match := RECALL_BY_SIZE.fullmatch(m))]
    points = []
    for c in configurations:
        stride = c.mean(STRIDE)
        group = c.label() + (f" (output stride {format_value(stride)})" if stride else "")
        for name, match in buckets:
            recall = c.mean(name)
            if recall is None:
                continue
            lo, hi = int(match.group(1)), int(match.group(2))
            hover = f"{group}\nobjects {lo}-{hi} px: recall {mean_std(recall, c.std(name))}"
            points.append(Point(math.sqrt(lo * hi), recall, group, hover, c.std(name) or None))
    return points


def _both(c: Configuration, x: str, y: str) -> bool:
    return c.mean(x) is not None and c.mean(y) is not None


def _points(configurations: Sequence[Configuration], x: str, y: str) -> list[Point]:
    points = []
    for c in configurations:
        hover = f"{c.label()}\n{y} {mean_std(c.mean(y), c.std(y))}, {x} {format_value(c.mean(x))}"
        points.append(
            Point(
                c.mean(x) or 0.0,
                c.mean(y) or 0.0,
                downsampling(c.done[0]),
                hover + f" ({len(c.values(y))} seeds)",
                c.std(y) or None,
            )
        )
    return points


LEARNED = "learned_stride."  # a trial's metrics hold one per DiffStride layer


def _learned(record: TrialRecord) -> list[float]:
    """A trial's learned strides, layer by layer (``learned_stride.NAME`` metrics)."""
    metrics = record.metrics or {}
    return [
        float(metrics[name])
        for name in sorted(metrics, key=_natural)
        if name.startswith(LEARNED) and is_number(metrics[name])
    ]


def _natural(name: str) -> list[Any]:
    """``stages.10`` after ``stages.2``: digits compare as numbers.

    >>> sorted(["s.10", "s.2", "s.1"], key=_natural)
    ['s.1', 's.2', 's.10']
    """
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _label(record: TrialRecord) -> str:
    factors = " ".join(f"{short_name(k)}={format_value(v)}" for k, v in record.factors.items())
    return f"{factors} seed={record.seed}".strip()


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _td(text: str, data: dict[str, Any] | None = None, *, number: bool = False) -> str:
    attributes = "".join(
        f' data-{k}="{_e(_exact(v))}"' for k, v in (data or {}).items() if v is not None
    )
    kind = ' class="number"' if number else ""
    return f"<td{kind}{attributes}>{_e(text)}</td>"


def _exact(value: Any) -> str:
    """A value as text that reads back to the same number (``repr`` of a float)."""
    return repr(value) if isinstance(value, float) else str(value)


def _table(name: str, head: Sequence[str], rows: Sequence[str]) -> str:
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    return (
        f'<table id="{name}"><thead><tr>{header}</tr></thead><tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table>"
    )


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f2f2f2; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0.5em; }
figure svg { max-width: 600px; height: auto; }
figcaption { text-align: center; color: #555; }
pre { background: #f7f7f7; padding: 1em; overflow: auto; }
""".strip()
