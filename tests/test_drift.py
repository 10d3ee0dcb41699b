"""billing_contract.drift: the observations of many answers, grouped, bounded and redacted, on a small document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from billing_contract.drift import Drift
from billing_contract.drift_report import markdown, report_format, summary, write_report

JSON = [("content-type", "application/json")]
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "paths": {
        "/things": {
            "get": {
                "responses": {
                    "200": {
                        "description": "ok",
                        "headers": {"X-Page": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}},
                    },
                    "4XX": {"$ref": "#/components/responses/Error"},
                }
            }
        }
    },
    "components": {
        "responses": {
            "Error": {
                "description": "error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        },
        "schemas": {
            "Error": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}},
            "Page": {
                "allOf": [
                    {"type": "object", "properties": {"total": {"type": "integer"}}},
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}},
                            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                            "free": {"type": "object"},
                        },
                    },
                ]
            },
            "Thing": {
                "oneOf": [
                    {"type": "object", "properties": {"kind": {"type": "string", "enum": ["a"]}, "a": {}}},
                    {"type": "object", "properties": {"kind": {"type": "string", "enum": ["b"]}, "b": {}}},
                ]
            },
        },
    },
}


def page(**more: Any) -> bytes:
    return json.dumps({"total": 1, "items": [{"kind": "b", "b": 1}], **more}).encode()


def facts(drift: Drift) -> dict[tuple[str, str], dict[str, Any]]:
    (operation,) = drift.report()["operations"]
    return {
        (fact["kind"], fact.get("path") or fact.get("name") or fact["status"]): fact
        for fact in operation["undocumented"]
    }


def test_an_answer_that_keeps_to_the_document_shows_nothing() -> None:
    drift = Drift(DOCUMENT)
    drift.observe("GET", "/things", 200, [*JSON, ("x-page", "2"), ("date", "now")], page(labels={"k": "v"}), [])
    drift.observe("GET", "/things", 404, JSON, b'{"code": "gone"}', [])
    report = drift.report()
    assert report["exchanges"] == 2 and report["undocumented"] == 0 and report["violations"] == 0
    assert not drift.violated


def test_fields_are_found_through_refs_all_of_one_of_and_arrays_but_not_under_free_objects() -> None:
    drift = Drift(DOCUMENT)
    body = page(region="eu", items=[{"kind": "b", "b": 1, "extra": [1]}], free={"any": 1}, labels={"x": "y"})
    drift.observe("GET", "/things", 200, JSON, body, [])
    found = facts(drift)
    assert set(found) == {("field", "$.region"), ("field", "$.items[].extra")}
    assert found[("field", "$.region")]["where"] == "/components/schemas/Page"
    assert found[("field", "$.region")]["types"] == ["string"]
    assert found[("field", "$.items[].extra")]["where"] == "/components/schemas/Thing/oneOf/1"


def test_enum_values_statuses_media_types_and_headers_the_document_does_not_name() -> None:
    drift = Drift(DOCUMENT)
    drift.observe("GET", "/things", 200, [*JSON, ("x-rate", "5")], page(items=[{"kind": "c"}]), [])
    drift.observe("GET", "/things", 200, [("content-type", "text/csv")], b"a,b", [])
    drift.observe("GET", "/things", 503, JSON, b'{"code": "busy"}', [])
    found = facts(drift)
    assert found[("enum", "$.items[].kind")]["value"] == '"c"'
    assert found[("header", "x-rate")]["where"] == "/paths/~1things/get/responses/200"
    assert found[("mediaType", "200")]["mediaType"] == "text/csv"
    assert found[("status", "503")]["where"] == "/paths/~1things/get/responses"
    assert found[("status", "503")]["errorSchema"] == "#/components/schemas/Error", "its body is the error body"


def test_violations_are_grouped_by_operation_and_check_with_counts_and_one_example() -> None:
    drift = Drift(DOCUMENT)
    for total in range(3):
        drift.observe("GET", "/things", 200, JSON, page(total=str(total)), [("response_schema_conformance", "bad")])
    drift.observe("GET", "/things", 200, JSON, page(), [("strict_json", "nan")])
    (operation,) = drift.report()["operations"]
    groups = operation["violations"]
    assert [(group["check"], group["count"]) for group in groups] == [
        ("response_schema_conformance", 3),
        ("strict_json", 1),
    ], "the worst first"
    assert '"total":"0"' in groups[0]["example"]["answer"]["body"], "the first answer is the example"
    assert groups[0]["firstSeen"] <= groups[0]["lastSeen"]
    assert drift.violated


def test_no_credential_in_the_report() -> None:
    drift = Drift(DOCUMENT)
    body = page(apiKey="sk_live_other", echo="Bearer sk_live_alpha", nested={"clientSecret": "pw"})
    request = {"successUrl": "https://x.test/?key=sk_live_alpha", "token": "tok_1"}
    drift.observe("GET", "/things", 200, JSON, body, [("c", "m")], request_body=request, hidden=("sk_live_alpha",))
    text = json.dumps(drift.report())
    for secret in ("sk_live_other", "sk_live_alpha", "pw", "tok_1"):
        assert secret not in text
    assert "[redacted]" in text


def test_memory_is_bounded_and_counts_go_on() -> None:
    drift = Drift(DOCUMENT, max_groups=3)
    for index in range(50):
        drift.observe("GET", "/things", 200, JSON, page(**{f"field{index}": index}), [("c", "m")])
    report = drift.report()
    assert report["violations"] == 50, "the group kept keeps counting"
    assert report["undocumented"] == 2 and report["omitted"] == 48
    drift.observe("GET", "/things", 200, JSON, json.dumps({"items": [{"kind": "b"}] * 10_000}).encode(), [])
    drift.clear()
    assert drift.report()["exchanges"] == 0 and not drift.violated


def test_a_body_that_is_not_json_or_too_deep_is_no_crash() -> None:
    drift = Drift(DOCUMENT)
    drift.observe("GET", "/things", 200, JSON, b"{not json", [("strict_json", "not JSON")])
    drift.observe("GET", "/things", 200, JSON, b"[" * 1000 + b"]" * 1000, [])
    drift.observe("GET", "/things", 200, JSON, None, [("answer_too_large_to_judge", "big")])
    drift.observe("POST", "/nowhere", 200, JSON, b"{}", [])
    assert drift.report()["violations"] == 2


def test_json_and_markdown_by_extension(tmp_path: Path) -> None:
    drift = Drift(DOCUMENT)
    drift.observe("GET", "/things", 200, JSON, page(region="eu|west"), [("response_schema_conformance", "bad")])
    report = drift.report()
    write_report(tmp_path / "drift.json", report)
    write_report(tmp_path / "drift.md", report)
    assert json.loads((tmp_path / "drift.json").read_text())["operations"][0]["operation"] == "GET /things"
    text = (tmp_path / "drift.md").read_text()
    assert text == markdown(report) and "## GET /things" in text and "eu\\|west" in text
    assert "response_schema_conformance x1" in summary(report)
    with pytest.raises(ValueError, match=r"must end in \.json or \.md"):
        report_format(tmp_path / "drift.txt")
