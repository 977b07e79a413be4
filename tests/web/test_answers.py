"""The layer tab's kept answers: a kept answer is sent without computing, a new one is
computed off the event loop, the least recent goes first, and errors are never kept."""

from __future__ import annotations

import asyncio
import threading

import pytest

from stridekit.errors import SizeError
from stridekit.web.answers import Answers


class Computer:
    """``compute`` functions that count their calls and note their thread."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.threads: set[int] = set()

    def __call__(self, text: str) -> str:
        self.calls.append(text)
        self.threads.add(threading.get_ident())
        return text


def test_a_kept_answer_is_not_computed_again_and_a_new_one_off_the_loop() -> None:
    answers, compute = Answers(entries=4), Computer()

    async def run() -> list[bytes]:
        got = [await answers.get(key, lambda k=key: compute(k)) for key in ("a", "b", "a", "a")]
        assert threading.get_ident() not in compute.threads  # the event loop's thread
        return got

    assert asyncio.run(run()) == [b"a", b"b", b"a", b"a"]
    assert compute.calls == ["a", "b"]
    assert answers.hits == 2


def test_the_least_recent_answer_goes_first() -> None:
    answers, compute = Answers(entries=2), Computer()

    async def run() -> None:
        for key in ("a", "b", "a", "c", "a", "b"):  # "c" pushes out "b", the least recent
            await answers.get(key, lambda k=key: compute(k))

    asyncio.run(run())
    assert compute.calls == ["a", "b", "c", "b"]
    assert len(answers) == 2


def test_large_answers_and_errors_are_not_kept() -> None:
    answers, compute = Answers(max_bytes=3), Computer()

    def fail() -> str:
        compute.calls.append("error")
        raise SizeError("too large")

    async def run() -> None:
        for _ in range(2):
            assert await answers.get("big", lambda: compute("abcd")) == b"abcd"
            with pytest.raises(SizeError, match="too large"):
                await answers.get("bad", fail)

    asyncio.run(run())
    assert compute.calls == ["abcd", "error", "abcd", "error"]
    assert len(answers) == 0
