"""Property-based requests drawn from the served OpenAPI schema (schemathesis): no answer
is a 5xx, none is an unexpected exception (``InternalError``), every error has the usual
shape, and each status code is one the schema declares. The layer requests' schema
documents both forms of their numbers (JSON integers and lists, the CLI's text), and what
it refuses the server refuses."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from stridekit.web import create_app

# the schema the server serves (it does not depend on the bounds); requests go to the
# session's live server
schema = schemathesis.openapi.from_dict(create_app().openapi())


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case, server: str) -> None:
    response = case.call(base_url=server, timeout=120)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error", "type"}, body
        assert body["type"] != "InternalError", body


def test_the_schema_declares_every_endpoint(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths == create_app().openapi()["paths"]
    for path in (
        "/api/shape",
        "/api/solve",
        "/api/analyze",
        "/api/doctor",
        "/api/sizes",
        "/api/plan",
        "/api/window",
        "/api/upload",
        "/api/results",
    ):
        assert path in paths, path


# --- the layer requests: JSON numbers and the CLI's text, both in the schema --------------

PROGRAMMER = {
    "/api/shape": {"size": [224, 224], "kernel": 3, "stride": 2, "padding": [[0, 1], 1]},
    "/api/window": {"size": [9, 8], "kernel": [3, 2], "stride": 2, "dilation": [1, 2]},
    "/api/solve": {"size": 224, "output": 112, "max_kernel": 5},
}
CLI = {
    "/api/shape": {"size": "224x224", "kernel": "3", "stride": "2", "padding": "0:1x1"},
    "/api/window": {"size": "9x8", "kernel": "3x2", "stride": "2", "dilation": "1x2"},
    "/api/solve": {"size": "224", "output": "112", "max_kernel": "5"},
}
REFUSED = [
    ("/api/shape", {"size": True, "kernel": 3}),
    ("/api/shape", {"size": 224.5, "kernel": 3}),
    ("/api/shape", {"size": [224, 224, 224, 224], "kernel": 3}),
    ("/api/shape", {"size": 224, "kernel": 3, "padding": [[1, 2, 3]]}),
    ("/api/window", {"size": [8, 8], "kernel": [3, None]}),
    ("/api/solve", {"size": False, "output": 112}),
    ("/api/solve", {"size": "224px", "output": 112}),
    ("/api/solve", {"size": [224], "output": 112}),
]


def request_schema(openapi: dict[str, Any], path: str) -> dict[str, Any]:
    """The JSON schema the OpenAPI document gives ``POST path``'s body."""
    schema = openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    found = schema["schema"]
    if "$ref" in found:
        found = openapi["components"]["schemas"][found["$ref"].rpartition("/")[2]]
    return dict(found)


@pytest.mark.parametrize("path", sorted(PROGRAMMER))
def test_the_schema_documents_numbers_and_the_cli_text(client: httpx.Client, path: str) -> None:
    schema = request_schema(client.get("/openapi.json").json(), path)
    answers = []
    for body in (PROGRAMMER[path], CLI[path]):
        jsonschema.validate(body, schema)
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    assert answers[0] == answers[1]


@pytest.mark.parametrize(("path", "body"), REFUSED, ids=str)
def test_what_the_schema_refuses_the_server_refuses(
    client: httpx.Client, path: str, body: dict[str, Any]
) -> None:
    schema = request_schema(client.get("/openapi.json").json(), path)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, schema)
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "ValidationError"
    assert "expected" in response.json()["error"]
