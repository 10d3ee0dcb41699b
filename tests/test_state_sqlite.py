"""--state sqlite:///PATH with real mock-server processes: kept across restarts, shared by two processes."""

from __future__ import annotations

import concurrent.futures
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mock_server import ConfigError, Settings, create_app

from .servers import read_banner, run_mock

FREE = {"Authorization": "Bearer sk_test_free_org"}
APP = "http://app.example.com"
GROWTH = {"messagePriceId": "price_message_growth", "successUrl": f"{APP}/ok", "cancelUrl": f"{APP}/cancel"}


@contextmanager
def mock_server(*argv: str) -> Iterator[str]:
    """``mock-server`` in a process of its own on a free port; its base URL until the block ends."""
    process = run_mock("--port", "0", *argv, env={"MOCK_SERVER_LOG_FORMAT": "text"})
    try:
        yield read_banner(process)[1]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def pay(url: str) -> int:
    return httpx.post(url, data={"action": "pay"}).status_code


@pytest.mark.socket
def test_customers_and_sessions_survive_a_restart_and_the_session_can_then_be_paid(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'kept' / 'state.db'}"
    (tmp_path / "kept").mkdir()
    with mock_server("--state", state) as base:
        made = httpx.post(f"{base}/billing", headers=FREE, json=GROWTH).json()
    with mock_server("--state", state) as base:
        kept = httpx.post(f"{base}/billing", headers=FREE, json={"successUrl": APP, "cancelUrl": APP}).json()
        assert kept["stripeCustomerId"] == made["stripeCustomerId"]  # not a new one
        checkout = f"{base}{httpx.URL(made['url']).path}"
        assert httpx.get(checkout, headers={"Accept": "text/html"}).status_code == 200
        assert httpx.post(checkout, data={"action": "pay"}, follow_redirects=False).status_code == 303
        assert httpx.get(f"{base}/account/organization", headers=FREE).json()["organizationType"] == "paid"
    with mock_server("--state", state) as base:
        assert httpx.get(f"{base}/account/organization", headers=FREE).json()["organizationType"] == "paid"


@pytest.mark.socket
def test_two_processes_on_one_file_share_customers_payments_sticky_scenarios_and_reset(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    with mock_server("--state", state) as first, mock_server("--state", state) as second:
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(
                pool.map(
                    lambda n: httpx.post(f"{(first, second)[n % 2]}/billing", headers=FREE, json=GROWTH),
                    range(100),
                )
            )
            assert {answer.status_code for answer in answers} == {200}
            assert len({answer.json()["stripeCustomerId"] for answer in answers}) == 1

            path = httpx.URL(answers[0].json()["url"]).path
            paid = list(pool.map(lambda n: pay(f"{(second, first)[n % 2]}{path}"), range(20)))
        assert sorted(paid) == [303] + [409] * 19
        assert httpx.get(f"{first}/account/organization", headers=FREE).json()["organizationType"] == "paid"

        httpx.post(
            f"{first}/__mock__/sticky", json={"organizationId": "org_free_demo", "status": 402}
        ).raise_for_status()
        assert httpx.get(f"{second}/account/organization", headers=FREE).status_code == 402
        logged = httpx.get(f"{first}/__mock__/requests", params={"limit": 1}).json()["requests"]
        assert logged[0]["status"] == 402  # the second process's request, in the one log
        assert httpx.post(f"{second}/__mock__/reset").status_code == 200
        assert httpx.get(f"{first}/account/organization", headers=FREE).json()["organizationType"] == "free"


def test_a_state_file_that_is_not_a_database_stops_start_up_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database, " * 100)
    for path in (tmp_path, tmp_path / "notes.txt"):
        with pytest.raises(ConfigError, match=r"--state: cannot use .* as a SQLite state file"):
            create_app(Settings(state=f"sqlite:///{path}"))


def test_the_cli_says_so_without_a_traceback(tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "mock_server", "--port", "0", "--state", f"sqlite:///{tmp_path}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2
    assert "mock-server: error: --state: cannot use" in process.stderr
    assert "Traceback" not in process.stderr
