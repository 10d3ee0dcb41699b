"""--state redis://...: what each process keeps of the state, and the log it sends without waiting."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import httpx
import pytest
import redis
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.clock import Clock
from mock_server.stores import DEFAULT, World, open_state
from mock_server.stores.runner import Runner

from .conftest import BASE_URL, START
from .redis_server import start_redis, state_url, stop

PAID = {"Authorization": "Bearer sk_test_paid_org"}


@contextmanager
def states(url: str, count: int) -> Iterator[list[World]]:
    """The default sandbox of ``count`` states on ``url``, as ``count`` mock-server processes each open their own."""
    opened = [open_state(url) for _ in range(count)]
    try:
        yield [state.world(DEFAULT) for state in opened]
    finally:
        for state in opened:
            state.close()


def test_what_one_process_read_changes_as_soon_as_another_process_changes_it(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with states(state_url("redis", request, tmp_path), 2) as (one, other):
        for _ in range(2):  # read twice: the second answer is the one kept
            assert (one.sticky("org_paid_demo"), one.organization("org_free_demo")) == (None, None)
            assert one.clock_offset() == dt.timedelta()

        other.set_sticky("org_paid_demo", 402)
        assert other.swap_organization("org_free_demo", None, {"name": "changed"})
        other.advance_clock(dt.timedelta(hours=1))
        assert (one.sticky("org_paid_demo"), one.organization("org_free_demo")) == (402, {"name": "changed"})
        assert one.clock_offset() == dt.timedelta(hours=1)

        other.reset()
        # Redis writes the invalidation on one's own socket in the pass that answers the reset; on a loaded
        # machine the kernel may hand it over a moment after the answer (docs/state.md): at most 100 ms here.
        deadline = time.monotonic() + 0.1
        while one.sticky("org_paid_demo") is not None and time.monotonic() < deadline:
            time.sleep(0.001)
        assert (one.sticky("org_paid_demo"), one.organization("org_free_demo")) == (None, None)
        assert one.clock_offset() == dt.timedelta()


def test_a_compare_and_set_on_a_value_kept_before_another_process_changed_it_fails_and_reads_anew(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with states(state_url("redis", request, tmp_path), 2) as (one, other):
        assert one.organization("org_free_demo") is None
        assert other.swap_organization("org_free_demo", None, {"name": "theirs"})
        assert not one.swap_organization("org_free_demo", None, {"name": "mine"})
        assert one.organization("org_free_demo") == {"name": "theirs"}


def test_the_log_sent_by_one_process_is_read_whole_by_itself_and_by_another(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with states(state_url("redis", request, tmp_path), 2) as (one, other):
        for number in range(50):
            one.log({"n": number})
        assert [entry["n"] for entry in one.recent(50)] == list(range(50))
        one.log({"n": 50})
        assert [entry["n"] for entry in other.recent(3)] == [48, 49, 50]
        one.log({"n": 51})
        other.reset()
        assert one.recent(10) == other.recent(10) == []


def test_the_entries_of_one_event_loop_turn_are_sent_together_and_in_the_log_by_the_next(tmp_path: Path) -> None:
    process, url = start_redis(tmp_path)
    server = redis.Redis.from_url(url)
    one = open_state(url)
    runner = Runner(one, timeout=5)
    try:
        with states(url, 1) as (other,):

            async def turn() -> list[dict[str, object]]:
                for number in range(10):
                    runner.log(DEFAULT, {"n": number})
                    runner.log("sbx-a", {"n": number})
                await asyncio.sleep(0)  # the end of the turn
                await runner.flush()
                return other.recent(10)

            server.config_resetstat()
            assert asyncio.run(turn()) == [{"n": number} for number in range(10)]
            assert one.world("sbx-a").recent(1) == [{"n": 9}]
            assert server.info("commandstats")["cmdstat_eval"]["calls"] == 2  # type: ignore[index]  # a sandbox each
    finally:
        runner.close()
        server.close()
        stop(process)


def test_requests_that_change_nothing_make_no_round_trip_to_redis(tmp_path: Path) -> None:
    process, url = start_redis(tmp_path)  # a server of its own: its command counts are this test's
    server = redis.Redis.from_url(url)
    app = create_app(Settings(state=url), clock=Clock(start=START))
    try:
        with TestClient(app, base_url=BASE_URL) as client:
            client.get("/account/organization", headers=PAID)
            app.services.store.runner.drain()
            server.config_resetstat()
            for _ in range(100):
                assert client.get("/account/organization", headers=PAID).status_code == 200
            assert client.post("/billing", headers=PAID, json={"successUrl": BASE_URL, "cancelUrl": BASE_URL})
            app.services.store.runner.drain()
            counted = cast(dict[str, dict[str, int]], server.info("commandstats"))
            calls = {name: stats["calls"] for name, stats in counted.items()}
            assert len(client.get("/__mock__/requests", params={"limit": 200}).json()["requests"]) == 102
        # the log's scripts, which push the entries (and read the generation), a script for one or more
        # requests: nothing else
        scripts = calls.pop("cmdstat_eval")
        assert 1 <= scripts <= 101
        assert calls == {
            "cmdstat_config|resetstat": 1,
            "cmdstat_get": scripts,
            "cmdstat_lpush": scripts,
            "cmdstat_ltrim": scripts,
        }
    finally:
        app.services.store.close()
        server.close()
        stop(process)


def test_after_redis_restarts_nothing_kept_from_before_is_answered(tmp_path: Path) -> None:
    process, url = start_redis(tmp_path)
    with states(url, 1) as (state,):
        state.set_sticky("org_paid_demo", 402)
        assert state.sticky("org_paid_demo") == 402
        stop(process)
        process, _ = start_redis(tmp_path, port=httpx.URL(url).port)  # without persistence: empty
        try:
            assert state.sticky("org_paid_demo") is None
            state.log({"after": "restart"})
            assert state.recent(5) == [{"after": "restart"}]
        finally:
            stop(process)


def test_what_a_process_keeps_stays_bounded_however_many_organizations_it_is_asked_for(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with states(state_url("redis", request, tmp_path), 1) as (state,):
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for number in range(25_000):
                assert state.sticky(f"org_{number:0300d}") is None
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert grown < 8_000_000  # 25,000 organizations with ids of 300 characters, all kept: over 11 MB
