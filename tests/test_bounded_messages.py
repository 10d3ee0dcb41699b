"""Hostile request bodies get the documented 400 with a short message: at every depth, whatever their size."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from mock_server.schemas import compile_schema
from mock_server.spec import ApiSpec

from .conftest import VALID_BODY, bearer

PAID = {**bearer("sk_test_paid_org"), "content-type": "application/json"}
SHORT = 300  # characters of error.message, whatever the input
DEPTHS = [1, 2, 3, 63, 64, 65, 499, 500, 501, 899, 900, 901, 989, 990, 999, 1000, 1001, 1010, 1022, 1023, 1024]


def nested(depth: int, inner: bytes = b"") -> bytes:
    """A JSON array ``depth`` levels deep (1: ``[]``)."""
    return b"[" * depth + inner + b"]" * depth


def deep_bodies(depth: int) -> dict[str, bytes]:
    """Bodies that are ``depth`` levels deep in all (the object around a value counts as one)."""
    return {
        "a list": nested(depth),
        "a list as successUrl": b'{"successUrl": ' + nested(depth - 1) + b', "cancelUrl": "x"}',
        "objects in an unknown field": b'{"a":' * depth + b"1" + b"}" * depth,
        "a list as messagePriceId": b'{"messagePriceId": '
        + nested(depth - 1)
        + b', "successUrl": "http://a.test", "cancelUrl": "http://a.test"}',
    }


def assert_short_400(answer: Any, code: str) -> str:
    assert answer.status_code == 400, answer.text[:500]
    error = answer.json()["error"]
    assert error["code"] == code, error
    assert len(error["message"]) <= SHORT, len(error["message"])
    assert set(answer.json()) == {"trackingId", "error"}
    return str(error["message"])


@pytest.mark.parametrize("depth", DEPTHS)
def test_a_deep_body_gets_the_documented_400_with_a_short_message(client: TestClient, depth: int) -> None:
    for name, body in deep_bodies(depth).items():
        if name != "a list" and depth < 2:
            continue
        answer = client.post("/billing", content=body, headers=PAID)
        message = assert_short_400(answer, "validation_error")
        if name == "a list":
            assert message == f"a list of {min(depth - 1, 1)} item{'s' if depth == 1 else ''} is not of type 'object'"


@pytest.mark.parametrize("depth", [1025, 1026, 5000])
def test_past_1024_levels_the_body_is_not_read(client: TestClient, depth: int) -> None:
    answer = client.post("/billing", content=nested(depth), headers=PAID)
    assert "depth" in assert_short_400(answer, "invalid_json")


@pytest.mark.parametrize("depth", [2, 500, 900, 1000, 1023])
@pytest.mark.parametrize("field", ["status", "organizationId"])
def test_the_mock_routes_answer_a_deep_json_field_with_a_short_400(client: TestClient, depth: int, field: str) -> None:
    fields = {"organizationId": b'"org_paid_demo"', "status": b"402", field: nested(depth - 1)}
    body = b"{" + b", ".join(b'"%s": %s' % (name.encode(), value) for name, value in fields.items()) + b"}"
    answer = client.post("/__mock__/sticky", content=body, headers={"content-type": "application/json"})
    assert "a list of" in assert_short_400(answer, "validation_error")


@pytest.mark.parametrize("depth", [2, 900, 1023])
def test_the_checkout_answers_a_deep_action_with_a_short_400(client: TestClient, depth: int) -> None:
    made = client.post("/billing", json={**VALID_BODY, "messagePriceId": "price_message_starter"}, headers=PAID)
    url = made.json()["url"]
    answer = client.post(
        url, content=b'{"action": ' + nested(depth - 1) + b"}", headers={"content-type": "application/json"}
    )
    assert "action must be 'pay' or 'cancel', got a list" in assert_short_400(answer, "validation_error")


LONG = "x" * 60_000


@pytest.mark.parametrize(
    ("body", "code", "quoted"),
    [
        ({**VALID_BODY, "successUrl": "http://a.test/" + LONG}, "invalid_url", "(60,014 characters in all)"),
        ({**VALID_BODY, "messagePriceId": LONG}, "price_not_found", "(60,000 characters in all)"),
        ({**VALID_BODY, "successUrl": [1] * 20_000}, "validation_error", "a list of 20,000 items is not of type"),
        ({**VALID_BODY, "budgetPriceId": {LONG: 1}}, "validation_error", "a mapping of 1 key is not of type 'string'"),
        ({"successUrl": 1, LONG: 1}, "validation_error", "'cancelUrl' is a required property"),
    ],
)
def test_a_large_body_is_quoted_in_a_short_excerpt(client: TestClient, body: Any, code: str, quoted: str) -> None:
    raw = json.dumps(body).encode()
    assert len(raw) < 64 * 1024
    assert quoted in assert_short_400(client.post("/billing", content=raw, headers=PAID), code)


def test_a_long_media_type_is_quoted_in_a_short_excerpt(client: TestClient) -> None:
    for content_type in ("text/" + "x" * 10_000, "application/json; charset=" + "x" * 10_000):
        answer = client.post("/billing", content=b"{}", headers={**PAID, "content-type": content_type})
        assert answer.status_code == 415
        assert len(answer.json()["error"]["message"]) <= SHORT


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/__mock__/" + "x" * 10_000), ("DELETE", "/__mock__/checkout/cs_test_" + "x" * 10_000)]
)
def test_a_long_mock_route_is_quoted_in_a_short_excerpt(client: TestClient, method: str, path: str) -> None:
    answer = client.request(method, path + "?" + "y" * 5_000)
    assert answer.status_code in (404, 405)
    assert len(answer.json()["error"]["message"]) <= SHORT


def test_the_reason_of_a_deep_instance_is_still_the_schemas_verdict(spec: ApiSpec) -> None:
    """Below the levels a schema reads, the instance is emptied for wording the reason: the verdict is the same."""
    nested_lists = {"type": "array", "items": {"type": "array", "minItems": 1}}
    for schema in (nested_lists, {"oneOf": [nested_lists]}):  # compiled, and checked by jsonschema alone
        check = compile_schema(schema, request=True)
        deep = orjson.loads(nested(1000, b"1"))
        assert check(deep) is None
        assert check([[]]) is not None  # minItems of a level the schema reads
        assert check([deep[0], 1]) is not None
        reason = check([orjson.loads(nested(900))[0], []])
        assert reason is not None and len(reason) <= SHORT
    whole_values = compile_schema({"properties": {"a": {"enum": [[[1]]]}}})  # the one value allowed: [[1]]
    assert whole_values({"a": [[1]]}) is None and whole_values({"a": [[2]]}) is not None
    assert compile_schema(spec.schema("BillingRequest"), request=True)(orjson.loads(nested(1024))) == (
        "a list of 1 item is not of type 'object'"
    )
