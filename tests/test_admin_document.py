"""The /__mock__/ routes' own OpenAPI document: valid, served, and naming every route."""

from __future__ import annotations

import yaml
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from mock_server.admin import DOCUMENT, routes


def test_the_document_is_valid_openapi_and_names_every_route(app) -> None:  # type: ignore[no-untyped-def]
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    validate(document)
    documented = {path.replace("{sessionId}", "{session_id}") for path in document["paths"]}
    served = {route.path for route in routes(app.services) if isinstance(route, Route)}
    undocumented = served - documented - {"/__mock__", "/__mock__/static/style.css", "/__mock__/openapi.yaml"}
    assert not undocumented
    assert documented <= served


def test_the_document_is_served_without_a_token(client: TestClient) -> None:
    answer = client.get("/__mock__/openapi.yaml")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(answer.text)["info"]["title"] == "org-billing-mock's own routes"
