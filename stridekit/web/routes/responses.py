"""What the routes declare in the OpenAPI schema: a result is the library's JSON (an
object whose fields each result type documents), an error is ``{"error", "type"}``; and
the JSON body of a route that reads its own (`json_body`, `read_json`).

>>> json_body(ErrorBody)["requestBody"]["content"]["application/json"]["schema"]["required"]
['error', 'type']
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ErrorBody(BaseModel):
    """Every error answer: the message the CLI would print and the error's type."""

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
        (503, "The worker died under the job, or the server is shutting down: send it again"),
    )
}


def json_text(text: str) -> Response:
    """A JSON text made by a result's ``to_json``, sent as it is."""
    return Response(content=text, media_type="application/json")


def json_bytes(data: bytes) -> Response:
    """A JSON text already encoded (a kept answer), sent as it is."""
    return Response(content=data, media_type="application/json")


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The ``openapi_extra`` of a route whose body is ``model``, read by `read_json`."""
    schema = model.model_json_schema()
    assert "$defs" not in schema, f"{model.__name__}: a body read by read_json is flat"
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


async def read_json(request: Request, model: type[Model]) -> Model:
    """The request's JSON body validated as ``model`` (pydantic parses the bytes itself),
    else the 422 FastAPI gives: a route that declares its body as a parameter pays
    FastAPI's generic body handling, about a sixth of a cached layer answer's time in the
    app (the content type parsed by the ``email`` package, the JSON decoded to Python
    objects and then validated)."""
    kind = request.headers.get("content-type")
    media = kind.partition(";")[0].strip().lower() if kind else "application/json"
    if not (
        media == "application/json"
        or (media.startswith("application/") and media.endswith("+json"))
    ):
        raise RequestValidationError(
            [
                {
                    "loc": ("body",),
                    "msg": f"expected a JSON body (Content-Type: application/json), got {kind}",
                    "type": "content_type",
                }
            ]
        )
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None
