"""``mock-server --proxy``'s drift report: the project's faulty deployment on a real socket, behind the mock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server import ConfigError, Settings, create_app
from tests.test_proxy import ALPHA, MOCK, SHOWN_BY_ONE_ANSWER, URLS, proxied

pytestmark = pytest.mark.socket


def operation(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(found for found in report["operations"] if found["operation"] == name)


def test_each_fault_is_grouped_under_its_check() -> None:
    for fault, ((method, path, body), check) in sorted(SHOWN_BY_ONE_ANSWER.items()):
        with proxied(fault) as client:
            for _ in range(2):
                client.request(method, path, headers=ALPHA, json=body)
            report = client.get("/__mock__/drift").json()
        groups = {group["check"]: group for group in operation(report, f"{method} {path}")["violations"]}
        assert check in groups, fault
        assert groups[check]["count"] == 2 and groups[check]["example"]["request"]["path"] == path, fault
        assert "sk_live_alpha" not in json.dumps(report), fault


def test_a_deployment_that_adds_fields_and_enum_values_has_them_listed() -> None:
    with proxied(variant="extra_fields") as client:
        client.get("/account/organization", headers=ALPHA)
        client.post("/billing", headers={"Authorization": "Bearer sk_nobody"}, json=URLS)
        report = client.get("/__mock__/drift").json()
    facts = {
        (fact["kind"], fact.get("path")): fact
        for fact in operation(report, "GET /account/organization")["undocumented"]
    }
    assert (
        facts[("field", "$.region")]["types"] == ["string"] and facts[("field", "$.region")]["example"] == '"eu-west"'
    )
    assert facts[("field", "$.features")]["types"] == ["object"]
    assert ("field", "$.features.sso") not in facts, "nothing under a field the document does not name"
    posted = {fact.get("path") for fact in operation(report, "POST /billing")["undocumented"]}
    assert "$.error.docs" in posted
    assert report["violations"] == 0
    with proxied("unknown_enum") as client:
        client.get("/account/organization", headers=ALPHA)
        report = client.get("/__mock__/drift").json()
    (enum,) = [fact for fact in report["operations"][0]["undocumented"] if fact["kind"] == "enum"]
    assert (enum["path"], enum["value"]) == ("$.organizationType", '"enterprise"')


def test_the_report_is_cleared_and_saved_on_demand(tmp_path: Path) -> None:
    saved = tmp_path / "drift.md"
    with proxied("wrong_type", drift_report=saved) as client:
        client.get("/account/organization", headers=ALPHA)
        answer = client.post("/__mock__/drift/save")
        written = saved.read_text()
        cleared = client.delete("/__mock__/drift")
        after = client.get("/__mock__/drift").json()
    assert answer.status_code == 200 and answer.json()["violations"] == 1
    assert "## GET /account/organization" in written and "response_schema_conformance" in written
    assert cleared.status_code == 204 and after["exchanges"] == 0 and after["operations"] == []
    assert "## GET" not in saved.read_text(), "written again at shutdown, cleared"


def test_saving_without_a_file_is_the_documented_409() -> None:
    with proxied() as client:
        answer = client.post("/__mock__/drift/save")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "no_drift_report"


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("DELETE", "/"), ("POST", "/save")])
def test_without_a_proxy_the_drift_routes_say_so(method: str, path: str) -> None:
    with TestClient(create_app(Settings()), base_url=MOCK) as client:
        answer = client.request(method, "/__mock__/drift" + path.rstrip("/"))
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "proxy_mode_only"


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"drift_report": Path("drift.json")}, "--drift-report needs --proxy URL"),
        ({"fail_on_drift": True}, "--fail-on-drift needs --proxy URL"),
        (
            {"proxy": "http://127.0.0.1:9", "fail_on_drift": True, "workers": 2, "state": "sqlite:///tmp/x.db"},
            "--fail-on-drift with --workers 2: the drift report lives in one process",
        ),
    ],
)
def test_drift_settings_need_one_proxying_process(settings: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        Settings(**settings)
