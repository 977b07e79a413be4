"""The live view of a sweep: a rich progress bar for the sweep and one per running trial.

The driver hands every runner event to `SweepProgress.handle` and every finished trial to
`SweepProgress.finished`; a failure is printed at once above the bars, and the sweep goes
on. On a console that is not a terminal (a log file, CI) the bars stay off and each
finished trial is one line.

>>> import io
>>> from rich.console import Console
>>> console = Console(file=io.StringIO(), width=80)
>>> with SweepProgress(2, {"a": "op=conv", "b": "op=spd"}, console) as view:
...     view.handle(TrialStarted("a"))
...     view.finished(TrialOutcome("a", result=None, error="loss is nan at epoch 1"))
>>> print(console.file.getvalue().strip())
failed op=conv: loss is nan at epoch 1
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from stridekit.experiments.runner import (
    RunnerEvent,
    TrialOutcome,
    TrialRetried,
    TrialStarted,
    TrialUpdate,
)


class SweepProgress:
    """Bars for ``total`` trials (labels by key); a context manager around the sweep."""

    def __init__(
        self,
        total: int,
        labels: Mapping[str, str],
        console: Console,
        *,
        enabled: bool | None = None,
    ) -> None:
        self.labels = dict(labels)
        self.console = console
        self.live = console.is_terminal if enabled is None else enabled
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not self.live,
            transient=False,
        )
        self.sweep = self.progress.add_task("sweep", total=total, status="")
        self.failed = 0
        self.running: dict[str, TaskID] = {}
        self.closed: set[str] = set()

    def __enter__(self) -> SweepProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def label(self, key: str) -> str:
        return self.labels.get(key) or key[:12]

    def add(self, key: str, label: str) -> None:
        """A trial that an adaptive search planned after the view started."""
        self.labels[key] = label
        task = self.progress.tasks[self.sweep]
        self.progress.update(self.sweep, total=(task.total or 0) + 1)

    def handle(self, event: RunnerEvent) -> None:
        """Show a trial starting, moving on, or started again after its worker died
        (printed above the bars); events of finished trials are ignored."""
        if event.key in self.closed:
            return
        if isinstance(event, TrialRetried):
            self.console.print(
                f"retrying {self.label(event.key)} (attempt {event.attempt} of "
                f"{event.attempts}): {event.reason}",
                markup=False,
            )
            if event.key in self.running:
                self.progress.update(self.running[event.key], completed=0, status="restarting")
            return
        if isinstance(event, TrialStarted):
            if event.key not in self.running:
                self.running[event.key] = self.progress.add_task(
                    f"  {self.label(event.key)}", total=None, status="starting"
                )
        elif isinstance(event, TrialUpdate):
            if event.key not in self.running:
                self.handle(TrialStarted(event.key))
            done, total, status = _position(event.progress)
            self.progress.update(
                self.running[event.key], completed=done, total=total, status=status
            )

    def finished(self, outcome: TrialOutcome) -> None:
        """Close a trial's bar, count it, and print it when it failed (or when no bars)."""
        self.closed.add(outcome.key)
        task = self.running.pop(outcome.key, None)
        if task is not None:
            self.progress.remove_task(task)
        if outcome.error is not None:
            self.failed += 1
            self.console.print(f"failed {self.label(outcome.key)}: {outcome.error}", markup=False)
        elif not self.live:
            self.console.print(
                f"done {self.label(outcome.key)} ({outcome.seconds:.1f} s)", markup=False
            )
        status = f"[red]{self.failed} failed[/red]" if self.failed else ""
        self.progress.update(self.sweep, advance=1, status=status)


def _position(progress: Any) -> tuple[float, float | None, str]:
    """(steps done, steps in all, a status text) from a trial's progress report."""
    epoch = getattr(progress, "epoch", 0)
    epochs = getattr(progress, "epochs", 0)
    step = getattr(progress, "step", 0)
    steps = getattr(progress, "steps", 0)
    loss = getattr(progress, "loss", None)
    status = f"epoch {epoch}/{epochs}"
    if loss is not None:
        status += f" loss {loss:.4f}"
    if not steps or not epochs:
        return 0, None, status
    # epochs count from 1 in reports: epoch e step s means (e-1)·steps + s steps are done
    return max(0, epoch - 1) * steps + step, epochs * steps, status
