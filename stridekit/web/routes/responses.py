"""What the routes declare in the OpenAPI schema: a result is the library's JSON (an
object whose fields each result type documents), an error is ``{"error", "type"}``."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel


class ErrorBody(BaseModel):
    """Every 4xx answer: the message the CLI would print and the error's type."""

    error: str
    type: str


RESULT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The result's JSON, as the CLI prints it with --format json",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": description}
    for code, description in (
        (400, "A StrideError: the request's values cannot be served"),
        (408, "The job ran past the time limit"),
        (413, "The body is larger than the bound"),
        (422, "The body does not match the schema"),
        (429, "Every worker is busy and the queue is full"),
    )
}


def json_text(text: str) -> Response:
    """A JSON text made by a result's ``to_json``, sent as it is."""
    return Response(content=text, media_type="application/json")


def json_bytes(data: bytes) -> Response:
    """A JSON text already encoded (a kept answer), sent as it is."""
    return Response(content=data, media_type="application/json")
