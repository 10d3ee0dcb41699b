"""Billing time: dates relative to the clock's start, the clock users move, and what its passing does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.asgi import MockServer
from mock_server.clock import add_months, parse_duration
from mock_server.lifecycle import as_of, relative, resets
from mock_server.pytest_plugin import serve

from .conftest import BASE_URL, checkout_body

START = dt.datetime(2027, 3, 5, 9, 30, tzinfo=dt.UTC)
DOWNGRADE = {"Authorization": "Bearer sk_test_downgrade_org"}
FREE = {"Authorization": "Bearer sk_test_free_org"}
PAID = {"Authorization": "Bearer sk_test_paid_org"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def app() -> MockServer:
    return create_app(Settings(clock_start=START))


@pytest.fixture
def client(app: MockServer) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


def _billing(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.post("/billing", headers=headers, json=checkout_body(BASE_URL))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _move(client: TestClient, **fields: str) -> Any:
    return client.post("/__mock__/clock", json=fields)


# the model, unit by unit ----------------------------------------------------------------------------


def test_a_month_on_is_clamped_to_the_months_end_and_a_clamped_day_stays_clamped() -> None:
    day = dt.date(2027, 1, 31)
    assert [add_months(day, n) for n in (1, 2, 13)] == [
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),
        dt.date(2028, 2, 29),
    ]
    assert resets(day, dt.date(2027, 3, 27)) == (dt.date(2027, 2, 28), dt.date(2027, 3, 28))
    assert resets(day, dt.date(2027, 3, 28)) == (dt.date(2027, 3, 28), dt.date(2027, 4, 28))
    assert resets(dt.date(2027, 1, 15), dt.date(2031, 6, 15)) == (dt.date(2031, 6, 15), dt.date(2031, 7, 15))


def test_durations_are_iso_8601_and_nothing_else() -> None:
    assert parse_duration("P1Y2M3W4DT5H6M7S") is not None
    assert parse_duration("P30D").after(START) == START + dt.timedelta(days=30)  # type: ignore[union-attr]
    for bad in ("", "P", "PT", "30D", "P-1D", "P1.5D", "p1d", "P1D ", "P" + "9" * 80 + "D"):
        assert parse_duration(bad) is None, bad


def test_passing_the_anniversary_starts_a_new_cycle_and_updated_at_says_when() -> None:
    organization = {
        "anniversaryDate": "2027-03-10",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-02-01T00:00:00.000Z",
    }
    assert as_of(organization, dt.datetime(2027, 3, 9, 23, 59, tzinfo=dt.UTC)) is organization
    later = as_of(organization, dt.datetime(2027, 5, 11, tzinfo=dt.UTC))
    assert later["anniversaryDate"] == "2027-06-10"
    assert later["updatedAt"] == "2027-05-10T00:00:00.000Z"


def test_a_pending_downgrade_applies_on_its_date_and_every_pending_field_goes() -> None:
    organization = {
        "organizationType": "paid",
        "messagesCap": 50000,
        "costCap": 50,
        "anniversaryDate": "2027-04-01",
        "updatedAt": "2027-01-01T00:00:00.000Z",
        "pendingDowngradeMessagesCap": 1000,
        "pendingDowngradeCostCap": 0,
        "pendingDowngradeSmsCap": 0,
        "pendingDowngradeCallCap": 0,
        "pendingDowngradeEffectiveDate": "2027-03-20",
        "pendingDowngradeAccountType": "free",
    }
    before = as_of(organization, dt.datetime(2027, 3, 19, tzinfo=dt.UTC))
    assert before is organization
    after = as_of(organization, dt.datetime(2027, 3, 20, tzinfo=dt.UTC))
    assert (after["organizationType"], after["messagesCap"], after["costCap"]) == ("free", 1000, 0)
    assert (after["smsCap"], after["callCap"]) == (0, 0)
    assert not [field for field in after if field.startswith("pendingDowngrade")]
    assert after["updatedAt"] == "2027-03-20T00:00:00.000Z"
    assert after["anniversaryDate"] == "2027-04-01"


def test_billing_time_read_twice_or_in_steps_is_the_same() -> None:
    organization = {"anniversaryDate": "2027-01-31", "updatedAt": "2026-01-01T00:00:00.000Z"}
    moments = [dt.datetime(2027, month, 1, tzinfo=dt.UTC) for month in (2, 3, 4, 9)] + [
        dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
    ]
    stepped = organization
    for moment in moments:
        stepped = as_of(stepped, moment)
        assert stepped == as_of(organization, moment)


def test_dates_relative_to_the_start_are_read_and_bad_ones_refused() -> None:
    assert relative("start", START) == START
    assert relative("start+P1M", START) == dt.datetime(2027, 4, 5, 9, 30, tzinfo=dt.UTC)
    assert relative("start-PT90M", START) == START - dt.timedelta(minutes=90)
    assert relative("2027-01-01", START) is None
    for bad in ("start+", "start+30D", "start*P1D", "starting"):
        with pytest.raises(ValueError, match="start"):
            relative(bad, START)


# through the API, the dashboard and the plugin ------------------------------------------------------


def test_the_shipped_fixtures_are_fresh_on_any_start(tmp_path: Any) -> None:
    for start in (dt.datetime(2019, 2, 28, tzinfo=dt.UTC), START, dt.datetime(2061, 12, 31, 23, tzinfo=dt.UTC)):
        app = create_app(Settings(clock_start=start))
        with TestClient(app, base_url=BASE_URL) as client:
            for moved in ("P0D", "P45D", "P13M", "P10Y"):
                now = dt.datetime.fromisoformat(_move(client, advance=moved).json()["now"])
                for tenant in app.services.store:
                    body = client.get("/account/organization", headers={"Authorization": f"Bearer {tenant.api_key}"})
                    assert body.json()["anniversaryDate"] > now.date().isoformat(), (start, moved, tenant.label)


def test_moving_past_the_downgrade_date_turns_the_organization_free_with_the_pending_caps(client: TestClient) -> None:
    before = _billing(client, DOWNGRADE)
    assert before["pendingDowngradeAccountType"] == "free"
    moved = _move(client, to=f"{before['pendingDowngradeEffectiveDate']}T00:00:00Z")
    assert moved.status_code == 200
    after = _billing(client, DOWNGRADE)
    assert after["organizationType"] == "free"
    assert after["messagesCap"] == before["pendingDowngradeMessagesCap"]
    assert after["costCap"] == before["pendingDowngradeCostCap"]
    assert not [field for field in after if field.startswith("pendingDowngrade")]
    assert after["updatedAt"] == f"{before['pendingDowngradeEffectiveDate']}T00:00:00.000Z"
    assert client.get("/account/organization", headers=DOWNGRADE).json()["organizationType"] == "free"


def test_the_dashboard_moves_the_clock_a_day_a_month_and_to_the_next_anniversary(client: TestClient) -> None:
    page = client.get("/__mock__/", headers={"Accept": "text/html"}).text
    for label in ("+1 day", "+1 month", "To the next anniversary"):
        assert label in page
    day = client.post("/__mock__/clock", content="advance=P1D", headers=FORM, follow_redirects=False)
    assert (day.status_code, day.headers["location"]) == (303, "/__mock__/#clock")
    assert client.get("/__mock__/clock").json()["now"] == "2027-03-06T09:30:00.000Z"
    earliest = min(
        client.get("/account/organization", headers={"Authorization": f"Bearer {tenant.api_key}"}).json()[
            "anniversaryDate"
        ]
        for tenant in client.app.services.store  # type: ignore[attr-defined]
    )
    client.post("/__mock__/clock", content="to=next-anniversary", headers=FORM)
    assert client.get("/__mock__/clock").json()["now"] == f"{earliest}T00:00:00.000Z"


def test_the_dashboard_shows_the_downgrade_applied_once_its_clock_passes_the_date(client: TestClient) -> None:
    organization = client.get("/account/organization", headers=DOWNGRADE).json()
    before = _billing(client, DOWNGRADE)
    effective = before["pendingDowngradeEffectiveDate"]

    def row() -> str:
        page = client.get("/__mock__/", headers={"Accept": "text/html"}).text
        start = page.index(f'<tr id="org-{organization["organizationId"]}">')
        return page[start : page.index("</tr>", start)]

    assert f"downgrade to free on {effective}" in row() and f"from {effective}:" in row()
    moved = client.post("/__mock__/clock", content=f"to={effective}T00:00:00Z", headers=FORM, follow_redirects=False)
    assert moved.status_code == 303
    shown = row()
    assert '<td data-label="Plan" class="plan wide">Free' in shown
    assert "downgrade to" not in shown and f"from {effective}:" not in shown
    caps = f"{before['pendingDowngradeMessagesCap']:,} · {before['pendingDowngradeCostCap']:,}"
    assert caps in shown


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({}, "exactly one of advance or to"),
        ({"advance": "P1D", "to": "2030-01-01T00:00:00Z"}, "exactly one of advance or to"),
        ({"advance": "1 day"}, "ISO 8601 duration"),
        ({"advance": 5}, "ISO 8601 duration"),
        ({"to": "2027-01-01T00:00:00Z"}, "only moves forward"),
        ({"to": "2030-01-01"}, "UTC offset"),
        ({"to": "tomorrow"}, "UTC offset"),
        ({"advance": "P9000Y"}, "9998"),
    ],
)
def test_the_clock_refuses_to_go_back_or_anywhere_unclear(
    client: TestClient, fields: dict[str, Any], says: str
) -> None:
    refused = _move(client, **fields)
    assert refused.status_code == 400
    assert says in refused.json()["error"]["message"] and refused.json()["error"]["fix"]
    assert client.get("/__mock__/clock").json()["now"] == "2027-03-05T09:30:00.000Z"


def test_each_sandbox_has_a_clock_of_its_own(client: TestClient) -> None:
    moved = client.post("/__mock__/clock", json={"advance": "P40D"}, headers={"X-Mock-Sandbox": "later"}).json()
    assert (moved["sandbox"], moved["now"]) == ("later", "2027-04-14T09:30:00.000Z")
    assert client.get("/__mock__/clock").json()["now"] == "2027-03-05T09:30:00.000Z"
    in_later = client.post(
        "/billing", headers={**DOWNGRADE, "X-Mock-Sandbox": "later"}, json=checkout_body(BASE_URL)
    ).json()
    assert in_later["organizationType"] == "free"
    assert _billing(client, DOWNGRADE)["organizationType"] == "paid"
    client.post("/__mock__/reset", headers={"X-Mock-Sandbox": "later"})
    assert (
        client.get("/__mock__/clock", headers={"X-Mock-Sandbox": "later"}).json()["now"] == "2027-03-05T09:30:00.000Z"
    )


def _script(app: MockServer) -> list[tuple[int, str, bytes]]:
    """A user's session: status, X-Tracking-Id and body of every answer."""
    answers = []
    with TestClient(app, base_url=BASE_URL) as client:
        calls = [
            lambda: client.get("/account/organization", headers=FREE),
            lambda: client.post(
                "/billing", headers=FREE, json=checkout_body(BASE_URL, messagePriceId="price_message_growth")
            ),
            lambda: client.post("/billing", headers=FREE, json={"successUrl": "nope", "cancelUrl": BASE_URL}),
            lambda: client.post("/__mock__/clock", json={"advance": "P33D"}),
            lambda: client.post("/billing", headers=DOWNGRADE, json=checkout_body(BASE_URL)),
            lambda: client.get("/account/organization", headers=PAID),
        ]
        for call in calls:
            answer = call()
            answers.append((answer.status_code, answer.headers["x-tracking-id"], answer.content))
        session = answers[1][2]
        url = client.app.services.store.world().recent_sessions(1)[0]["url"]  # type: ignore[attr-defined]
        paid = client.post(url, data={"action": "pay"}, follow_redirects=False)
        answers.append((paid.status_code, paid.headers["x-tracking-id"], session))
        answer = client.post("/billing", headers=FREE, json=checkout_body(BASE_URL))
        answers.append((answer.status_code, answer.headers["x-tracking-id"], answer.content))
    return answers


def test_a_run_with_clock_start_repeats_to_the_byte() -> None:
    first = _script(create_app(Settings(clock_start=START, seed=7)))
    second = _script(create_app(Settings(clock_start=START, seed=7)))
    assert first == second
    assert b"cus_" in first[1][2] and b"cs_test_" in first[1][2]
    assert _script(create_app(Settings(clock_start=START, seed=8))) != first


def test_the_plugin_moves_the_clock_past_the_downgrade() -> None:
    import httpx

    with serve(Settings(port=0, clock_start=START)) as mock:
        effective = httpx.post(f"{mock.url}/billing", headers=DOWNGRADE, json=checkout_body(BASE_URL)).json()[
            "pendingDowngradeEffectiveDate"
        ]
        moved = mock.advance_clock(dt.datetime.fromisoformat(f"{effective}T00:00:00+00:00") - mock.now())
        assert moved.date().isoformat() == effective
        after = httpx.get(f"{mock.url}/account/organization", headers=DOWNGRADE).json()
        assert (after["organizationType"], after["messagesCap"]) == ("free", 1000)
