"""``mock-server --proxy``'s drift report: the project's faulty deployment on a real socket, behind the mock."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import ConfigError, Settings, create_app
from tests.faulty_app import create_faulty_app
from tests.servers import read_banner, run_mock
from tests.test_proxy import ALPHA, MOCK, SHOWN_BY_ONE_ANSWER, URLS, proxied, serving

pytestmark = pytest.mark.socket
FAIL_ON_DRIFT = {"MOCK_SERVER_FAIL_ON_DRIFT": "true"}  # the flag's variable


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


def test_with_several_workers_no_process_keeps_a_partial_report(tmp_path: Path) -> None:
    settings = Settings(proxy="http://127.0.0.1:9", workers=2, state=f"sqlite:///{tmp_path / 'state.db'}")
    with TestClient(create_app(settings), base_url=MOCK) as client:
        answer = client.get("/__mock__/drift")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "drift_needs_one_process"


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


def stopped(process: subprocess.Popen[str], how: signal.Signals = signal.SIGTERM) -> tuple[str, str]:
    process.send_signal(how)
    return process.communicate(timeout=20)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_fail_on_drift_exits_1_on_a_faulty_deployment_and_writes_the_report(
    tmp_path: Path, how: signal.Signals
) -> None:
    saved = tmp_path / "drift.json"
    with serving(create_faulty_app("wrong_type")) as upstream:
        process = run_mock("--port", "0", "--proxy", upstream, "--fail-on-drift", "--drift-report", str(saved))
        try:
            banner, base = read_banner(process)
            assert httpx.get(base + "/account/organization", headers=ALPHA, timeout=10).status_code == 200
        finally:
            out, err = stopped(process, how)
    assert f"{base}/__mock__/drift, written to {saved} at shutdown; --fail-on-drift" in banner
    assert process.returncode == 1, err
    assert "GET /account/organization: response_schema_conformance x1" in out
    assert "Traceback" not in err
    report = json.loads(saved.read_text())
    (group,) = report["operations"][0]["violations"]
    assert (group["check"], group["count"]) == ("response_schema_conformance", 1)


def test_a_correct_deployment_exits_0_and_sigterm_is_a_normal_stop(tmp_path: Path) -> None:
    saved = tmp_path / "drift.md"
    with serving(create_faulty_app()) as upstream:
        process = run_mock("--port", "0", "--proxy", upstream, "--drift-report", str(saved), env=FAIL_ON_DRIFT)
        try:
            _, base = read_banner(process)
            assert httpx.get(base + "/account/organization", headers=ALPHA, timeout=10).status_code == 200
        finally:
            out, err = stopped(process)
    assert process.returncode == 0, err
    assert "drift: 1 answer; 0 violations of the contract" in out
    assert "org-billing-mock stopped." in out
    assert "## GET /account/organization" in saved.read_text()


def test_sigterm_stops_the_mock_with_0() -> None:
    process = run_mock("--port", "0")
    try:
        read_banner(process)
    finally:
        stopped(process)
    assert process.returncode == 0, "not 143: a stop, not a death by signal"


@pytest.mark.parametrize("name", ["drift.txt", "drift"])
def test_a_report_file_of_another_format_is_refused_in_one_line(name: str) -> None:
    process = run_mock("--port", "0", "--proxy", "http://127.0.0.1:9", "--drift-report", name)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 2
    assert (
        err.strip()
        .splitlines()[-1]
        .endswith(f"--drift-report: '{name}' must end in .json or .md (the report's format)")
    )


def test_the_dashboard_lists_the_drift_worst_first(tmp_path: Path) -> None:
    with proxied("unknown_enum", variant="extra_fields", drift_report=tmp_path / "drift.json") as client:
        client.get("/account/organization", headers=ALPHA)
        client.get("/account/organization", headers=ALPHA)
        client.post("/billing", headers=ALPHA, json={**URLS, "messagePriceId": "plan_msgs_10k"})
        page = client.get("/__mock__/").text
        form = {"Content-Type": "application/x-www-form-urlencoded"}  # the button's, with no field
        saved = client.post("/__mock__/drift/save", headers=form, content=b"", follow_redirects=False)
    drift = page[page.index('id="drift"') : page.index('id="requests-title"')]
    assert "2 answers" not in drift and "3 answers, 3 violations of the contract" in drift
    rows = [row.split("</tr>")[0] for row in drift.split("<tr>")[1:]]
    checks = [row for row in rows if "status-error" in row]
    assert "GET /account/organization" in checks[0] and '"num">2<' in checks[0], "the worst first"
    assert any("field $.region (string) in 200" in row for row in rows)
    assert any("enum value &#34;enterprise&#34; of $.organizationType" in row for row in rows)
    assert saved.status_code == 303 and saved.headers["location"] == "/__mock__/#drift"
    assert json.loads((tmp_path / "drift.json").read_text())["exchanges"] == 3
