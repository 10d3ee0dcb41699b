"""The proxy's verdict: the contract suite's checks on one observed exchange with the faulty deployment."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from billing_contract.checks import session_problem
from billing_contract.verdict import Verdict, Violation
from mock_server.spec import load_spec
from tests.faulty_app import ORGANIZATIONS, create_faulty_app

judge = Verdict(load_spec().copy_raw()).judge

ALPHA = {"Authorization": "Bearer sk_live_alpha"}
URLS = {"successUrl": "https://app.alpha.test/done", "cancelUrl": "https://app.alpha.test/back"}
GET = ("GET", "/account/organization", None)
POST = ("POST", "/billing", URLS)
MESSAGE_PRICE = ("POST", "/billing", {**URLS, "messagePriceId": "plan_msgs_10k"})


def exchange(fault: str | None, request: tuple[str, str, Any], variant: str | None = None) -> list[Violation]:
    """Send ``request`` to the faulty deployment and judge what came back."""
    method, path, body = request
    with TestClient(create_faulty_app(fault, variant=variant), base_url="http://alpha.test") as client:
        headers = {**ALPHA, **({"Content-Type": "application/json"} if body is not None else {})}
        answer = client.request(method, path, headers=headers, content=None if body is None else json.dumps(body))
    lowered = {name.lower(): value for name, value in headers.items()}
    return judge(method, path, lowered, body, answer.status_code, answer.headers.multi_items(), answer.content)


@pytest.mark.parametrize(
    ("fault", "request_", "check"),
    [
        ("missing_field", GET, "response_schema_conformance"),
        ("wrong_type", GET, "response_schema_conformance"),
        ("unknown_enum", GET, "response_schema_conformance"),
        ("null_field", POST, "response_schema_conformance"),
        ("malformed_date", GET, "anniversary_date_is_a_date"),
        ("wrong_content_type", GET, "content_type_conformance"),
        ("undocumented_status", POST, "status_code_conformance"),
        ("error_without_tracking", ("POST", "/billing", {"successUrl": 1}), "error_body_documented"),
        ("session_without_price", POST, "session_exactly_with_a_price"),
        ("session_needs_both_prices", MESSAGE_PRICE, "session_exactly_with_a_price"),
    ],
)
def test_a_faulty_answer_is_named_by_its_check(fault: str, request_: tuple[str, str, Any], check: str) -> None:
    violations = exchange(fault, request_)
    assert check in {violation.check for violation in violations}, violations
    assert all(violation.message for violation in violations)


@pytest.mark.parametrize("variant", [None, "extra_fields", "optional_fields_left_out", "charset", "gateway_401"])
@pytest.mark.parametrize("request_", [GET, POST, MESSAGE_PRICE, ("POST", "/billing", {"successUrl": 1})])
def test_a_correct_answer_has_no_violation(variant: str | None, request_: tuple[str, str, Any]) -> None:
    assert exchange(None, request_, variant) == []


def test_the_reference_contract_gives_401_no_body() -> None:
    """The 401 body is the mock's promise: a gateway's own 401 body breaks nothing."""
    body = b'{"message":"Unauthorized"}'
    headers = [("content-type", "application/json")]
    assert judge("GET", "/account/organization", {}, None, 401, headers, body) == []
    found = judge("POST", "/billing", {"content-type": "application/json"}, URLS, 400, headers, body)
    assert [violation.check for violation in found] == ["response_schema_conformance", "error_body_documented"]


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, b"[" * 5000 + b"]" * 5000), (200, b"not json"), (200, b""), (400, b"\xff\xfe"), (200, b"1e999999")],
)
def test_an_unreadable_answer_is_a_violation_not_a_crash(status: int, body: bytes) -> None:
    headers = [("content-type", "application/json")]
    found = judge(
        "POST", "/billing", {"content-type": "application/json"}, {**URLS, "budgetPriceId": "p"}, status, headers, body
    )
    assert "response_schema_conformance" in {violation.check for violation in found}


@pytest.mark.parametrize(
    ("status", "headers"), [(429, []), (429, [("Retry-After", "5")]), (503, [("retry-after", "2")])]
)
def test_throttling_is_not_a_violation(status: int, headers: list[tuple[str, str]]) -> None:
    """A rate limiter's 429 (or 503 with Retry-After) keeps the contract: the suite waits it out."""
    answer = [*headers, ("content-type", "text/plain")]
    assert judge("GET", "/account/organization", {}, None, status, answer, b"slow down") == []


def test_an_unthrottled_503_is_judged() -> None:
    found = judge("GET", "/account/organization", {}, None, 503, [("content-type", "text/plain")], b"down")
    assert [violation.check for violation in found] == ["status_code_conformance"]


@pytest.mark.parametrize("kind", ["text/plain", None, "application/x-www-form-urlencoded"])
def test_a_request_of_a_shape_the_document_does_not_give_is_not_judged(kind: str | None) -> None:
    """The document says nothing of the answer to a body it does not take (Schemathesis skips such probes)."""
    headers = {"content-type": kind} if kind else {}
    answer = [("content-type", "application/json")]
    body = b'{"trackingId": "t", "error": {"code": "unsupported_media_type"}}'
    assert judge("POST", "/billing", headers, None, 415, answer, body, body_sent=True) == []


def test_a_json_request_answered_with_an_undocumented_status_is_judged() -> None:
    headers = {"content-type": "application/json; charset=utf-8"}
    answer = [("content-type", "application/json")]
    found = judge("POST", "/billing", headers, URLS, 415, answer, b"{}", body_sent=True)
    assert "status_code_conformance" in {violation.check for violation in found}


def test_an_operation_the_document_does_not_give_is_not_judged() -> None:
    assert judge("GET", "/elsewhere", {}, None, 500, [], b"") == []


@pytest.mark.parametrize(
    ("body", "answer", "problem"),
    [
        (URLS, {"sessionId": "cs_1", "url": "https://pay"}, "no sessionId or url without a price"),
        ({**URLS, "budgetPriceId": "p"}, {}, "sessionId and an absolute http(s) url, since budgetPriceId was given"),
        ({**URLS, "budgetPriceId": "p"}, {"sessionId": "", "url": "https://pay"}, "sessionId and an absolute"),
        (URLS, {"stripeCustomerId": "cus_1"}, None),
        ({**URLS, "messagePriceId": "p"}, {"sessionId": "cs_1", "url": "https://pay"}, None),
    ],
)
def test_the_session_rule(body: dict[str, Any], answer: dict[str, Any], problem: str | None) -> None:
    found = session_problem(body, answer)
    assert found == problem if problem is None else found is not None and found.startswith(problem)


ORGANIZATION = ORGANIZATIONS["acct_alpha"]


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({**ORGANIZATION, "costCap": float("nan")}).encode(),  # Python's reader takes NaN
        json.dumps({**ORGANIZATION, "messagesCap": float("inf")}).encode(),
        b"\xef\xbb\xbf" + json.dumps(ORGANIZATION).encode(),  # a byte order mark
        json.dumps({**ORGANIZATION, "name": "B\u00eata"}, ensure_ascii=False).encode("latin-1"),  # not UTF-8
    ],
)
def test_json_that_rfc_8259_refuses_is_a_violation(body: bytes) -> None:
    found = judge("GET", "/account/organization", {}, None, 200, [("content-type", "application/json")], body)
    assert "strict_json" in {violation.check for violation in found}, found


def test_utf8_beyond_ascii_with_a_charset_is_strict_json() -> None:
    body = json.dumps({**ORGANIZATION, "name": "Bêta ✓"}, ensure_ascii=False).encode()
    answer = [("content-type", "application/json; charset=utf-8")]
    assert judge("GET", "/account/organization", {}, None, 200, answer, body) == []


def test_a_null_subscription_status_is_no_violation() -> None:
    body = json.dumps({**ORGANIZATION, "stripeCustomerId": "cust_1", "subscriptionStatus": None}).encode()
    found = judge(
        "POST",
        "/billing",
        {"content-type": "application/json"},
        URLS,
        200,
        [("content-type", "application/json")],
        body,
    )
    assert found == []
