"""The layer tab's answers, memoized: the JSON bytes of recent ``/api/shape``,
``/api/window`` and ``/api/solve`` results, keyed by the request's normalized fields.

A layer request is a pure function of its fields (and the server's fixed `Limits`), and
the page asks the same few again and again (every edit of a field re-asks all three), so
an answer already given is sent again as it is, from the event loop, with no thread hop.
A new request is computed in the thread pool (its arithmetic is bounded by `Limits` to
well under a second, but the event loop keeps serving others meanwhile). Errors are not
kept: they are raised again, which costs no more than the first time.

Profiled under 32 clients (``benchmarks/web_load.py``), a shape request spent about 40%
of the server's time handing itself to a worker thread and back (twice: the endpoint and
a synchronous dependency), against 4% in the arithmetic and its JSON.

>>> import asyncio
>>> from concurrent.futures import ThreadPoolExecutor
>>> def run(coroutine):  # on an event loop of its own, as the server's
...     with ThreadPoolExecutor(1) as thread:
...         return thread.submit(asyncio.run, coroutine).result()
>>> answers = Answers(entries=2)
>>> run(answers.get(("shape", "224"), lambda: '{"output_size": [112]}'))
b'{"output_size": [112]}'
>>> run(answers.get(("shape", "224"), lambda: "never computed")), answers.hits
(b'{"output_size": [112]}', 1)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from starlette.concurrency import run_in_threadpool


class Answers:
    """At most ``entries`` answers of at most ``max_bytes`` each, least recent out first."""

    def __init__(self, entries: int = 1024, max_bytes: int = 1 << 18) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self.hits = 0
        self._kept: OrderedDict[Hashable, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    async def get(self, key: Hashable, compute: Callable[[], str]) -> bytes:
        """The answer to ``key``: kept, else ``compute()`` in the thread pool (and kept)."""
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
            self.hits += 1
            return kept
        answer = (await run_in_threadpool(compute)).encode()
        if len(answer) <= self.max_bytes:
            self._kept[key] = answer
            if len(self._kept) > self.entries:
                self._kept.popitem(last=False)
        return answer
