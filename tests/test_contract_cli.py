"""The contract-tests script: exit codes, the preflight, the reports, and one real-socket run."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import hypothesis
import pytest
import uvicorn

from contract_tests.cli import ERROR, OK, main
from contract_tests.options import NON_LOOPBACK_MAX_RPS, UsageError, resolve
from contract_tests.throttle import RateLimiter
from mock_server import Settings, create_app


def test_the_mock_in_process_passes_and_reports_per_operation_and_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    files = ["--junit-xml", str(junit), "--report", str(report)]
    status = main(["--profile", "quick", "--seed", "7", "--require-coverage", *files])
    out = capsys.readouterr().out
    assert status == OK
    assert "seed 7" in out
    assert "contract summary" in out
    names = {case.get("name") for case in ET.parse(junit).getroot().iter("testcase")}
    assert "POST /billing :: response_schema_conformance" in names
    assert "POST /billing :: same_stripe_customer" in names
    assert "POST /billing :: documented_statuses_answered" in names  # every documented status answered
    assert json.loads(report.read_text())["seed"] == 7


def test_a_refused_key_stops_before_testing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--profile", "quick", "--api-key", "sk_wrong"]) == ERROR
    assert "refused --api-key" in capsys.readouterr().out


def test_an_unreachable_target_stops_before_testing(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["--base-url", f"http://127.0.0.1:{port}", "--api-key", "k", "--timeout", "2"]) == ERROR
    out = capsys.readouterr().out
    assert f"cannot reach http://127.0.0.1:{port}: Connection refused" in out
    assert "HTTPConnectionPool" not in out, "the cause, not urllib3's wrappers"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--api-key", "sk_test_paid_org", "--basic", "client_free_org:secret_free_org"], "different organizations"),
        (["--basic", "client_paid_org:wrong"], "refused --basic"),
    ],
)
def test_credentials_that_do_not_fit_stop_before_testing(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--profile", "quick", *argv]) == ERROR
    assert message in capsys.readouterr().out


def test_the_free_demo_key_gets_the_paid_one_as_its_other_tenant() -> None:
    settings = resolve({"contract_api_key": "sk_test_free_org"}, environ={})
    assert settings.other_api_key == "sk_test_paid_org"


@pytest.mark.parametrize(
    "argv",
    [
        ["--profile", "huge"],
        ["--base-url", "ftp://example.com", "--api-key", "k"],
        ["--base-url", "https://api.example.com"],
        ["--basic", "no-colon"],
        ["--no-such-option"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert main(argv) == ERROR


def test_remote_targets_are_rate_limited_and_read_only_by_default() -> None:
    settings = resolve({"contract_base_url": "https://api.example.com", "contract_api_key": "k"}, environ={})
    assert (settings.max_rps, settings.writes) == (NON_LOOPBACK_MAX_RPS, False)
    allowed = resolve(
        {"contract_base_url": "https://api.example.com"},
        environ={"CONTRACT_API_KEY": "k", "CONTRACT_ALLOW_WRITES": "1"},
    )
    assert allowed.writes is True
    local = resolve({"contract_base_url": "http://127.0.0.1:8080", "contract_api_key": "k"}, environ={})
    assert (local.max_rps, local.writes) == (None, True)
    with pytest.raises(UsageError, match="--max-rps"):
        resolve({"contract_max_rps": "0"}, environ={})


def test_the_rate_limit_spaces_requests() -> None:
    limiter = RateLimiter(20)
    started = time.monotonic()
    for _ in range(11):
        limiter.wait()
    assert time.monotonic() - started >= 0.5 - 0.01


def test_no_post_billing_to_a_remote_target_without_allow_writes() -> None:
    """The mock in-process, addressed as a remote target: only GET may reach it."""
    seen: list[str] = []
    app = create_app(Settings(allowed_hosts=("api.example.com",)))

    async def recording(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            seen.append(f"{scope['method']} {scope['path']}")
        await app(scope, receive, send)

    argv = ["--base-url", "https://api.example.com", "--api-key", "sk_test_paid_org", "--profile", "quick"]
    assert main([*argv, "--max-rps", "500"], app=recording) == OK
    assert "GET /account/organization" in seen
    assert not [line for line in seen if line.endswith("/billing")]


@pytest.fixture
def mock_server_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.socket
def test_a_running_mock_over_http_passes(mock_server_port: int) -> None:
    base_url = f"http://127.0.0.1:{mock_server_port}"
    argv = ["--base-url", base_url, "--api-key", "sk_test_paid_org", "--allow-writes", "--profile", "quick"]
    assert main(argv) == OK


def test_workers_share_one_summary_and_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert main(["--profile", "quick", "--workers", "2", "--report", str(report)]) == OK
    operations = json.loads(report.read_text())["operations"]
    assert {"GET /account/organization", "POST /billing"} <= set(operations)
    assert "same_stripe_customer" in operations["POST /billing"]["checks"]


@pytest.fixture(params=["default", "ci"])
def hypothesis_profile(request: pytest.FixtureRequest) -> Iterator[str]:
    """Hypothesis loads its derandomizing "ci" profile by itself when the ``CI`` variable is set."""
    before = hypothesis.settings.get_current_profile_name()
    hypothesis.settings.load_profile(request.param)
    yield request.param
    hypothesis.settings.load_profile(before)


def test_a_seed_repeats_a_run_and_another_seed_changes_it(tmp_path: Path, hypothesis_profile: str) -> None:
    def statuses(seed: str, name: str) -> dict[str, Any]:
        report = tmp_path / name
        assert main(["--profile", "quick", "--seed", seed, "--report", str(report)]) == OK
        return json.loads(report.read_text())["operations"]

    first = statuses("11", "a.json")
    assert statuses("11", "b.json") == first
    other = statuses("12", "c.json")
    for name, entry in first.items():  # every operation got other requests, not just other counts
        assert other[name]["requests_fingerprint"] != entry["requests_fingerprint"], name
