"""Rules the document states in words, each a property checked against any target.

- Missing or wrong credentials get the documented 401, and nothing else.
- A checkout session (``sessionId`` and ``url``) comes back exactly when a price is given:
  for each of the two price fields alone, both together, and neither.
- A price of the other tier is refused with 400.
- ``POST /billing`` without a price changes nothing about the organization beyond getting or
  creating its Stripe customer: GET before and after, and consecutive POSTs, agree.

A rule that cannot run against this target (no prices, writes off) is skipped and reported as
"not run" with the reason.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from .answer import Answer
from .checks import PRICE_FIELDS, session_problem
from .options import RunSettings
from .report import Finding, Recorder, Violation, request_digest
from .target import ORGANIZATION_PATH, Target
from .test_properties import BILLING_PATH, NO_PRICES, WRITES_OFF

URLS = {"successUrl": "https://app.example.com/billing/done", "cancelUrl": "https://app.example.com/billing"}
# What POST /billing without a price must leave as it was: plan, caps, dates, name (updatedAt may move
# when the customer is created).
UNCHANGED = (
    "organizationId",
    "organizationType",
    "creator",
    "name",
    "messagesCap",
    "costCap",
    "smsCap",
    "callCap",
    "allowOverage",
    "anniversaryDate",
    "createdAt",
)


class Judge:
    """Sends the requests of one rule and records, per answer, that the rule judged it."""

    def __init__(self, target: Target, recorder: Recorder, check: str) -> None:
        self.target, self.recorder, self.check = target, recorder, check

    def send(self, method: str, path: str, *, auth: str | None, body: Any = None) -> Answer:
        answer = self.target.request(method, path, auth=auth, body=body)
        self.recorder.sent(f"{method} {path}", answer.status, request_digest(method, answer.url, answer.data))
        return answer

    def expect(self, ok: bool, answer: Answer, expected: str) -> None:
        operation = f"{answer.method} {answer.url.removeprefix(self.target.base_url)}"
        if ok:
            self.recorder.ran(operation, self.check)
            return
        finding = Finding(operation, self.check, expected, answer.describe(expected))
        self.recorder.failed(finding)
        raise Violation([finding])


def _require(recorder: Recorder, check: str, why: str | None) -> None:
    if why:
        recorder.skipped(why, check)
        pytest.skip(why)


def _price_ids(settings: RunSettings) -> dict[str, str]:
    return {
        field: price
        for field, price in zip(PRICE_FIELDS, (settings.message_price_id, settings.budget_price_id), strict=True)
        if price
    }


WRONG = {
    "no credentials": None,
    "an unknown bearer key": "Bearer sk_contract_tests_not_a_key",
    "unknown basic credentials": "Basic " + base64.b64encode(b"contract-tests:not-a-secret").decode(),
}


@pytest.mark.parametrize("credentials", list(WRONG))
def test_refused_credentials_get_401(credentials: str, target: Target, recorder: Recorder) -> None:
    judge = Judge(target, recorder, "credentials_refused_with_401")
    answer = judge.send("GET", ORGANIZATION_PATH, auth=WRONG[credentials])
    judge.expect(answer.status == 401, answer, f"401 for {credentials}, as documented")
    if target.settings.writes:
        answer = judge.send("POST", BILLING_PATH, auth=WRONG[credentials], body=URLS)
        judge.expect(answer.status == 401, answer, f"401 for {credentials}, as documented")


@pytest.mark.parametrize(
    "given", [(), ("messagePriceId",), ("budgetPriceId",), PRICE_FIELDS], ids=["no price", "message", "budget", "both"]
)
def test_a_session_exactly_when_a_price_is_given(given: tuple[str, ...], target: Target, recorder: Recorder) -> None:
    settings = target.settings
    prices = _price_ids(settings)
    missing = [field for field in given if field not in prices]
    why = WRITES_OFF if not settings.writes else (NO_PRICES if missing else None)
    _require(recorder, "session_exactly_with_a_price", why)
    judge = Judge(target, recorder, "session_exactly_with_a_price")
    body = {**URLS, **{field: prices[field] for field in given}}
    answer = judge.send("POST", BILLING_PATH, auth=target.auth, body=body)
    data = answer.json if isinstance(answer.json, dict) else {}
    judge.expect(answer.status == 200, answer, f"200 for a POST /billing with {', '.join(given) or 'no price'}")
    problem = session_problem(body, data)
    judge.expect(problem is None, answer, problem or "")


@pytest.mark.parametrize("field", PRICE_FIELDS)
def test_a_price_of_the_other_tier_is_refused(field: str, target: Target, recorder: Recorder) -> None:
    settings = target.settings
    prices = _price_ids(settings)
    why = WRITES_OFF if not settings.writes else (None if len(prices) == 2 else "needs the prices of both tiers")
    _require(recorder, "other_tier_price_refused", why)
    judge = Judge(target, recorder, "other_tier_price_refused")
    other = prices["budgetPriceId" if field == "messagePriceId" else "messagePriceId"]
    answer = judge.send("POST", BILLING_PATH, auth=target.auth, body={**URLS, field: other})
    judge.expect(answer.status == 400, answer, f"400: {field} given a price of the other tier ({other})")


def test_post_without_a_price_changes_nothing(target: Target, recorder: Recorder) -> None:
    _require(recorder, "post_without_price_changes_nothing", None if target.settings.writes else WRITES_OFF)
    judge = Judge(target, recorder, "post_without_price_changes_nothing")
    answers = [
        judge.send("GET", ORGANIZATION_PATH, auth=target.auth),
        judge.send("POST", BILLING_PATH, auth=target.auth, body=URLS),
        judge.send("POST", BILLING_PATH, auth=target.auth, body=URLS),
        judge.send("GET", ORGANIZATION_PATH, auth=target.auth),
    ]
    for answer in answers:
        judge.expect(answer.status == 200 and isinstance(answer.json, dict), answer, "200 with a JSON object")
    before = answers[0].json
    for answer in answers[1:]:
        changed = [field for field in UNCHANGED if answer.json.get(field) != before.get(field)]
        what = "the first POST" if answer is answers[1] else "the next call"
        expected = f"{', '.join(changed)} as GET showed before POST /billing without a price; {what} changed them"
        judge.expect(not changed, answer, expected)
