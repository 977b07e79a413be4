"""The one message for a name that is not among a registry's choices.

A sweep spec names things that registries hold (datasets, model families, downsampling
ops, metrics, factors): a wrong name gets the closest choices and the whole list, always
written the same way. This module imports nothing of the experiments, so the spec and
every registry (`datasets`, `models`, `checks`) can use it without importing each other.

>>> suggest("maxpool", ["max_pool", "avg_pool", "conv"])
"; did you mean 'max_pool' or 'avg_pool'?"
>>> raise unknown_name("model.op", "downsampling op", "maxpool", ["conv", "max_pool"])
Traceback (most recent call last):
...
stridekit.errors.SweepSpecError: model.op: unknown downsampling op 'maxpool'; did you mean 'max_pool'? (choose one of conv, max_pool)
"""  # noqa: E501

from __future__ import annotations

import difflib
from collections.abc import Iterable

from stridekit.errors import SweepSpecError

__all__ = ["suggest", "unknown_name"]


def suggest(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the (at most two) closest choices, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def unknown_name(field: str, kind: str, name: str, choices: Iterable[str]) -> SweepSpecError:
    """The error for ``name`` at ``field`` when it is no ``kind`` among ``choices``: the
    closest choices, then all of them (the caller raises it).

    >>> unknown_name("dataset.name", "dataset", "mnist6k", ["mnist5k", "cifar10"]).field
    'dataset.name'
    """
    names = list(choices)
    return SweepSpecError(
        f"{field}: unknown {kind} {name!r}{suggest(name, names)} "
        f"(choose one of {', '.join(names)})",
        field=field,
    )
