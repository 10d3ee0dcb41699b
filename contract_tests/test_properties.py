"""What the contract promises across calls, as a Hypothesis state machine over the account and a second one.

The account is reached with each credential form given (bearer and basic), the second
account with its key; every answer goes through the oracle, and:

- Repeated POST /billing for one organization returns the same stripeCustomerId, whichever
  credential form sends it (get-or-create).
- The organization fields of a POST /billing answer agree with GET /account/organization.
- A checkout session (sessionId and an absolute http(s) url) comes back when a valid price is
  given, and none when no price is given.
- anniversaryDate is a real calendar date.
- Each account sees only its own organization and Stripe customer.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from billing_contract.checks import absolute_http_url

from .answer import Answer
from .checks import ANNIVERSARY_DATE, is_calendar_date
from .expect import Expect
from .options import RunSettings
from .oracle import Oracle
from .report import Recorder
from .target import ORGANIZATION_PATH, Target

BILLING_PATH = "/billing"
GET = f"GET {ORGANIZATION_PATH}"
POST = f"POST {BILLING_PATH}"
ACCOUNT, OTHER = "account", "other account"
WRITES_OFF = "POST /billing is not sent to a non-loopback target without --allow-writes"
NO_PRICES = "no --message-price-id or --budget-price-id: a price of the target is needed"
WRITE_CHECKS = (
    "same_stripe_customer",
    "stripe_customer_returned",
    "post_agrees_with_get",
    "session_with_price",
    "no_session_without_price",
)
# Fields that name the organization: a POST /billing answer and GET must agree on them.
# (Caps and updatedAt may change between two calls; the document calls them "merged usage limits".)
IDENTITY_FIELDS = ("organizationId", "organizationType", "creator", "name", "createdAt", "anniversaryDate")

_hosts = st.sampled_from(["https://app.example.com", "http://localhost:3000", "https://billing.example.org:8443"])
_paths = st.from_regex(r"/[a-z]{0,8}(/[a-z0-9]{1,8}){0,2}", fullmatch=True)
urls = st.builds(lambda host, path: host + path, _hosts, _paths)


def credentials(target: Target) -> dict[str, tuple[str, str]]:
    """``"account, bearer"`` -> (its Authorization header, the account it names)."""
    found = {f"{ACCOUNT}, {form.name}": (form.header, ACCOUNT) for form in target.forms}
    if target.other is not None:
        found[OTHER] = (target.other.header, OTHER)
    return found


def build_machine(
    target: Target, recorder: Recorder, oracle: Oracle, settings: RunSettings
) -> type[RuleBasedStateMachine]:
    given = credentials(target)
    expect = Expect(target, recorder, oracle)
    prices = {
        "messagePriceId": settings.message_price_id,
        "budgetPriceId": settings.budget_price_id,
    }
    price_choices: list[dict[str, str]] = [{}] + [
        {field: price} for field, price in prices.items() if price is not None
    ]
    if all(prices.values()):
        price_choices.append({field: price for field, price in prices.items() if price})

    class BillingMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.organization: dict[str, str] = {}
            self.customer: dict[str, str] = {}

        def send(
            self, method: str, path: str, credential: str, body: Any = None
        ) -> tuple[Answer, dict[str, Any]] | None:
            answer = target.request(method, path, auth=given[credential][0], body=body)
            if not expect.success(answer, f"the {credential}"):
                return None
            return answer, answer.json

        def same_organization(self, credential: str, answer: Answer, data: dict[str, Any]) -> None:
            account = given[credential][1]
            organization_id = data.get("organizationId")
            known = self.organization.setdefault(account, str(organization_id))
            expect(
                organization_id == known,
                answer,
                "same_organization",
                f"the same organizationId as earlier calls for the {account} (this one with the {credential})",
            )
            others = {other for name, other in self.organization.items() if name != account}
            if others:  # judged once the other account has been seen
                expect(
                    organization_id not in others,
                    answer,
                    "tenant_isolation",
                    f"the {account}'s own organization, not the other's (is --other-api-key another account?)",
                )
            expect(
                is_calendar_date(data.get(ANNIVERSARY_DATE)),
                answer,
                "anniversary_date_is_a_date",
                "anniversaryDate a calendar date (YYYY-MM-DD)",
            )

        @rule(credential=st.sampled_from(sorted(given)))
        def get_organization(self, credential: str) -> None:
            got = self.send("GET", ORGANIZATION_PATH, credential)
            if got is not None:
                self.same_organization(credential, *got)

        @precondition(lambda self: settings.writes)
        @rule(
            credential=st.sampled_from(sorted(given)),
            price=st.sampled_from(price_choices),
            success_url=urls,
            cancel_url=urls,
        )
        def prepare_checkout(self, credential: str, price: dict[str, str], success_url: str, cancel_url: str) -> None:
            account = given[credential][1]
            body = {"successUrl": success_url, "cancelUrl": cancel_url, **price}
            got = self.send("POST", BILLING_PATH, credential, body)
            if got is None:
                return
            answer, posted = got
            self.same_organization(credential, answer, posted)
            customer = posted.get("stripeCustomerId")
            if not expect(
                isinstance(customer, str) and bool(customer), answer, "stripe_customer_returned", "a stripeCustomerId"
            ):
                return
            known = self.customer.setdefault(account, str(customer))
            expect(
                customer == known,
                answer,
                "same_stripe_customer",
                f"the stripeCustomerId of the first POST /billing for the {account}, any credential (get or create)",
            )
            others = {other for name, other in self.customer.items() if name != account}
            if others:
                expect(
                    customer not in others,
                    answer,
                    "tenant_isolation",
                    f"the {account}'s own Stripe customer, not the other's",
                )
            if price:
                has_session = isinstance(posted.get("sessionId"), str) and bool(posted["sessionId"])
                expect(
                    has_session and absolute_http_url(posted.get("url")),
                    answer,
                    "session_with_price",
                    "a sessionId and an absolute http(s) url, since a price was given",
                )
            else:
                expect(
                    "sessionId" not in posted and "url" not in posted,
                    answer,
                    "no_session_without_price",
                    "no sessionId or url, since no price was given",
                )
            fetched = self.send("GET", ORGANIZATION_PATH, credential)
            if fetched is None:
                return
            differing = [field for field in IDENTITY_FIELDS if posted.get(field) != fetched[1].get(field)]
            expect(
                not differing,
                answer,
                "post_agrees_with_get",
                f"POST /billing to agree with GET /account/organization for the {credential} on {', '.join(differing)}",
            )

    return BillingMachine


def test_billing_state_machine(
    target: Target, recorder: Recorder, oracle: Oracle, contract_settings: RunSettings
) -> None:
    if not target.other_auth:
        recorder.skipped("no --other-api-key: a second account is needed", "tenant_isolation")
    if not contract_settings.writes:
        recorder.skipped(WRITES_OFF, *WRITE_CHECKS)
    elif not (contract_settings.message_price_id or contract_settings.budget_price_id):
        recorder.skipped(NO_PRICES, "session_with_price")
    machine = build_machine(target, recorder, oracle, contract_settings)
    run_state_machine_as_test(machine, settings=contract_settings.stateful_hypothesis_settings(steps=6))
