"""The choice of runner: this machine (one process, or worker processes) or a Ray cluster.

`make_runner` turns the sweep's ``--backend``, ``--workers`` and Ray options into a
`stridekit.experiments.runner.Runner`. It sits above both the local runners
(`stridekit.experiments.runner`) and the Ray runner (`stridekit.experiments.ray_runner`,
which subclasses `Runner`), so neither runner module imports the other. Importing it
does not import Ray (the Ray runner imports it when it runs).

>>> type(make_runner(print, 1)).__name__, type(make_runner(print, 2)).__name__
('LocalRunner', 'ProcessRunner')
>>> type(make_runner(print, backend="ray")).__name__
'RayRunner'
"""

from __future__ import annotations

from enum import StrEnum

from stridekit.errors import UsageError
from stridekit.experiments.ray_runner import RayOptions, RayRunner
from stridekit.experiments.runner import LocalRunner, ProcessRunner, Runner, TrialFunction

__all__ = ["BACKENDS", "Backend", "make_runner"]


class Backend(StrEnum):
    """Where a sweep's trials run: ``local`` (this machine) or ``ray`` (a Ray cluster)."""

    local = "local"
    ray = "ray"


BACKENDS = tuple(backend.value for backend in Backend)


def make_runner(
    trial_function: TrialFunction,
    workers: int = 1,
    device: str | None = None,
    *,
    backend: str = "local",
    ray: RayOptions | None = None,
) -> Runner:
    """The local runner for one worker, the process runner for more; with ``backend="ray"``
    the Ray runner (``ray`` its `RayOptions`, or None for the defaults)."""
    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend}: choose one of {', '.join(BACKENDS)}")
    if backend == "ray":
        if workers != 1:
            raise UsageError(
                f"--workers {workers} counts local processes; with --backend ray give "
                "--max-concurrent (trials at once on the cluster) instead"
            )
        return RayRunner(trial_function, ray if ray is not None else RayOptions(), device)
    if ray is not None:
        raise UsageError("the Ray options (--address, --cpus-per-trial, ...) need --backend ray")
    if workers == 1:
        return LocalRunner(trial_function, device)
    return ProcessRunner(trial_function, workers, device)
