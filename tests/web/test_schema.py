"""Property-based requests drawn from the served OpenAPI schema (schemathesis): no answer
is a 5xx, none is an unexpected exception (``InternalError``), every error has the usual
shape, and each status code is one the schema declares."""

from __future__ import annotations

import httpx
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
