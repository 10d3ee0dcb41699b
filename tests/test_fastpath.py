"""The fast path answers exactly as Connexion does, and only takes requests it is sure of.

Each request goes to two apps built from the same fixtures and clock: the default one
(fast path first) and one with ``fast_path=False`` (Connexion's middleware stack for
everything). Their answers must match, apart from the ids that are random by design.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import re
from typing import Any

import pytest
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from mock_server import create_app
from mock_server.api import OPERATIONS, make_resolver
from mock_server.api._scenario import operation
from mock_server.clock import Clock
from mock_server.fastpath import FastPath, compile_operations, compile_schema
from mock_server.spec import load_spec, register_date_format
from mock_server.state import RequestState, attach

from .conftest import basic, bearer

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
URLS = {"successUrl": "https://app.example.com/ok", "cancelUrl": "https://app.example.com/cancel"}
RANDOM_IDS = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(cus|cs_test)_[0-9A-Za-z]{21,31}"
)


JSON = {"content-type": "application/json"}
PAID = bearer("sk_test_paid_org")

# (method, path + query, headers, body) — the happy paths and every way to leave them.
REQUESTS: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("GET", "/account/organization", PAID, None),
    ("GET", "/account/organization", bearer("sk_test_free_org"), None),
    ("GET", "/account/organization", bearer("sk_test_downgrade_org"), None),
    ("GET", "/account/organization", basic("client_paid_org", "secret_paid_org"), None),
    ("GET", "/account/organization", basic("client_paid_org", "wrong"), None),
    ("GET", "/account/organization", {"authorization": "Basic !!!"}, None),
    ("GET", "/account/organization", {"authorization": "Basic " + base64.b64encode(b"nocolon").decode()}, None),
    ("GET", "/account/organization", {}, None),
    ("GET", "/account/organization", bearer("sk_test_nobody"), None),
    ("GET", "/account/organization", {"authorization": "Bearer sk_test_paid_org "}, None),
    ("GET", "/account/organization", {"authorization": "bearer  sk_test_paid_org"}, None),
    ("GET", "/account/organization", {"authorization": "Bearer"}, None),
    ("GET", "/account/organization", {"authorization": "Token sk_test_paid_org"}, None),
    ("GET", "/account/organization?expand=all", PAID, None),
    ("GET", "/account/organization/", PAID, None),
    ("HEAD", "/account/organization", PAID, None),
    ("PUT", "/account/organization", PAID, None),
    ("GET", "/account/organization", {**PAID, "prefer": "code=402"}, None),
    ("GET", "/account/organization", {**PAID, "prefer": "example=paid"}, None),
    ("GET", "/account/organization", {**PAID, "prefer": "code=999"}, None),
    ("GET", "/nowhere", PAID, None),
    ("POST", "/billing", {**PAID, **JSON}, json.dumps(URLS).encode()),
    ("POST", "/billing", {**bearer("sk_test_free_org"), **JSON}, json.dumps(URLS).encode()),
    ("POST", "/billing", {**bearer("sk_test_free_org"), **JSON}, json.dumps(URLS).encode()),
    ("POST", "/billing", {**PAID, **JSON}, json.dumps({**URLS, "messagePriceId": "price_message_growth"}).encode()),
    ("POST", "/billing", {**PAID, **JSON}, json.dumps({**URLS, "budgetPriceId": "price_message_growth"}).encode()),
    ("POST", "/billing", {**PAID, **JSON}, json.dumps({**URLS, "messagePriceId": "price_nope"}).encode()),
    ("POST", "/billing", {**PAID, **JSON}, json.dumps({**URLS, "successUrl": "not a url"}).encode()),
    ("POST", "/billing", {**PAID, **JSON}, json.dumps({**URLS, "extra": [1, 2]}).encode()),
    ("POST", "/billing", {**PAID, **JSON}, json.dumps({"successUrl": URLS["successUrl"]}).encode()),
    ("POST", "/billing", {**PAID, **JSON}, json.dumps({**URLS, "messagePriceId": 7}).encode()),
    ("POST", "/billing", {**PAID, **JSON}, json.dumps([URLS]).encode()),
    ("POST", "/billing", {**PAID, **JSON}, b"null"),
    ("POST", "/billing", {**PAID, **JSON}, b"{not json"),
    ("POST", "/billing", {**PAID, **JSON}, b'{"successUrl": "https://a.example", "cancelUrl": NaN}'),
    ("POST", "/billing", {**PAID, **JSON}, b'\xef\xbb\xbf{"successUrl": "https://a.example"}'),
    ("POST", "/billing", {**PAID, **JSON}, b"\xff\xfe"),
    ("POST", "/billing", {**PAID, **JSON}, b""),
    ("POST", "/billing", {**PAID, "content-type": "text/plain"}, json.dumps(URLS).encode()),
    ("POST", "/billing", {**PAID, "content-type": "application/json; charset=utf-8"}, json.dumps(URLS).encode()),
    ("POST", "/billing", {**PAID}, json.dumps(URLS).encode()),
    ("POST", "/billing", JSON, json.dumps(URLS).encode()),
    ("POST", "/billing", {**bearer("sk_test_stripe_error_org"), **JSON}, json.dumps(URLS).encode()),
    ("POST", "/billing", {**PAID, **JSON, "prefer": "example=price_not_found"}, json.dumps(URLS).encode()),
    ("POST", "/billing", {**PAID, **JSON}, json.dumps({**URLS, "successUrl": "x" * 70_000}).encode()),
]


def _scope(method: str, target: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any]:
    path, _, query = target.partition("?")
    raw = [(b"host", b"127.0.0.1:8080"), *((k.lower().encode(), v.encode("latin-1")) for k, v in headers.items())]
    if body is not None:
        raw.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": raw,
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "state": {},
    }


async def _call(app: Any, method: str, target: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any]:
    messages = [{"type": "http.request", "body": body or b"", "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(method, target, headers, body), receive, send)
    start = sent[0]
    content = b"".join(message.get("body", b"") for message in sent[1:])
    names = {name.decode() for name, _ in start["headers"]}
    content_type = dict(start["headers"]).get(b"content-type", b"").decode()
    return {"status": start["status"], "type": content_type, "headers": names, "body": _normalised(content)}


def _normalised(content: bytes) -> Any:
    """The answer with the ids that are random by design replaced by a placeholder."""
    if not content:
        return None
    return json.loads(RANDOM_IDS.sub("<id>", content.decode()))


def _apps() -> tuple[Any, Any]:
    return create_app(clock=Clock(NOW)), create_app(clock=Clock(NOW), fast_path=False)


def test_the_fast_path_answers_every_request_as_connexion_does() -> None:
    fast, connexion = _apps()

    async def both() -> list[tuple[Any, Any]]:
        return [(await _call(fast, *request), await _call(connexion, *request)) for request in REQUESTS]

    for request, (got, expected) in zip(REQUESTS, asyncio.run(both()), strict=True):
        assert got == expected, f"{request[0]} {request[1]} {request[2]} {request[3]!r}"


def test_the_fast_path_takes_the_valid_requests_and_leaves_the_rest_to_connexion() -> None:
    spec = load_spec()
    app = create_app(clock=Clock(NOW), fast_path=False)
    handlers = {"accountGetOrganization", "accountPrepareCheckoutSession"}
    passed: list[str] = []

    async def connexion(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["path"])
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    operations = compile_operations(
        spec,
        make_resolver(app.services).function_resolver,
        {
            "bearer": lambda token: {"sub": "org_paid_demo"} if token == "sk_test_paid_org" else None,
            "basic": lambda username, password: None,
        },
    )
    assert {operation.operation_id for operation in operations.values()} == handlers
    fast = FastPath(connexion, operations)

    async def with_state(scope: Any, receive: Any, send: Any) -> None:
        attach(scope, RequestState("t"))  # what MockServer keeps
        await fast(scope, receive, send)

    async def status(*request: Any) -> int:
        return int((await _call(with_state, *request))["status"])

    async def run() -> None:
        assert await status("GET", "/account/organization", PAID, None) == 200
        assert await status("POST", "/billing", {**PAID, **JSON}, json.dumps(URLS).encode()) == 200
        assert passed == []
        assert await status("GET", "/account/organization", bearer("sk_test_free_org"), None) == 418
        assert await status("POST", "/billing", {**PAID, **JSON}, b"{}") == 418
        assert await status("GET", "/account/organization?x=1", PAID, None) == 418
        assert passed == ["/account/organization", "/billing", "/account/organization"]

    asyncio.run(run())


def test_a_non_conforming_answer_is_a_500_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    @operation("accountGetOrganization")
    async def broken(services: Any, *, user: str) -> tuple[dict[str, Any], int]:
        return {"organizationId": user, "organizationType": "enterprise"}, 200

    monkeypatch.setitem(OPERATIONS, "accountGetOrganization", broken)
    fast, connexion = _apps()

    async def both() -> tuple[Any, Any]:
        request = ("GET", "/account/organization", PAID, None)
        return await _call(fast, *request), await _call(connexion, *request)

    got, expected = asyncio.run(both())
    assert got == expected
    assert got["status"] == 500 and got["body"]["error"]["code"] == "internal_error"


# The compiled validators agree with Connexion's jsonschema validators.

SPEC = load_spec()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
DATES = st.dates().map(dt.date.isoformat) | st.sampled_from(["2026-02-30", "2026-1-01", "20260101", "2026-12-31x"])


def _instances(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid-looking objects for ``schema``, then broken in every way the schema can tell."""
    fields = {}
    for name, sub in schema["properties"].items():
        good: st.SearchStrategy[Any]
        if "enum" in sub:
            good = st.sampled_from(sub["enum"])
        elif sub.get("format") == "date":
            good = DATES
        else:
            good = {"string": st.text(max_size=8), "number": st.integers() | st.floats(allow_nan=False)}.get(
                sub.get("type"), st.booleans()
            )
        fields[name] = good | JSON_VALUES
    return st.fixed_dictionaries({}, optional=fields) | JSON_VALUES


@pytest.mark.parametrize("name", ["BillingRequest", "Organization", "BillingResponse", "ErrorResponse"])
@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_schemas_agree_with_connexion(name: str, data: st.DataObject) -> None:
    register_date_format()
    schema = SPEC.schema(name)
    instance = data.draw(_instances(schema) if "properties" in schema else JSON_VALUES)
    is_valid = compile_schema(schema)
    assert is_valid is not None
    for validator in (Draft4RequestValidator, Draft4ResponseValidator):
        expected = validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER).is_valid(instance)
        assert is_valid(instance) is expected, instance


def test_schemas_the_fast_validator_might_read_differently_are_not_compiled() -> None:
    assert compile_schema({"type": "string", "pattern": "^a"}) is None
    assert compile_schema({"type": "string", "format": "email"}) is None
    assert compile_schema({"type": "object", "properties": {"a": {"readOnly": True}}}) is None
    assert compile_schema({"oneOf": [{"type": "string"}]}) is None
    nullable = compile_schema({"type": "string", "enum": ["a"], "nullable": True})
    assert nullable is not None and nullable(None) and nullable("a") and not nullable("b")
