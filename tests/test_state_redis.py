"""--state redis://... on a real redis-server: replicas share every rule; namespaces keep CI jobs apart."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import ConfigError, Settings, create_app
from mock_server.clock import Clock
from mock_server.stores import MAX_SESSIONS, open_state

from .conftest import BASE_URL, START, checkout_body
from .redis_server import free_port, start_redis, state_url, stop
from .test_state_sqlite import FREE, GROWTH, mock_server, pay

PAID = {"Authorization": "Bearer sk_test_paid_org"}


def log_shows(replica: str, wanted: Callable[[list[dict[str, Any]]], bool]) -> bool:
    """Whether the log as ``replica`` lists it (newest first, its own reads left out) comes to satisfy
    ``wanted`` within 5 s. A replica sends its entries to Redis at the end of its event loop's turn
    (docs/state.md): a read right after an answer from another replica may come a moment too early."""
    deadline = time.monotonic() + 5
    while True:
        entries = httpx.get(f"{replica}/__mock__/requests", params={"limit": 200}).json()["requests"]
        if wanted([entry for entry in entries if entry["path"] != "/__mock__/requests"]):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


@pytest.mark.socket
def test_three_replicas_share_customers_payments_sticky_scenarios_the_clock_the_log_and_reset(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    state = state_url("redis", request, tmp_path)
    with ExitStack() as stack:
        replicas = [stack.enter_context(mock_server("--state", state)) for _ in range(3)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
            answers = list(
                pool.map(lambda n: httpx.post(f"{replicas[n % 3]}/billing", headers=FREE, json=GROWTH), range(100))
            )
            assert {answer.status_code for answer in answers} == {200}
            assert len({answer.json()["stripeCustomerId"] for answer in answers}) == 1

            path = httpx.URL(answers[0].json()["url"]).path
            paid = list(pool.map(lambda n: pay(f"{replicas[n % 3]}{path}"), range(30)))
        assert sorted(paid) == [303] + [409] * 29
        for replica in replicas:
            assert httpx.get(f"{replica}/account/organization", headers=FREE).json()["organizationType"] == "paid"

        first, second, third = replicas
        httpx.post(f"{first}/__mock__/sticky", json={"organizationId": "org_free_demo", "status": 402})
        assert httpx.get(f"{second}/account/organization", headers=FREE).status_code == 402
        assert log_shows(third, lambda entries: entries[0]["status"] == 402)  # the second replica's request

        made = httpx.post(f"{first}/billing", headers=PAID, json=GROWTH).json()
        control = open_state(state)  # the clock moved from outside, as the pytest plugin's advance_clock does
        control.advance_clock(dt.timedelta(hours=25))
        control.close()
        assert pay(f"{third}{httpx.URL(made['url']).path}") == 410  # checkout_session_expired: a day has passed

        assert httpx.post(f"{second}/__mock__/reset").status_code == 200
        for replica in replicas:
            assert httpx.get(f"{replica}/account/organization", headers=FREE).json()["organizationType"] == "free"
        assert log_shows(
            first,
            lambda entries: (
                [entry["path"] for entry in entries if entry["path"] != "/__mock__/reset"]
                == ["/account/organization"] * 3
            ),
        )


def test_two_namespaces_on_one_redis_server_do_not_see_each_other(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    apps = [create_app(Settings(state=state_url("redis", request, tmp_path)), clock=Clock(start=START)) for _ in "ab"]
    with TestClient(apps[0], base_url=BASE_URL) as one, TestClient(apps[1], base_url=BASE_URL) as other:
        made = one.post("/billing", headers=FREE, json=checkout_body(BASE_URL, messagePriceId="price_message_growth"))
        assert one.post(made.json()["url"], data={"action": "pay"}, follow_redirects=False).status_code == 303
        sticky = one.post(
            "/__mock__/sticky", data={"organizationId": "org_paid_demo", "status": "402"}, follow_redirects=False
        )
        assert sticky.status_code == 303
        assert one.get("/account/organization", headers=FREE).json()["organizationType"] == "paid"

        assert other.get("/account/organization", headers=FREE).json()["organizationType"] == "free"
        assert other.get("/account/organization", headers=PAID).status_code == 200  # no sticky 402 here
        assert other.get(httpx.URL(made.json()["url"]).path).status_code == 404  # nor the session
        assert [entry["status"] for entry in other.get("/__mock__/requests").json()["requests"]] == [
            404,
            200,
            200,
        ]  # newest first

        other.post("/__mock__/reset")
        assert one.get("/account/organization", headers=FREE).json()["organizationType"] == "paid"
        assert one.get("/account/organization", headers=PAID).status_code == 402
        assert len(one.get("/__mock__/requests").json()["requests"]) > 4
    for app in apps:
        app.services.store.state.close()


@pytest.mark.parametrize(
    ("url", "named"),
    [
        (f"redis://127.0.0.1:{free_port()}/0", "cannot reach Redis at 'redis://127.0.0.1:"),
        ("redis://127.0.0.1:6379/0?namespace=a b", "namespace must be 1 to 64"),
        ("redis://127.0.0.1:6379/0?namespace=", "namespace must be 1 to 64"),
    ],
)
def test_a_redis_it_cannot_use_stops_start_up_naming_the_setting(url: str, named: str) -> None:
    with pytest.raises(ConfigError, match=r"--state: " + named.replace("?", r"\?")):
        create_app(Settings(state=url))
    process = subprocess.run(
        [sys.executable, "-m", "mock_server", "--port", "0", "--state", url], capture_output=True, text=True, timeout=60
    )
    assert (process.returncode, "Traceback" in process.stderr) == (2, False)
    assert named in process.stderr


def test_the_most_recent_ten_thousand_sessions_are_all_listed(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    state = open_state(state_url("redis", request, tmp_path))
    try:
        for number in range(MAX_SESSIONS + 5):
            state.add_session({"id": f"cs_test_{number}", "status": "open"})
        listed = state.sessions()
        assert (len(listed), next(iter(listed))) == (MAX_SESSIONS, "cs_test_5")
        newest = state.recent_sessions(MAX_SESSIONS + 1)
        assert (len(newest), newest[0]["id"]) == (MAX_SESSIONS, f"cs_test_{MAX_SESSIONS + 4}")
        assert state.session("cs_test_4") is None
    finally:
        state.close()


def test_without_redis_server_the_redis_tests_fail_naming_make_redis(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="`make redis` installs it"):
        start_redis(tmp_path)


def test_while_redis_is_down_requests_get_the_documented_error_and_then_carry_on(tmp_path: Path) -> None:
    process, url = start_redis(tmp_path)
    app = create_app(Settings(state=url), clock=Clock(start=START))
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        assert client.get("/account/organization", headers=PAID).status_code == 200
        stop(process)
        down = client.get("/account/organization", headers=PAID)
        assert (down.status_code, down.json()["error"]["code"]) == (500, "internal_error")
        process, _ = start_redis(tmp_path, port=httpx.URL(url).port)
        try:
            assert client.get("/account/organization", headers=PAID).status_code == 200
        finally:
            stop(process)
    app.services.store.state.close()
