"""The State interface, called directly: each backend keeps the promises docs/state.md makes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.clock import Clock
from mock_server.store import Read, Sandbox
from mock_server.stores import DEFAULT, State, World, open_state

from .conftest import BASE_URL, START, checkout_body, stored
from .redis_server import BACKENDS, state_url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[State]:
    opened = open_state(state_url(request.param, request, tmp_path))
    yield opened
    opened.close()


@pytest.fixture
def state(backend: State) -> World:
    """The default sandbox's state."""
    return backend.world(DEFAULT)


def session(number: int, status: str = "open") -> dict[str, Any]:
    return {"id": f"cs_test_{number}", "organizationId": "org_a", "status": status}


def test_a_swap_stores_only_over_what_was_read(state: World) -> None:
    first, second = {"name": "first"}, {"name": "second"}
    assert state.swap_organization("org_a", None, first)
    assert not state.swap_organization("org_a", None, second)  # another writer came first
    assert not state.swap_organization("org_a", {"name": "other"}, second)
    assert state.organization("org_a") == first
    assert state.swap_organization("org_a", first, second)
    assert state.organization("org_a") == second
    assert state.organization("org_b") is None


def test_a_session_completes_once_and_not_over_a_changed_organization(state: World) -> None:
    state.add_session(session(1))
    paid = session(1, "complete")
    assert state.complete_session(paid, "org_a", {"name": "stale"}, {"name": "new"}) == "stale"
    assert state.session("cs_test_1") == session(1)  # nothing was stored
    assert state.organization("org_a") is None
    assert state.complete_session(paid, "org_a", None, {"name": "new"}) == "paid"
    assert state.complete_session(paid, "org_a", {"name": "new"}, {"name": "newer"}) == "closed"
    assert state.complete_session(session(2, "complete"), "org_a", {"name": "new"}, {}) == "closed"  # unknown
    assert (state.session("cs_test_1"), state.organization("org_a")) == (paid, {"name": "new"})


def test_sessions_keep_their_place_and_the_most_recent_stay(state: World) -> None:
    state.max_sessions = 3
    for number in range(5):
        state.add_session(session(number))
    state.add_session(session(2, "complete"))
    assert list(state.sessions()) == ["cs_test_2", "cs_test_3", "cs_test_4"]
    assert [found["id"] for found in state.recent_sessions(2)] == ["cs_test_4", "cs_test_3"]
    assert state.session("cs_test_1") is None and state.session("cs_test_2") == session(2, "complete")


def test_sticky_clock_and_log(state: World) -> None:
    state.set_sticky("org_a", 402)
    state.set_sticky("org_b", 503)
    state.set_sticky("org_b", None)
    assert (state.sticky("org_a"), state.sticky("org_b"), state.stickies()) == (402, None, {"org_a": 402})
    assert state.advance_clock(dt.timedelta(hours=1, microseconds=5)) == dt.timedelta(hours=1, microseconds=5)
    state.advance_clock(dt.timedelta(hours=1))
    assert state.clock_offset() == dt.timedelta(hours=2, microseconds=5)
    for number in range(250):
        state.log({"n": number})
    assert state.recent(3) == [{"n": 247}, {"n": 248}, {"n": 249}]
    assert len(state.recent(1000)) == 200


def test_a_reset_whose_last_step_fails_changes_nothing(state: World) -> None:
    state.swap_organization("org_a", None, {"name": "changed"})
    state.add_session(session(1))
    state.set_sticky("org_a", 402)
    state.advance_clock(dt.timedelta(days=1))
    state.log({"n": 1})

    def fail() -> None:
        raise RuntimeError("injected")

    with pytest.raises(RuntimeError):
        state.reset(fail)
    kept = (state.organization("org_a"), state.sessions(), state.stickies(), state.clock_offset(), state.recent(5))
    assert kept == ({"name": "changed"}, {"cs_test_1": session(1)}, {"org_a": 402}, dt.timedelta(days=1), [{"n": 1}])
    state.reset()
    empty = (state.organization("org_a"), state.sessions(), state.stickies(), state.clock_offset(), state.recent(5))
    assert empty == (None, {}, {}, dt.timedelta(), [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_pay_planned_on_an_organization_changed_meanwhile_is_planned_again(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    url = state_url(backend, request, tmp_path)
    app = create_app(Settings(state=url), clock=Clock(start=START))
    store = app.services.store
    with TestClient(app, base_url=BASE_URL) as client:
        body = checkout_body(BASE_URL, messagePriceId="price_message_growth")
        checkout = client.post("/billing", headers={"Authorization": "Bearer sk_test_free_org"}, json=body).json()
        changed, plans = Sandbox.changed, []

        def changed_elsewhere_first(sandbox: Sandbox, read: Read, *args: Any, **kwargs: Any) -> dict[str, Any]:
            plans.append(read.organization["organizationId"])
            if len(plans) == 1:  # another process renames the organization between the read and the write
                renamed = {**read.organization, "name": "Renamed Elsewhere"}
                assert store.world().swap_organization("org_free_demo", read.stored, renamed)
            return changed(sandbox, read, *args, **kwargs)

        monkeypatch.setattr(Sandbox, "changed", changed_elsewhere_first)
        assert client.post(checkout["url"], data={"action": "pay"}, follow_redirects=False).status_code == 303
    organization = stored(app).organization("org_free_demo")
    assert organization is not None
    assert len(plans) == 2
    assert (organization["name"], organization["organizationType"]) == ("Renamed Elsewhere", "paid")
