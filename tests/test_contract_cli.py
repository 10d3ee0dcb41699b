"""The contract-tests script: exit codes, the preflight, the reports, and one real-socket run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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
from contract_tests.options import NON_LOOPBACK_MAX_RPS, UsageError, hypothesis_home, resolve
from contract_tests.throttle import RECOVER_AFTER, RateLimiter
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


def _said_once(capsys: pytest.CaptureFixture[str], cause: str) -> str:
    """Everything the run printed, which gives ``cause`` once, on a line of its own, and no pytest exception frame."""
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert printed.count(cause) == 1, printed
    assert "_pytest.outcomes.Exit" not in printed and "Exit: " not in printed
    assert any(line.startswith("contract-tests: preflight failed: ") for line in printed.splitlines())
    return printed


def test_a_refused_key_stops_before_testing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--profile", "quick", "--api-key", "sk_wrong"]) == ERROR
    _said_once(capsys, "refused --api-key")


def test_an_unreachable_target_stops_before_testing(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["--base-url", f"http://127.0.0.1:{port}", "--api-key", "k", "--timeout", "2"]) == ERROR
    out = _said_once(capsys, f"cannot reach http://127.0.0.1:{port}: Connection refused")
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


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _answers(limiter: RateLimiter, count: int) -> None:
    for _ in range(count):
        limiter.answered()


def test_a_throttled_rate_is_halved_then_raised_back_step_by_step_to_max_rps() -> None:
    clock = _Clock()
    limiter = RateLimiter(8, clock=clock)
    limiter.lower()
    assert limiter.rps == 4
    _answers(limiter, RECOVER_AFTER - 1)
    assert limiter.rps == 4, "not before a run of answers without throttling"
    _answers(limiter, 1)
    assert limiter.rps == pytest.approx(4.8), "a tenth of --max-rps back"
    _answers(limiter, 4 * RECOVER_AFTER)
    assert limiter.rps == 8, "never above --max-rps"
    clock.now += 2
    limiter.lower()
    assert limiter.rps == 4
    clock.now += 0.5  # a second burst within the same second halves once
    limiter.lower()
    assert limiter.rps == 4
    assert limiter.lowest == 4


def test_a_throttle_in_the_middle_of_a_run_of_answers_starts_it_again() -> None:
    clock = _Clock()
    limiter = RateLimiter(10, clock=clock)
    limiter.lower()
    _answers(limiter, RECOVER_AFTER - 1)
    clock.now += 2
    limiter.lower()
    assert limiter.rps == 2.5
    _answers(limiter, RECOVER_AFTER - 1)
    assert limiter.rps == 2.5


def test_an_unlimited_rate_returns_to_no_limit_once_it_is_back_where_it_was() -> None:
    clock = _Clock()
    limiter = RateLimiter(None, clock=clock)
    for _ in range(101):  # 100 requests a second
        limiter.wait()
        clock.now += 0.01
    limiter.lower()
    assert limiter.rps == pytest.approx(50)
    _answers(limiter, 5 * RECOVER_AFTER - 1)
    assert limiter.rps == pytest.approx(90)
    _answers(limiter, 1)
    assert limiter.rps is None


def test_one_429_every_40_requests_costs_its_waits_not_the_whole_run() -> None:
    """The policy against a limiter that throttles every 40th request whatever the rate: the rate stays near
    the unthrottled one instead of halving towards the floor (the suite's time is its requests, plus a second
    for each 429)."""
    clock = _Clock()
    limiter = RateLimiter(50, clock=clock)
    for request in range(1, 801):
        limiter.wait()
        clock.now += 1 / limiter.rps
        if request % 40 == 0:
            clock.now += 1  # Retry-After: 1
            limiter.lower()
        else:
            limiter.answered()
    assert limiter.lowest == 25, "halved once each time, and back to 50 before the next"
    assert clock.now - 1000 < 45, "800 requests at 50 a second and 20 waits of a second: 36 s at best"


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


def test_workers_share_one_summary_and_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "report.json"
    monkeypatch.setenv("WORKER_LOADERS", str(tmp_path))
    assert (
        main(["--profile", "quick", "--workers", "2", "--report", str(report), "--", "-p", "tests.worker_loaders"])
        == OK
    )
    # A worker does not compile Schemathesis (and every module of pytest's plugins) again to rewrite its asserts.
    loaders = {path.name: path.read_text() for path in tmp_path.glob("gw*")}
    assert set(loaders) == {"gw0", "gw1"}
    assert "AssertionRewritingHook" not in loaders.values(), loaders
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


@pytest.fixture(scope="module")
def run_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``contract-tests --profile quick`` started in an empty folder with a pytest configuration of its own, as a
    user of the installed package runs it: none of the checkout's settings (its filterwarnings) apply."""
    folder = tmp_path_factory.mktemp("elsewhere")
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {
        key: value for key, value in os.environ.items() if key not in ("HYPOTHESIS_STORAGE_DIRECTORY", "PYTHONWARNINGS")
    }
    env["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    script = "from contract_tests import main; raise SystemExit(main())"
    argv = [sys.executable, "-c", script, "--profile", "quick", "--", "-c", "pytest.ini", "-q"]
    done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == OK, done.stdout + done.stderr
    return folder, done


def test_a_run_outside_the_checkout_prints_no_third_party_warnings(
    run_elsewhere: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, done = run_elsewhere
    assert "Warning" not in done.stderr, done.stderr
    assert "warnings summary" not in done.stdout
    assert "the target honours the contract" in done.stdout


def test_a_run_leaves_no_hypothesis_folder_where_it_started(
    run_elsewhere: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, _ = run_elsewhere
    assert sorted(path.name for path in folder.iterdir()) == ["pytest.ini"]


def test_hypothesis_keeps_its_files_in_the_user_cache() -> None:
    assert hypothesis_home({"XDG_CACHE_HOME": "/c"}) == Path("/c/contract-tests/hypothesis")
    assert hypothesis_home({"HOME": "/home/ann"}) == Path("/home/ann/.cache/contract-tests/hypothesis")
    assert hypothesis_home({"HYPOTHESIS_STORAGE_DIRECTORY": "/h", "HOME": "/home/ann"}) is None
