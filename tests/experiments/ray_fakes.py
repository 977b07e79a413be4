"""Trial functions for the Ray tests (importable, so Ray's workers can unpickle them).

`FaultyTrial` plays a role chosen by the config's ``model.op`` and leaves a file
``<op>-<seed>-<pid>.pid`` in its folder at each start, so the test knows which worker
process runs which trial (and can kill it) and how many times a trial was started.
Each reports its process and the memory mapping that holds its training images.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stridekit.experiments.datasets import load_dataset
from stridekit.experiments.runner import TrialResult

SLEEP_S = 60.0  # long enough that a test kills or cancels the trial first

ROLES = ("quick", "killed_once", "always_dies", "sleeps")


def accuracy_of(op: str, seed: int) -> float:
    """The fakes' 'accuracy': a fixed function of the op and the seed."""
    return round(0.5 + 0.01 * len(op) + 0.001 * seed, 6)


def starts(folder: Path, op: str, seed: int) -> list[int]:
    """The PIDs of the worker processes that started trial (op, seed), in no order."""
    names = (path.name for path in folder.glob(f"{op}-{seed}-*.pid"))
    return [int(name.removesuffix(".pid").rsplit("-", 1)[1]) for name in names]


@dataclass(frozen=True)
class FaultyTrial:
    """``roles`` maps an op to a role in `ROLES` (ops not named are quick):

    - ``quick``: returns at once;
    - ``killed_once``: on its first start waits `SLEEP_S` (for the test to kill its
      worker), on a later start returns at once;
    - ``always_dies``: its worker kills itself (SIGKILL) at every start;
    - ``sleeps``: waits `SLEEP_S`, unless the folder holds a file ``fast``.
    """

    folder: str
    roles: dict[str, str] = field(default_factory=dict)

    def __call__(
        self,
        config: Any,
        seed: int,
        *,
        device: str | None = None,
        progress: Callable[[Any], None] | None = None,
        should_stop: Callable[[int, dict[str, float]], bool] | None = None,
    ) -> TrialResult:
        folder, op = Path(self.folder), config.model.op
        earlier = starts(folder, op, seed)
        (folder / f"{op}-{seed}-{os.getpid()}.pid").write_text("")
        role = self.roles.get(op, "quick")
        if role == "always_dies":
            os.kill(os.getpid(), signal.SIGKILL)
        if (role == "killed_once" and not earlier) or (
            role == "sleeps" and not (folder / "fast").exists()
        ):
            time.sleep(SLEEP_S)
        data = load_dataset(config.dataset, config.input_size)  # as run_trial loads it
        pointer = data.train.x.data_ptr()
        environment = {"pid": str(os.getpid()), "data": mapping_of(pointer)}
        return TrialResult({"accuracy": accuracy_of(op, seed)}, {}, {}, environment)


def mapping_of(address: int) -> str:
    """The name of the memory mapping of this process that holds ``address``."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, _, _, _, _, *name = line.split(maxsplit=5)
        low, high = (int(part, 16) for part in span.split("-"))
        if low <= address < high:
            return name[0] if name else "[anonymous]"
    return "[not mapped]"
