"""`Finding`: one thing the doctor found, with the numbers and a fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one node.

    >>> Finding("gaps", Severity.info, "downsample.0", "stride 2 > extent 1", "use k=2").severity
    <Severity.info: 'info'>
    """

    code: str
    severity: Severity
    node: str
    message: str
    fix: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "node": self.node,
            "message": self.message,
            "fix": self.fix,
            "data": self.data,
        }
