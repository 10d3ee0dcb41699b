"""Every answer stays valid at every instant: random clock moves and random calls, each answer judged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.lifecycle import PENDING
from mock_server.spec import load_spec

from .conftest import BASE_URL, checkout_body

SPEC = load_spec()
SCHEMAS = {
    "GET": SPEC.validator("Organization"),
    "POST": SPEC.validator("BillingResponse"),
    "error": SPEC.validator("ErrorResponse"),
}
PENDING_FIELDS = (*PENDING.values(), "pendingDowngradeEffectiveDate", "pendingDowngradeAccountType")
PRICES = [{}, {"messagePriceId": "price_message_starter"}, {"budgetPriceId": "price_budget_growth"}]
PRICES += [{"messagePriceId": "price_message_growth", "budgetPriceId": "price_budget_starter"}]
MOVES = st.one_of(
    st.integers(0, 400).map(lambda days: {"advance": f"P{days}D"}),
    st.integers(1, 25).map(lambda months: {"advance": f"P{months}M"}),
    st.integers(1, 72).map(lambda hours: {"advance": f"PT{hours}H"}),
    st.just({"to": "next-anniversary"}),
)


class BillingTime(RuleBasedStateMachine):
    """One mock on a frozen clock; the rules call it as a frontend and a tester would."""

    @initialize(start=st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2040, 12, 31)))
    def start(self, start: dt.datetime) -> None:
        self.app = create_app(Settings(clock_start=start.replace(tzinfo=dt.UTC)))
        self.client = TestClient(self.app, base_url=BASE_URL)
        self.keys = [tenant.api_key for tenant in self.app.services.store]
        self.sessions: list[str] = []
        self.now = start.replace(tzinfo=dt.UTC)

    def judge(self, method: str, answer: Any) -> None:
        body = answer.json()
        if answer.status_code >= 400:
            assert not list(SCHEMAS["error"].iter_errors(body)), body
            return
        assert answer.status_code == 200, answer.text
        assert not list(SCHEMAS[method].iter_errors(body)), body
        assert body["anniversaryDate"] > self.now.date().isoformat(), (body, self.now)  # a reset day not yet gone
        assert body["updatedAt"] >= body["createdAt"], body
        present = [field for field in PENDING_FIELDS if field in body]
        assert len(present) in (0, len(PENDING_FIELDS)), body  # all present, or all absent

    @rule(key=st.integers(0, 7))
    def read(self, key: int) -> None:
        answer = self.client.get("/account/organization", headers={"Authorization": f"Bearer {self.keys[key]}"})
        self.judge("GET", answer)

    @rule(key=st.integers(0, 7), prices=st.sampled_from(PRICES))
    def prepare(self, key: int, prices: dict[str, str]) -> None:
        body = checkout_body(BASE_URL, **prices)
        answer = self.client.post("/billing", headers={"Authorization": f"Bearer {self.keys[key]}"}, json=body)
        self.judge("POST", answer)
        if answer.status_code == 200 and "url" in answer.json():
            self.sessions.append(answer.json()["url"])

    @rule(data=st.data(), action=st.sampled_from(["pay", "cancel"]))
    def checkout(self, data: st.DataObject, action: str) -> None:
        if not self.sessions:
            return
        url = data.draw(st.sampled_from(self.sessions))
        answer = self.client.post(url, data={"action": action}, follow_redirects=False)
        assert answer.status_code in (303, 404, 409, 410), answer.text

    @rule(move=MOVES)
    def move(self, move: dict[str, str]) -> None:
        answer = self.client.post("/__mock__/clock", json=move)
        assert answer.status_code == 200, answer.text
        self.now = dt.datetime.fromisoformat(answer.json()["now"])

    @rule()
    def reset(self) -> None:
        assert self.client.post("/__mock__/reset").status_code == 200
        self.sessions.clear()
        self.now = dt.datetime.fromisoformat(self.client.get("/__mock__/clock").json()["now"])

    @invariant()
    def every_organization_in_the_future(self) -> None:
        if not hasattr(self, "client"):
            return
        for key in self.keys:
            self.judge("GET", self.client.get("/account/organization", headers={"Authorization": f"Bearer {key}"}))

    def teardown(self) -> None:
        if hasattr(self, "client"):
            self.client.close()


BillingTime.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
test_every_answer_stays_valid_as_time_passes = BillingTime.TestCase
