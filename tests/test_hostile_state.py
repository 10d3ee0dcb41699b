"""What the state backends face besides clients: another application's file, a lock held elsewhere, a Redis
that forbids CLIENT, a Redis that hangs, a password in a URL. No request waits past --state-timeout, nothing
that is not the mock's is written, and the loop goes on serving what needs no state."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from mock_server import ConfigError, Settings, create_app
from mock_server.asgi import MockServer
from mock_server.clock import Clock

from .conftest import BASE_URL, START, checkout_body
from .redis_server import free_port, start_redis, stop

FREE = {"Authorization": "Bearer sk_test_free_org"}
PAID = {"Authorization": "Bearer sk_test_paid_org"}
TIMEOUT = 0.5


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _timed(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    answer = await client.request(method, path, **kwargs)
    return answer, time.perf_counter() - started


def _run(app: MockServer, *calls: tuple[str, str, dict[str, Any]]) -> list[tuple[httpx.Response, float]]:
    """The requests at once, in one event loop: how long each took shows whether another held the loop."""

    async def run() -> list[tuple[httpx.Response, float]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            return list(await asyncio.gather(*(_timed(client, method, path, **kw) for method, path, kw in calls)))

    return asyncio.run(run())


# SQLite ---------------------------------------------------------------------------------------------------


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        db.executemany("INSERT INTO users (email) VALUES (?)", [("ada@example.com",), ("grace@example.com",)])
        db.execute("CREATE TABLE sessions (id TEXT)")  # a name the mock uses too


def test_another_applications_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    _foreign(path)
    before = _digest(path)
    with pytest.raises(ConfigError, match=r"--state.*refused .*app\.db.*not a state file of org-billing-mock"):
        create_app(Settings(state=f"sqlite:///{path}"))
    process = subprocess.run(
        [sys.executable, "-m", "mock_server", "--port", "0", "--state", f"sqlite:///{path}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2 and "Traceback" not in process.stderr
    assert "nothing in it was changed" in process.stderr
    assert _digest(path) == before
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM users").fetchone() == (2,)


def test_a_state_file_of_the_layout_before_sandboxes_is_kept_and_moved_to_the_current_one(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the tables an earlier release wrote
        db.executescript(
            """
            CREATE TABLE organizations (id TEXT PRIMARY KEY, body BLOB NOT NULL);
            CREATE TABLE sessions (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
                status TEXT NOT NULL, body BLOB NOT NULL);
            CREATE TABLE sticky (id TEXT PRIMARY KEY, status INTEGER NOT NULL);
            CREATE TABLE clock (one INTEGER PRIMARY KEY CHECK (one = 1), offset_us INTEGER NOT NULL);
            CREATE TABLE requests (seq INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL);
            INSERT INTO clock VALUES (1, 3600000000);
            INSERT INTO sticky VALUES ('org_paid_demo', 402);
            """
        )
    app = create_app(Settings(state=f"sqlite:///{path}"), clock=Clock(start=START))
    try:
        (answer, _), (_, _) = _run(app, ("GET", "/account/organization", {"headers": PAID}), ("GET", "/", {}))
        assert answer.status_code == 402  # the sticky scenario of the old file
        assert app.services.store.world().clock_offset().total_seconds() == 3600
    finally:
        app.services.store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] != 0


def test_a_file_another_program_keeps_locked_costs_only_the_writes_a_bounded_wait(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    app = create_app(Settings(state=f"sqlite:///{path}", state_timeout=TIMEOUT), clock=Clock(start=START))
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock, and keeps it
        post, health, read = _run(
            app,
            ("POST", "/billing", {"headers": FREE, "json": checkout_body(BASE_URL)}),
            ("GET", "/__mock__/health", {}),
            ("GET", "/account/organization", {"headers": PAID}),
        )
        assert (post[0].status_code, post[0].json()["error"]["code"]) == (503, "state_unavailable")
        assert post[0].headers["retry-after"] == "1"
        assert TIMEOUT <= post[1] < TIMEOUT + 1.5
        assert health[0].status_code == 200 and health[1] < 0.5  # the loop was never held
        assert read[0].status_code == 200 and read[1] < 0.5  # a read needs no lock (WAL)
        other.execute("ROLLBACK")
        (after, _), (_, _) = _run(
            app, ("POST", "/billing", {"headers": FREE, "json": checkout_body(BASE_URL)}), ("GET", "/", {})
        )
        assert after.status_code == 200 and after.json()["stripeCustomerId"].startswith("cus_")
    finally:
        other.close()
        app.services.store.close()


# Redis ----------------------------------------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A redis-server of this test's own (it may be stopped, limited or hung)."""
    process, url = start_redis(tmp_path)
    yield process, url
    os.kill(process.pid, signal.SIGCONT)
    stop(process)


def _journey(app: MockServer) -> list[int]:
    """Every kind of call the mock makes of its state: the statuses it answered."""

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            statuses = [(await client.get("/account/organization", headers=PAID)).status_code]
            made = await client.post(
                "/billing", headers=FREE, json=checkout_body(BASE_URL, budgetPriceId="price_budget_starter")
            )
            statuses.append(made.status_code)
            paid = await client.post(made.json()["url"], data={"action": "pay"}, follow_redirects=False)
            statuses.append(paid.status_code)
            statuses.append(
                (
                    await client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": 402})
                ).status_code
            )
            statuses.append((await client.get("/account/organization", headers=PAID)).status_code)
            statuses.append((await client.get("/__mock__/requests")).status_code)
            statuses.append((await client.post("/__mock__/reset")).status_code)
            statuses.append((await client.get("/account/organization", headers=FREE)).status_code)
            free = (await client.get("/account/organization", headers=FREE)).json()["organizationType"]
            statuses.append(200 if free == "free" else 0)
            return statuses

    return asyncio.run(run())


@pytest.mark.parametrize("forbidden", ["-client", "-client -hello"])
def test_a_redis_that_forbids_client_works_without_keeping_reads(
    own_redis: tuple[subprocess.Popen[bytes], str], forbidden: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = own_redis
    admin = redis.Redis.from_url(url)
    admin.execute_command("ACL", "SETUSER", "limited", "on", ">s3cret", "~*", "&*", "+@all", *forbidden.split())
    admin.close()
    limited = url.replace("redis://", "redis://limited:s3cret@")
    app = create_app(Settings(state=limited), clock=Clock(start=START))
    try:
        assert _journey(app) == [200, 200, 303, 200, 402, 200, 200, 200, 200]
        log = _run(app, ("GET", "/__mock__/requests", {}))[0][0].json()["requests"]
        assert [entry["path"] for entry in log[:2]] == ["/account/organization"] * 2  # the last two, newest first
    finally:
        app.services.store.close()
    assert "refused" in caplog.text and "s3cret" not in caplog.text


def test_a_hung_redis_costs_the_calls_that_need_it_a_bounded_wait_and_nothing_else(
    own_redis: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, url = own_redis
    app = create_app(Settings(state=url, state_timeout=TIMEOUT), clock=Clock(start=START))
    try:
        _run(app, ("GET", "/account/organization", {"headers": PAID}), ("GET", "/", {}))  # kept: read before
        os.kill(process.pid, signal.SIGSTOP)
        post, health, read = _run(
            app,
            ("POST", "/billing", {"headers": FREE, "json": checkout_body(BASE_URL)}),
            ("GET", "/__mock__/health", {}),
            ("GET", "/account/organization", {"headers": PAID}),
        )
        assert (post[0].status_code, post[0].json()["error"]["code"]) == (503, "state_unavailable")
        assert post[1] < TIMEOUT + 1.5
        assert health[0].status_code == 200 and health[1] < 0.5
        assert read[0].status_code == 200 and read[1] < 0.5  # what the process keeps needs no round trip
        os.kill(process.pid, signal.SIGCONT)
        deadline = time.monotonic() + 10
        while True:
            (again, _), (_, _) = _run(
                app, ("POST", "/billing", {"headers": FREE, "json": checkout_body(BASE_URL)}), ("GET", "/", {})
            )
            if again.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert again.status_code == 200
    finally:
        os.kill(process.pid, signal.SIGCONT)
        app.services.store.close()


def test_the_redis_password_is_never_printed() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    with pytest.raises(ConfigError) as refused:
        create_app(Settings(state=url))
    assert "hunter2" not in str(refused.value) and ":***@127.0.0.1" in str(refused.value)
    process = subprocess.run(
        [sys.executable, "-m", "mock_server", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MOCK_SERVER_STATE": url},
    )
    assert process.returncode == 2 and "hunter2" not in process.stderr + process.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "mock_server", "--state", "postgres://admin:hunter2@db/x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "hunter2" not in bad.stderr
