"""The one exception family of stridekit.

Every user-facing failure is a :class:`StrideError`. Messages are raised short and deep,
then enriched once at the public boundary (``raise ... from None``), so a user sees the
operation, the numbers and the formula, and what to do next.

>>> try:
...     raise InvalidWindowError("stride must be >= 1, got 0")
... except StrideError as error:
...     print(error)
stride must be >= 1, got 0
"""

from __future__ import annotations


class StrideError(ValueError):
    """Base class of every error stridekit raises on bad input."""


class InvalidWindowError(StrideError):
    """A window's own parameters are invalid (kernel, stride, dilation, padding...)."""


class OutputSizeError(StrideError):
    """A window applied to an input gives no valid output (too small, non-positive)."""


class ConventionError(StrideError):
    """A padding convention does not exist, or cannot express the request."""


class FieldError(StrideError):
    """Receptive fields cannot be combined (e.g. branches with different jumps)."""


class UnsupportedError(StrideError):
    """The request is well-formed but stridekit cannot handle it (yet)."""


class ModelError(StrideError):
    """A model, a model reference or a model file cannot be loaded or traced."""


class MergeSizeError(ModelError):
    """A traced forward failed where branches of unequal spatial sizes meet: a U-Net's
    skip concatenation (or a residual add) at an input size its strides cannot
    reproduce. ``module`` is where it failed, ``op`` the framework op, ``sizes`` each
    branch's spatial sizes and ``input_shape`` the input asked for; ``explanation`` is
    what `stridekit.analysis.analyze` learnt from a nearby size that runs (the failing
    merge, the valid sizes), when it found one."""

    def __init__(
        self,
        message: str,
        *,
        module: str,
        op: str,
        sizes: tuple[tuple[int, ...], ...],
        input_shape: tuple[int, ...],
        explanation: object = None,
    ):
        super().__init__(message)
        self.module = module
        self.op = op
        self.sizes = sizes
        self.input_shape = input_shape
        self.explanation = explanation


class UsageError(StrideError):
    """A value given to a command or a function is malformed or not one it accepts
    (``--input 3x224``, a negative depth, a layer with no stride to remove)."""


class ChoiceError(UsageError):
    """A name is not among the choices (a rule code, a task, a template family, an ops
    filter, a padding); the message lists the choices."""


class SizeError(StrideError):
    """A size is outside the range stridekit handles (below 1, or beyond
    `stridekit.geometry.limits.MAX_SIZE`), or no size meets the request."""


class SpecError(StrideError):
    """A layer spec or a plan template is malformed: a missing file, a wrong key or type."""


class Infeasible(StrideError):
    """No stride plan meets the constraints; the message says which and by how much."""


class SweepSpecError(SpecError):
    """A sweep spec or a trial configuration is invalid: an unknown dataset, op or model, a
    value of the wrong type, a stride plan that collapses the input. ``field`` is the dotted
    path of the culprit (``model.strides``) and ``line`` its line in the YAML file, when
    known; the message names both."""

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None):
        super().__init__(message)
        self.field = field
        self.line = line


class DatasetError(StrideError):
    """A dataset cannot be loaded: files missing or malformed under its root, a format
    that does not match, an optional package that is not installed."""


class TrialFailed(StrideError):
    """A trial stopped without a result: its loss became NaN or diverged. ``reason`` says
    when and what to try (the sweep records it and goes on)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class StoreError(StrideError):
    """A results store is missing, is not a stridekit store, or a trial in it cannot make
    the transition asked for (finishing a trial that is not running)."""


class StoreWriteError(StoreError):
    """The file system refused a write to a sweep's store (full, read-only, an I/O error).
    SQLite rolled the write back: the store holds its last committed state, and running
    the same sweep again, once the cause is gone, resumes it."""


class HeadLost(StrideError):
    """The Ray cluster's head stopped answering during a sweep: the sweep stops, its
    finished trials kept and its running ones back to pending."""


class Busy(StrideError):
    """The web explorer's workers are all busy and its queue is full (HTTP 429)."""


class TimeLimit(StrideError):
    """A web explorer job ran past the time limit; its worker was stopped (HTTP 408)."""


class WorkerStopped(StrideError):
    """A web explorer worker process died while running a job (killed, out of memory)."""


class ShuttingDown(StrideError):
    """The web explorer is shutting down: a job that was waiting or running is not
    finished (HTTP 503; the client may send it again once the server is back)."""


class TooLarge(SizeError):
    """A web request's body is larger than the explorer's bound (HTTP 413)."""


class RemoteError(StrideError):
    """A `StrideError` raised in a web explorer worker process; ``kind`` is its class name
    there (the message is the same)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
