"""Rules the document states in words, each a property checked against any target, with each credential form.

- A checkout session (``sessionId`` and ``url``) comes back exactly when a price is given:
  for each of the two price fields alone, both together, and neither; and the organization
  reads the same afterwards.
- A price of the other tier is refused with 400 (the oracle holds it to the documented body).
- ``POST /billing`` gets or creates one Stripe customer: the same ``stripeCustomerId`` whichever
  credential form sends it, and without a price it changes nothing else about the organization.

Every answer also goes through the oracle. A rule that cannot run against this target (no
prices, writes off) is skipped and reported as "not run" with the reason; a 402 (usage limits
exceeded, documented) is an answer the rule cannot judge.
"""

from __future__ import annotations

from typing import Any

import pytest

from .answer import Answer
from .checks import PRICE_FIELDS, session_problem
from .expect import Expect
from .options import RunSettings
from .oracle import Oracle
from .report import Recorder
from .target import ORGANIZATION_PATH, Target
from .test_properties import BILLING_PATH, IDENTITY_FIELDS, NO_PRICES, WRITES_OFF

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


@pytest.fixture
def expect(target: Target, recorder: Recorder, oracle: Oracle) -> Expect:
    return Expect(target, recorder, oracle)


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


@pytest.mark.parametrize(
    "given", [(), ("messagePriceId",), ("budgetPriceId",), PRICE_FIELDS], ids=["no price", "message", "budget", "both"]
)
def test_a_session_exactly_when_a_price_is_given(
    given: tuple[str, ...], target: Target, recorder: Recorder, expect: Expect
) -> None:
    settings = target.settings
    prices = _price_ids(settings)
    missing = [field for field in given if field not in prices]
    why = WRITES_OFF if not settings.writes else (NO_PRICES if missing else None)
    _require(recorder, "session_exactly_with_a_price", why)
    body = {**URLS, **{field: prices[field] for field in given}}
    for form in target.forms:
        what = f"a POST /billing with {', '.join(given) or 'no price'} (the {form.name} credentials)"
        answer = target.request("POST", BILLING_PATH, auth=form.header, body=body)
        if expect.success(answer, what):
            problem = session_problem(body, answer.json)
            expect(problem is None, answer, "session_exactly_with_a_price", problem or "")
        # After the checkout (or the call without one), the organization as each credential form reads it.
        for reader in target.forms:
            after = target.request("GET", ORGANIZATION_PATH, auth=reader.header)
            expect.success(after, f"GET {ORGANIZATION_PATH} with the {reader.name} credentials after {what}")


@pytest.mark.parametrize("field", PRICE_FIELDS)
def test_a_price_of_the_other_tier_is_refused(field: str, target: Target, recorder: Recorder, expect: Expect) -> None:
    settings = target.settings
    prices = _price_ids(settings)
    why = WRITES_OFF if not settings.writes else (None if len(prices) == 2 else "needs the prices of both tiers")
    _require(recorder, "other_tier_price_refused", why)
    other = prices["budgetPriceId" if field == "messagePriceId" else "messagePriceId"]
    for form in target.forms:
        answer = target.request("POST", BILLING_PATH, auth=form.header, body={**URLS, field: other})
        expected = f"400: {field} given a price of the other tier ({other}), with the {form.name} credentials"
        expect(answer.status == 400, answer, "other_tier_price_refused", expected)


def _posts(target: Target, expect: Expect, body: dict[str, Any]) -> list[tuple[Answer, dict[str, Any]]]:
    """POST /billing with each credential form, twice over; the answers that can be judged."""
    judged = []
    for form in [*target.forms, *target.forms]:
        answer = target.request("POST", BILLING_PATH, auth=form.header, body=body)
        if expect.success(answer, f"POST /billing with the {form.name} credentials"):
            judged.append((answer, answer.json))
    return judged


def test_one_stripe_customer_whichever_credential(target: Target, recorder: Recorder, expect: Expect) -> None:
    _require(recorder, "same_stripe_customer", None if target.settings.writes else WRITES_OFF)
    judged = _posts(target, expect, URLS)
    first: Any = None
    for answer, data in judged:
        customer = data.get("stripeCustomerId")
        if not expect(
            isinstance(customer, str) and bool(customer), answer, "stripe_customer_returned", "a stripeCustomerId"
        ):
            continue
        first = first or customer
        expect(
            customer == first,
            answer,
            "same_stripe_customer",
            "the stripeCustomerId of the first POST /billing, whichever credential form (get or create)",
        )


def test_post_without_a_price_changes_nothing(target: Target, recorder: Recorder, expect: Expect) -> None:
    _require(recorder, "post_without_price_changes_nothing", None if target.settings.writes else WRITES_OFF)
    before = target.request("GET", ORGANIZATION_PATH, auth=target.auth)
    if not expect.success(before, f"GET {ORGANIZATION_PATH}"):
        return
    answers = [answer for answer, _ in _posts(target, expect, URLS)]
    for form in target.forms:
        after = target.request("GET", ORGANIZATION_PATH, auth=form.header)
        if expect.success(after, f"GET {ORGANIZATION_PATH} with the {form.name} credentials"):
            answers.append(after)
    for answer in answers:
        changed = [field for field in UNCHANGED if answer.json.get(field) != before.json.get(field)]
        expected = f"{', '.join(changed)} as GET showed before POST /billing without a price; this call changed them"
        expect(not changed, answer, "post_without_price_changes_nothing", expected)
        if answer.method == "POST":
            differing = [field for field in IDENTITY_FIELDS if answer.json.get(field) != before.json.get(field)]
            expect(
                not differing,
                answer,
                "post_agrees_with_get",
                f"POST /billing to agree with GET /account/organization on {', '.join(differing)}",
            )


def test_each_account_sees_its_own(target: Target, recorder: Recorder, expect: Expect) -> None:
    """The other account's organization and Stripe customer, before and after the account's own calls."""
    other = target.other
    _require(
        recorder, "tenant_isolation", None if other is not None else "no --other-api-key: a second account is needed"
    )
    assert other is not None
    mine = target.request("GET", ORGANIZATION_PATH, auth=target.auth)
    if not expect.success(mine, f"GET {ORGANIZATION_PATH}"):
        return
    own = mine.json.get("organizationId")
    calls: list[tuple[str, str, Any]] = [("GET", ORGANIZATION_PATH, None)]
    if target.settings.writes:
        calls = [("GET", ORGANIZATION_PATH, None), ("POST", BILLING_PATH, URLS), ("GET", ORGANIZATION_PATH, None)]
        target.request("POST", BILLING_PATH, auth=target.auth, body=URLS)
    customers: set[Any] = set()
    for method, path, body in calls:
        answer = target.request(method, path, auth=other.header, body=body)
        if not expect.success(answer, f"{method} {path} with the other account's key"):
            continue
        expect(
            answer.json.get("organizationId") != own,
            answer,
            "tenant_isolation",
            "the other account's own organization, not the account's (is --other-api-key another account?)",
        )
        if method == "POST":
            customers.add(answer.json.get("stripeCustomerId"))
    if target.settings.writes and customers:
        posted = target.request("POST", BILLING_PATH, auth=target.auth, body=URLS)
        if expect.success(posted, "POST /billing"):
            expect(
                posted.json.get("stripeCustomerId") not in customers,
                posted,
                "tenant_isolation",
                "the account's own Stripe customer, not the other account's",
            )
