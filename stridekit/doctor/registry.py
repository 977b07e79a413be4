"""The registry of doctor rules: small pure functions ``Analysis → findings``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stridekit.doctor.finding import Finding

if TYPE_CHECKING:
    from stridekit.analysis import Analysis

RuleFunction = Callable[["Analysis"], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    summary: str
    check: RuleFunction


RULES: dict[str, Rule] = {}


def rule(code: str, summary: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule under ``code``; a second rule with the same code is an error."""

    def register(check: RuleFunction) -> RuleFunction:
        if code in RULES:
            raise RuntimeError(f"doctor rule {code!r} is registered twice")
        RULES[code] = Rule(code, summary, check)
        return check

    return register
