"""contract-tests replay: the failing requests of a report sent again, judged again: still failing or fixed."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from contract_tests.cli import ERROR, OK, VIOLATIONS, main
from contract_tests.replay import MAX_REPORT_BYTES
from tests.faulty_app import create_faulty_app
from tests.test_contract_faults import TARGET_OPTIONS
from tests.test_contract_report import serve  # noqa: F401  (the fixture)

CREDENTIALS = ["--api-key", "sk_live_alpha", "--basic", "cli_alpha:pw_alpha", "--other-api-key", "sk_live_beta"]
SECRETS = ("sk_live_alpha", "pw_alpha", "sk_live_beta", base64.b64encode(b"cli_alpha:pw_alpha").decode())


def _report(tmp_path: Path, *failures: dict[str, Any], target: str = "in-process") -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"target": target, "seed": 3, "failures": list(failures)}))
    return path


def _failure(check: str, credential: str, path: str = "/account/organization") -> dict[str, Any]:
    request = {"method": "GET", "path": path, "headers": {}, "credential": credential}
    return {"operation": "GET /account/organization", "check": check, "request": request}


@pytest.mark.socket
def test_a_fault_replayed_still_fails_and_against_the_fixed_app_is_fixed(
    serve: Any,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    faulty, fixed = serve(create_faulty_app("wrong_key_403")), serve(create_faulty_app())
    report = tmp_path / "report.json"
    assert main(["--base-url", faulty, *TARGET_OPTIONS, "--report", str(report)]) == VIOLATIONS
    text = report.read_text()
    assert not [secret for secret in SECRETS if secret in text]
    failures = json.loads(text)["failures"]
    refused = [f for f in failures if f["check"] == "credentials_refused_with_401"]
    assert refused and all(f["request"]["credential"] not in ("api-key", "basic", "none") for f in refused)
    # each failure block says how to replay it, against the run's target
    assert f"contract-tests replay {report} --base-url {faulty} sends the failing requests" in capsys.readouterr().out

    assert main(["replay", str(report), "--base-url", faulty, *CREDENTIALS]) == VIOLATIONS
    out = capsys.readouterr().out
    assert f"against {faulty}" in out
    assert "still failing  GET /account/organization :: credentials_refused_with_401: expected 401, got 403" in out
    assert "fixed " not in out

    assert main(["replay", str(report), "--base-url", fixed, *CREDENTIALS]) == OK
    out = capsys.readouterr().out
    assert out.count("fixed          ") == len(failures)
    assert out.rstrip().endswith("all fixed")


@pytest.mark.socket
def test_a_fault_that_shows_on_a_second_answer_is_sent_twice(
    serve: Any,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    faulty, fixed = serve(create_faulty_app("reused_tracking_id")), serve(create_faulty_app())
    failure = _failure("tracking_id_unique", "api-key: cut short by one character")
    report = _report(tmp_path, failure, target=faulty)
    assert main(["replay", str(report), "--base-url", faulty, *CREDENTIALS]) == VIOLATIONS
    assert "still failing  GET /account/organization :: tracking_id_unique: trackingId" in capsys.readouterr().out
    assert main(["replay", str(report), "--base-url", fixed, *CREDENTIALS]) == OK


def test_a_url_read_from_the_report_is_never_sent_the_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.3)
    with listener:
        target = f"http://127.0.0.1:{listener.getsockname()[1]}"
        monkeypatch.setenv("CONTRACT_API_KEY", "sk_live_alpha")
        assert main(["replay", str(_report(tmp_path, _failure("status_200", "api-key"), target=target))]) == ERROR
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing was sent there
    err = capsys.readouterr().err
    said = f"the report was made against '{target}': say where to send its requests with --base-url URL"
    assert err == f"contract-tests replay: {said}\n"


@pytest.mark.socket
def test_an_answer_that_passes_the_check_but_fails_another_is_not_fixed(
    serve: Any,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = serve(create_faulty_app("basic_wrong_type"))  # 200 to basic credentials, allowOverage a string
    report = _report(tmp_path, _failure("status_200", "basic"), target=broken)
    assert main(["replay", str(report), "--base-url", broken, *CREDENTIALS]) == VIOLATIONS
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("now failing    GET /account/organization :: status_200: passes status_200, but the ")
    assert "response_schema_conformance" in out[1]
    assert out[2] == "1 of 1 not fixed"


def test_the_in_process_mock_is_the_target_of_an_in_process_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixed = _failure("credentials_refused_with_401", "api-key: its last character changed")
    failing = _failure("status_200", "api-key: cut short by one character")
    across = {**_failure("same_organization", "api-key"), "operation": "GET /account/organization"}
    assert main(["replay", str(_report(tmp_path, fixed, failing, across))]) == VIOLATIONS
    out = capsys.readouterr().out.splitlines()
    assert "against the mock, in-process" in out[0]
    assert out[1] == "fixed          GET /account/organization :: credentials_refused_with_401"
    assert out[2] == "still failing  GET /account/organization :: status_200: expected 200, got 401"
    assert out[3].startswith("not replayed   GET /account/organization :: same_organization: a property across")
    assert "--seed 3" in out[3]
    assert out[4] == "2 of 3 not fixed"
    assert main(["replay", str(_report(tmp_path, fixed))]) == OK


def test_a_report_without_failures_has_nothing_to_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(_report(tmp_path))]) == OK
    assert "nothing to replay" in capsys.readouterr().out
    # a clean run against a deployment: nothing to send, so no --base-url to ask for
    assert main(["replay", str(_report(tmp_path, target="https://staging.example.com"))]) == OK
    assert "nothing to replay" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{not json", "not JSON"),
        ('{"failures": 3}', "no list of failures"),
        ('{"failures": [{"operation": "GET /x", "check": "c"}]}', "failure 1 (GET /x :: c): it carries no request"),
        (json.dumps({"failures": [_failure("c", "none", path="http://evil.test/")]}), "its path is not a path"),
        (json.dumps({"failures": [{**_failure("c", "none"), "request": {"method": "G T", "path": "/"}}]}), "method"),
    ],
)
def test_a_bad_report_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, said: str
) -> None:
    path = tmp_path / "report.json"
    path.write_text(content)
    assert main(["replay", str(path)]) == ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("contract-tests replay: ") and said in err


def test_a_report_too_large_or_not_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    large = tmp_path / "large.json"
    with large.open("wb") as file:
        file.truncate(MAX_REPORT_BYTES + 1)
    assert main(["replay", str(large)]) == ERROR
    assert f"over {MAX_REPORT_BYTES} bytes" in capsys.readouterr().err
    assert main(["replay", str(tmp_path)]) == ERROR
    assert "not a file" in capsys.readouterr().err


def test_a_credential_the_report_needs_must_be_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _report(tmp_path, _failure("status_200", "other-api-key"), target="http://127.0.0.1:9")
    assert main(["replay", str(report), "--base-url", "http://127.0.0.1:9", "--api-key", "sk_live_alpha"]) == ERROR
    assert "give --other-api-key" in capsys.readouterr().err


def test_an_unreachable_target_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _report(tmp_path, _failure("status_200", "api-key"), target="http://127.0.0.1:9")
    options = ["--base-url", "http://127.0.0.1:9", "--api-key", "sk_live_alpha", "--timeout", "2"]
    assert main(["replay", str(report), *options]) == ERROR
    err = capsys.readouterr().err
    assert err.startswith("contract-tests replay: cannot reach http://127.0.0.1:9: ") and err.count("\n") == 1
