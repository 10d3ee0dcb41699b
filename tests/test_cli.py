"""The CLI: flags over environment over defaults, loud failures, a real start and stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mock_server.cli import parse_args
from mock_server.settings import DEFAULT_FIXTURES


def test_defaults() -> None:
    settings = parse_args([], environ={})
    assert (settings.host, settings.port, settings.fixtures) == ("127.0.0.1", 8080, DEFAULT_FIXTURES)
    assert (settings.seed, settings.generate, settings.latency, settings.log_format) == (1, 0, 0, "text")


def test_flags_win_over_environment_which_wins_over_defaults() -> None:
    environ = {"MOCK_SERVER_PORT": "9000", "MOCK_SERVER_LATENCY": "25", "MOCK_SERVER_CORS_ORIGIN": "https://a.example"}
    settings = parse_args(["--port", "9100", "--log-format", "json"], environ=environ)
    assert (settings.port, settings.latency, settings.log_format) == (9100, 25, "json")
    assert settings.cors_origin == ("https://a.example",)


@pytest.mark.parametrize(
    ("argv", "environ", "named"),
    [
        (["--port", "eighty"], {}, "--port"),
        (["--port", "70000"], {}, "--port"),
        (["--latency", "-1"], {}, "--latency"),
        (["--log-format", "xml"], {}, "--log-format"),
        (["--cors-origin", "localhost:3000"], {}, "--cors-origin"),
        ([], {"MOCK_SERVER_GENERATE": "many"}, "MOCK_SERVER_GENERATE"),
        ([], {"MOCK_SERVER_CHECKOUT_BASE_URL": "mock.local"}, "MOCK_SERVER_CHECKOUT_BASE_URL"),
        (["--unknown-flag"], {}, "--unknown-flag"),
    ],
)
def test_a_bad_setting_exits_2_naming_it(
    argv: list[str], environ: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(argv, environ=environ)
    assert stopped.value.code == 2
    assert named in capsys.readouterr().err


def _run(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mock_server", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_a_bad_fixture_file_stops_start_up_naming_it(tmp_path: Path) -> None:
    (tmp_path / "prices.yaml").write_text("{not: a list}\n")
    process = _run("--fixtures", str(tmp_path), "--port", "0")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "prices.yaml" in err
    assert "Traceback" not in err


def _banner(process: subprocess.Popen[str]) -> tuple[str, str]:
    """The start-up banner and the base URL it names."""
    assert process.stdout is not None
    banner = ""
    deadline = time.monotonic() + 30
    while "Ctrl-C" not in banner and time.monotonic() < deadline:
        banner += process.stdout.readline()
    found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
    assert found, banner
    return banner, found.group(1)


@pytest.mark.socket
def test_the_cli_serves_on_a_free_port_and_stops_cleanly_on_ctrl_c() -> None:
    process = _run("--port", "0", "--generate", "2", env={"MOCK_SERVER_LATENCY": "5"})
    try:
        banner, base = _banner(process)
        assert f"{base}/ui/" in banner and "sk_test_paid_org" in banner and "sk_test_free_org" in banner
        answer = httpx.get(f"{base}/account/organization", headers={"Authorization": "Bearer sk_test_gen_2"})
        assert answer.status_code == 200
        assert answer.json()["organizationId"] == "org_gen_000002"
        assert answer.headers["x-tracking-id"]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err
    assert "trackingId=" + answer.headers["x-tracking-id"] in err, "one log line per request"


@pytest.mark.socket
def test_keep_alive_answers_do_not_wait_for_the_clients_delayed_ack() -> None:
    """Without TCP_NODELAY each answer on a kept-alive connection waits ~40 ms (Nagle + delayed ACK)."""
    process = _run("--port", "0")
    try:
        _, base = _banner(process)
        durations = []
        with httpx.Client(base_url=base, headers={"Authorization": "Bearer sk_test_paid_org"}) as client:
            for _ in range(25):  # one connection, kept alive
                started = time.perf_counter()
                assert client.get("/account/organization").status_code == 200
                durations.append(time.perf_counter() - started)
        assert sorted(durations)[len(durations) // 2] < 0.02, durations
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
