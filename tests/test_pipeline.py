"""The one request pipeline: every kind of request, its answer, and the parts it is built from."""

from __future__ import annotations

import ast
import asyncio
import base64
import datetime as dt
import json
import pathlib
import re
from typing import Any

import pytest
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from starlette.testclient import TestClient

import mock_server
from mock_server import create_app
from mock_server.clock import Clock
from mock_server.schemas import compile_schema
from mock_server.spec import load_spec, register_date_format

from .conftest import BASE_URL, basic, bearer

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
URLS = {"successUrl": "https://app.example.com/ok", "cancelUrl": "https://app.example.com/cancel"}
JSON = {"content-type": "application/json"}
PAID = bearer("sk_test_paid_org")
ORG = "/account/organization"


def _body(**fields: Any) -> bytes:
    return json.dumps({**URLS, **fields}).encode()


# (method, path + query, headers, body) -> (status, error code or None): the happy paths and every way to leave them.
REQUESTS: list[tuple[tuple[str, str, dict[str, str], bytes | None], tuple[int, str | None]]] = [
    (("GET", ORG, PAID, None), (200, None)),
    (("GET", ORG, bearer("sk_test_free_org"), None), (200, None)),
    (("GET", ORG, basic("client_paid_org", "secret_paid_org"), None), (200, None)),
    (("GET", ORG, basic("client_paid_org", "wrong"), None), (401, "invalid_credentials")),
    (("GET", ORG, {"authorization": "Basic !!!"}, None), (401, "malformed_credentials")),
    (
        ("GET", ORG, {"authorization": "Basic " + base64.b64encode(b"nocolon").decode()}, None),
        (401, "malformed_credentials"),
    ),
    (("GET", ORG, {}, None), (401, "missing_credentials")),
    (("GET", ORG, {"authorization": "  "}, None), (401, "missing_credentials")),
    (("GET", ORG, bearer("sk_test_nobody"), None), (401, "invalid_credentials")),
    (("GET", ORG, {"authorization": "bearer  sk_test_paid_org"}, None), (200, None)),
    (("GET", ORG, {"authorization": "Bearer"}, None), (401, "malformed_credentials")),
    (("GET", ORG, {"authorization": "Token sk_test_paid_org"}, None), (401, "malformed_credentials")),
    (("GET", ORG + "?expand=all", PAID, None), (200, None)),
    (("HEAD", ORG, PAID, None), (200, None)),
    (("PUT", ORG, PAID, None), (405, "method_not_allowed")),
    (("GET", ORG, {**PAID, "prefer": "code=402"}, None), (402, "usage_limit_exceeded")),
    (("GET", ORG, {**PAID, "prefer": "example=paid"}, None), (200, None)),
    (("GET", ORG, {**PAID, "prefer": "code=999"}, None), (400, "invalid_prefer")),
    (("GET", ORG, {**PAID, "prefer": "code=4\u00b2\u00b2".encode().decode("latin-1")}, None), (400, "invalid_prefer")),
    (("GET", ORG, {**PAID, "prefer": "delay=" + "9" * 5000}, None), (400, "invalid_prefer")),
    (("GET", "/nowhere", PAID, None), (404, "not_found")),
    (("POST", "/billing", {**PAID, **JSON}, _body()), (200, None)),
    (("POST", "/billing", {**PAID, **JSON}, _body(messagePriceId="price_message_growth")), (200, None)),
    (("POST", "/billing", {**PAID, **JSON}, _body(budgetPriceId="price_message_growth")), (400, "price_wrong_tier")),
    (("POST", "/billing", {**PAID, **JSON}, _body(messagePriceId="price_nope")), (400, "price_not_found")),
    (("POST", "/billing", {**PAID, **JSON}, _body(successUrl="not a url")), (400, "invalid_url")),
    (("POST", "/billing", {**PAID, **JSON}, _body(extra=[1, 2])), (200, None)),
    (
        ("POST", "/billing", {**PAID, **JSON}, json.dumps({"successUrl": "https://a.example"}).encode()),
        (400, "validation_error"),
    ),
    (("POST", "/billing", {**PAID, **JSON}, _body(messagePriceId=7)), (400, "validation_error")),
    (("POST", "/billing", {**PAID, **JSON}, json.dumps([URLS]).encode()), (400, "validation_error")),
    (("POST", "/billing", {**PAID, **JSON}, b"null"), (400, "validation_error")),
    (("POST", "/billing", {**PAID, **JSON}, b"{not json"), (400, "invalid_json")),
    (
        ("POST", "/billing", {**PAID, **JSON}, b'{"successUrl": "https://a.example", "cancelUrl": NaN}'),
        (400, "invalid_json"),
    ),
    (("POST", "/billing", {**PAID, **JSON}, b'\xef\xbb\xbf{"successUrl": "https://a.example"}'), (400, "invalid_json")),
    (("POST", "/billing", {**PAID, **JSON}, b"\xff\xfe"), (400, "invalid_json")),
    (
        ("POST", "/billing", {**PAID, **JSON}, b'{"successUrl": "https://a.example/\\ud800", "cancelUrl": "x"}'),
        (400, "invalid_json"),
    ),
    (("POST", "/billing", {**PAID, **JSON}, b"[" * 5000 + b"]" * 5000), (400, "invalid_json")),
    (("POST", "/billing", {**PAID, **JSON}, b'{"messagePriceId": ' + b"9" * 5000 + b"}"), (400, "invalid_json")),
    (("POST", "/billing", {**PAID, **JSON}, b""), (400, "validation_error")),
    (("POST", "/billing", {**PAID, "content-type": "text/plain"}, _body()), (415, "unsupported_media_type")),
    (("POST", "/billing", {**PAID, "content-type": "application/json; charset=utf-8"}, _body()), (200, None)),
    (("POST", "/billing", {**PAID, "content-type": "APPLICATION/JSON; Charset=UTF-8"}, _body()), (200, None)),
    (
        ("POST", "/billing", {**PAID, "content-type": "APPLICATION/JSON"}, _body(messagePriceId=7)),
        (400, "validation_error"),
    ),
    (
        ("POST", "/billing", {**PAID, "content-type": "application/json; charset=latin-1"}, _body()),
        (415, "unsupported_media_type"),
    ),
    (("POST", "/billing", PAID, _body()), (200, None)),
    (("POST", "/billing", JSON, _body()), (401, "missing_credentials")),
    (("POST", "/billing", {**bearer("sk_test_stripe_error_org"), **JSON}, _body()), (502, "provider_error")),
    (("POST", "/billing", {**PAID, **JSON, "prefer": "example=price_not_found"}, _body()), (400, "price_not_found")),
    (("POST", "/billing", {**PAID, **JSON}, _body(successUrl="x" * 70_000)), (400, "body_too_large")),
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
    }


async def _call(app: Any, method: str, target: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any]:
    messages = [{"type": "http.request", "body": body or b"", "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(method, target, headers, body), receive, send)
    content = b"".join(message.get("body", b"") for message in sent[1:])
    return {"status": sent[0]["status"], "headers": dict(sent[0]["headers"]), "body": content}


def test_every_kind_of_request_gets_its_documented_answer() -> None:
    app = create_app(clock=Clock(NOW))
    spec = load_spec()
    statuses = {op["path"]: spec.documented_statuses(op["operationId"]) for op in spec.operations.values()}

    async def run() -> None:
        for request, (status, code) in REQUESTS:
            got = await _call(app, *request)
            where = f"{request[0]} {request[1]} {request[2]} {(request[3] or b'')[:60]!r}"
            assert got["status"] == status, f"{where}: {got['status']} {got['body'][:300]!r}"
            assert got["headers"][b"content-type"] == b"application/json", where
            answer = json.loads(got["body"])
            if code is not None:
                assert answer["error"]["code"] == code, where
                assert answer["trackingId"] == got["headers"][b"x-tracking-id"].decode(), where
            if request[1] in statuses and status not in (405,):
                assert status in statuses[request[1]] or code == "unsupported_media_type", where

    asyncio.run(run())


def test_credentials_come_before_the_body_and_the_body_before_a_forced_answer() -> None:
    app = create_app(clock=Clock(NOW))
    prefer = {"prefer": "code=402"}

    async def status(headers: dict[str, str], body: bytes) -> tuple[int, str]:
        got = await _call(app, "POST", "/billing", {**JSON, **prefer, **headers}, body)
        return got["status"], json.loads(got["body"])["error"]["code"]

    async def run() -> None:
        assert await status(bearer("sk_test_nobody"), b"{not json") == (401, "invalid_credentials")
        assert await status(PAID, b"{not json") == (400, "invalid_json")
        assert await status(PAID, _body()) == (402, "usage_limit_exceeded")

    asyncio.run(run())


def test_a_non_conforming_answer_is_a_500_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from mock_server import api

    async def broken(services: Any, *, user: str, sandbox: Any) -> tuple[dict[str, Any], int]:
        return {**(await sandbox.get(user)).organization, "organizationType": "enterprise"}, 200

    monkeypatch.setitem(api.OPERATIONS, "accountGetOrganization", broken)
    app = create_app(clock=Clock(NOW))
    got = asyncio.run(_call(app, "GET", ORG, PAID, None))
    assert got["status"] == 500
    assert json.loads(got["body"])["error"]["code"] == "internal_error"
    assert b"enterprise" not in got["body"]
    assert "enterprise" in caplog.text and "does not conform" in caplog.text


def test_the_handler_gets_what_it_declares_from_the_request_state(monkeypatch: pytest.MonkeyPatch) -> None:
    from mock_server import api

    seen: dict[str, Any] = {}

    async def spy(services: Any, *, user: str, state: Any, origin: str) -> tuple[dict[str, Any], int]:
        seen.update(user=user, tracking_id=state.tracking_id, origin=origin)
        return services.store.tenants[user].organization | {"organizationId": user}, 200

    monkeypatch.setitem(api.OPERATIONS, "accountGetOrganization", spy)
    app = create_app(clock=Clock(NOW))
    got = asyncio.run(_call(app, "GET", ORG, PAID, None))
    assert seen == {
        "user": "org_paid_demo",
        "tracking_id": got["headers"][b"x-tracking-id"].decode(),
        "origin": "http://127.0.0.1:8080",
    }


def test_no_module_uses_a_private_connexion_name() -> None:
    """Connexion's public classes and functions only: no ``_name`` imported, read or overridden."""
    package = pathlib.Path(mock_server.__file__).parent
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("connexion"):
                for alias in node.names:
                    assert not alias.name.startswith("_"), f"{path.name} imports {node.module}.{alias.name}"
                    imported.add(alias.asname or alias.name)
            if isinstance(node, ast.Attribute) and re.fullmatch(r"_[a-z]\w*", node.attr):
                base = node.value
                if isinstance(base, ast.Name) and base.id in imported:
                    raise AssertionError(f"{path.name}:{node.lineno} reads {base.id}.{node.attr}")
        for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
            bases = {base.id for base in cls.bases if isinstance(base, ast.Name)} | {
                base.value.id
                for base in cls.bases
                if isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name)
            }
            if bases & imported:
                for node in ast.walk(cls):
                    if isinstance(node, ast.FunctionDef):
                        assert not re.fullmatch(r"_[a-z]\w*", node.name), (
                            f"{path.name}: {cls.name} overrides {node.name}"
                        )
                    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                        assert not node.attr.startswith("_"), f"{path.name}: {cls.name} uses self.{node.attr}"


def test_prefer_is_declared_on_every_operation_that_honours_it(spec: Any) -> None:
    for operation_id, operation in spec.operations.items():
        names = {(parameter["in"], parameter["name"]) for parameter in operation.get("parameters", [])}
        assert ("header", "Prefer") in names, operation_id


def test_an_unknown_example_names_the_operation_that_has_it() -> None:
    with TestClient(create_app(clock=Clock(NOW)), base_url=BASE_URL) as client:
        answer = client.get(ORG, headers={**PAID, "Prefer": "example=price_not_found"})
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert "GET /account/organization" in message
    assert "it is an example of POST /billing" in message
    assert "Examples here: free, paid" in message


def test_swagger_ui_lists_this_mock_first_and_keeps_the_production_servers(spec: Any) -> None:
    with TestClient(create_app(clock=Clock(NOW)), base_url="http://localhost:9000") as client:
        document = client.get("/openapi.json").json()
        yaml_text = client.get("/openapi.yaml").text
        ui = client.get("/ui/")
    assert document["servers"][0]["url"] == "http://localhost:9000"
    production = [server["url"] for server in spec.raw["servers"]]
    assert [server["url"] for server in document["servers"][1:]] == [
        url for url in production if url != "http://localhost:9000"
    ]
    assert "url: http://localhost:9000" in yaml_text
    assert ui.status_code == 200 and "swagger" in ui.text.lower()


def test_the_request_log_gives_iso_8601_times() -> None:
    with TestClient(create_app(clock=Clock(NOW)), base_url=BASE_URL) as client:
        client.get(ORG, headers=PAID)
        entries = client.get("/__mock__/requests").json()
    entry = entries[-1] if isinstance(entries, list) else entries["requests"][-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"]), entry["time"]


# The compiled checks agree with jsonschema's Draft 4 validators, as Connexion configures them.

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
def test_compiled_checks_agree_with_jsonschema(name: str, data: st.DataObject) -> None:
    register_date_format()
    schema = SPEC.schema(name)
    instance = data.draw(_instances(schema) if "properties" in schema else JSON_VALUES)
    for validator, request in ((Draft4RequestValidator, True), (Draft4ResponseValidator, False)):
        expected = validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER).is_valid(instance)
        reason = compile_schema(schema, request=request)(instance)
        assert (reason is None) is expected, (instance, reason)


def test_schemas_outside_the_compiled_keywords_are_still_checked() -> None:
    pattern = compile_schema({"type": "string", "pattern": "^a"})
    assert pattern("abc") is None and pattern("b") is not None
    one_of = compile_schema({"oneOf": [{"type": "string"}, {"type": "integer"}]})
    assert one_of("x") is None and one_of([1]) is not None
    nullable = compile_schema({"type": "string", "enum": ["a"], "nullable": True})
    assert nullable(None) is None and nullable("a") is None and nullable("b") is not None
    assert compile_schema({"type": "object", "required": ["a"]})({}) == "'a' is a required property"
    assert compile_schema({"properties": {"a": {"type": "string"}}})({"a": 7}) == "7 is not of type 'string' - 'a'"


def test_the_module_map_names_every_module() -> None:
    root = pathlib.Path(mock_server.__file__).parent.parent
    text = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    for package in ("mock_server", "mock_server/api", "contract_tests", "billing_contract"):
        for module in sorted((root / package).glob("*.py")):
            assert re.search(rf"^\s+{re.escape(module.name)}\s", text, re.M), (
                f"{package}/{module.name} is not in the map"
            )
