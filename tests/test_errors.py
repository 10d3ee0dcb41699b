"""Bad input of every kind gets the documented error body, never problem+json or a trace."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from connexion.exceptions import NonConformingResponseBody, UnsupportedMediaTypeProblem
from starlette.exceptions import HTTPException
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.errors import PriceNotFound, to_api_error
from mock_server.fixtures import load_prices, load_tenants
from mock_server.settings import DEFAULT_FIXTURES
from mock_server.spec import ApiSpec
from mock_server.store import OrganizationStore

from .conftest import BASE_URL, VALID_BODY, bearer, organization

FREE = bearer("sk_test_free_org")
JSON = {**FREE, "Content-Type": "application/json"}


def assert_error(answer: Any, status: int, code: str, spec: ApiSpec) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json()
    assert not list(spec.validator("ErrorResponse").iter_errors(body))
    assert body["error"]["code"] == code
    assert body["trackingId"] == answer.headers["x-tracking-id"]
    assert "Traceback" not in answer.text
    return body


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"", "validation_error"),
        (b'{"successUrl": "http://a.example/\xff", "cancelUrl": "http://a.example/"}', "invalid_json"),
        (b"\xff\xfe\x00{", "invalid_json"),
        (b"[]", "validation_error"),
        (b"null", "validation_error"),
        (b'"text"', "validation_error"),
        (b'{"successUrl": null, "cancelUrl": "http://a.example/"}', "validation_error"),
        (b'{"successUrl": 42, "cancelUrl": "http://a.example/"}', "validation_error"),
        (b'{"cancelUrl": "http://a.example/"}', "validation_error"),
        (
            b'{"successUrl": "http://a.example/", "cancelUrl": "http://a.example/", "messagePriceId": 7}',
            "validation_error",
        ),
    ],
)
def test_malformed_bodies_are_400(client: TestClient, spec: ApiSpec, content: bytes, code: str) -> None:
    assert_error(client.post("/billing", headers=JSON, content=content), 400, code, spec)


def test_a_body_over_one_mebibyte_is_refused_without_reading_it(client: TestClient, spec: ApiSpec) -> None:
    huge = b'{"successUrl": "http://a.example/' + b"x" * (1024 * 1024 + 10) + b'", "cancelUrl": "http://a.example/"}'
    body = assert_error(client.post("/billing", headers=JSON, content=huge), 400, "body_too_large", spec)
    assert "bytes" in body["error"]["message"]


def test_a_streamed_body_over_the_limit_is_refused(client: TestClient, spec: ApiSpec) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"successUrl": "http://a.example/'
        for _ in range(40):
            yield b"y" * 32 * 1024
        yield b'", "cancelUrl": "http://a.example/"}'

    assert_error(client.post("/billing", headers=JSON, content=chunks()), 400, "body_too_large", spec)


def test_wrong_content_type_is_415(client: TestClient, spec: ApiSpec) -> None:
    answer = client.post("/billing", headers={**FREE, "Content-Type": "text/plain"}, content=b"hello")
    assert_error(answer, 415, "unsupported_media_type", spec)
    form = client.post("/billing", headers=FREE, data={"successUrl": "http://a.example/"})
    assert_error(form, 415, "unsupported_media_type", spec)


def test_unknown_route_is_404_and_wrong_method_is_405(client: TestClient, spec: ApiSpec) -> None:
    assert_error(client.get("/nowhere", headers=FREE), 404, "not_found", spec)
    assert_error(client.get("/account/organization/extra", headers=FREE), 404, "not_found", spec)
    for method in ("DELETE", "PUT", "PATCH", "GET"):
        answer = client.request(method, "/billing", headers=FREE)
        assert_error(answer, 405, "method_not_allowed", spec)
        assert answer.headers["allow"] == "POST"
    assert_error(client.post("/account/organization", headers=FREE, json={}), 405, "method_not_allowed", spec)


def test_tracking_ids_are_unique_per_request(client: TestClient) -> None:
    answers = [client.get("/account/organization", headers=FREE) for _ in range(20)]
    answers += [client.get("/account/organization") for _ in range(20)]
    ids = [answer.headers["x-tracking-id"] for answer in answers]
    assert len(set(ids)) == len(ids)
    assert all(answer.json()["trackingId"] == answer.headers["x-tracking-id"] for answer in answers[20:])


def test_no_answer_is_problem_json(client: TestClient) -> None:
    answers = [
        client.post("/billing", headers=JSON, content=b"{"),
        client.get("/account/organization"),
        client.delete("/account/organization"),
        client.get("/missing"),
        client.post("/billing", headers={**FREE, "Content-Type": "application/xml"}, content=b"<a/>"),
    ]
    assert all(answer.headers["content-type"] == "application/json" for answer in answers)


class _BrokenStripe:
    async def create_customer(self, **_: object) -> str:
        raise RuntimeError("secret internal detail")

    async def create_checkout_session(self, **_: object) -> str:
        raise RuntimeError("secret internal detail")


def test_an_unhandled_exception_is_a_500_without_internals(spec: ApiSpec, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(), stripe=_BrokenStripe())
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        answer = client.post("/billing", headers=FREE, json=VALID_BODY)
    body = assert_error(answer, 500, "internal_error", spec)
    assert "secret internal detail" not in answer.text
    assert "secret internal detail" in caplog.text, "the cause must be logged"
    assert body["trackingId"] in caplog.text


def test_a_non_conforming_answer_is_a_logged_500_without_the_schema_error(
    spec: ApiSpec, caplog: pytest.LogCaptureFixture
) -> None:
    tenants = load_tenants(DEFAULT_FIXTURES, spec)
    broken = dict(tenants[0].organization, organizationType="enterprise")
    tenants[0] = tenants[0].__class__(**{**tenants[0].__dict__, "organization": broken})
    store = OrganizationStore(tenants, load_prices(DEFAULT_FIXTURES))
    app = create_app(Settings(), store=store)
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        answer = client.get("/account/organization", headers=FREE)
    assert_error(answer, 500, "internal_error", spec)
    assert "enterprise" not in answer.text
    assert "enterprise" in caplog.text


def test_store_is_untouched_by_rejected_requests(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    before = organization(app, "org_free_demo")
    for content in (b"{", b"[]", b'{"successUrl": 1}', b"\xff"):
        client.post("/billing", headers=JSON, content=content)
    assert organization(app, "org_free_demo") is before
    assert client.get("/account/organization", headers=FREE).status_code == 200


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (HTTPException(404), 404, "not_found"),
        (HTTPException(405), 405, "method_not_allowed"),
        (HTTPException(415), 415, "unsupported_media_type"),
        (HTTPException(401), 401, "missing_credentials"),
        (HTTPException(400, "anything at all"), 400, "validation_error"),
        (HTTPException(409), 400, "validation_error"),
        (HTTPException(503), 500, "internal_error"),
        (UnsupportedMediaTypeProblem(detail="x"), 415, "unsupported_media_type"),
        (NonConformingResponseBody(detail="x"), 500, "internal_error"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), 400, "invalid_json"),
        (json.JSONDecodeError("bad", "{", 0), 400, "invalid_json"),
        (KeyError("bug"), 500, "internal_error"),
        (PriceNotFound(), 400, "price_not_found"),
    ],
)
def test_each_exception_class_and_status_maps_to_one_documented_error(exc: Exception, status: int, code: str) -> None:
    error = to_api_error(exc)
    assert (error.status_code, error.code) == (status, code)


def test_the_mapping_does_not_read_messages() -> None:
    """The same class and status with different words is the same error."""
    for detail in ("Invalid authorization header", "No authorization token provided", "Request body must not be empty"):
        assert to_api_error(HTTPException(401, detail)).code == "missing_credentials"
        assert to_api_error(HTTPException(400, detail)).code == "validation_error"
