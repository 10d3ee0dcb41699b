"""What the contract promises across calls, as a Hypothesis state machine over one or two tenants.

- Repeated POST /billing for one organization returns the same stripeCustomerId (get-or-create).
- The organization fields of a POST /billing answer agree with GET /account/organization.
- A checkout session (sessionId and an absolute http(s) url) comes back when a valid price is
  given, and none when no price is given.
- anniversaryDate is a real calendar date.
- With two tenants, each sees only its own organization.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from .answer import Answer
from .checks import ANNIVERSARY_DATE, is_calendar_date
from .options import RunSettings
from .plugin import Progress
from .report import Finding, Recorder, Violation, request_digest
from .target import ORGANIZATION_PATH, Target

BILLING_PATH = "/billing"
GET = f"GET {ORGANIZATION_PATH}"
POST = f"POST {BILLING_PATH}"
# Fields that name the organization: a POST /billing answer and GET must agree on them.
# (Caps and updatedAt may change between two calls; the document calls them "merged usage limits".)
WRITES_OFF = "POST /billing is not sent to a non-loopback target without --allow-writes"
NO_PRICES = "no --message-price-id or --budget-price-id: a price of the target is needed"
WRITE_CHECKS = (
    "same_stripe_customer",
    "stripe_customer_returned",
    "post_agrees_with_get",
    "session_with_price",
    "no_session_without_price",
)
IDENTITY_FIELDS = ("organizationId", "organizationType", "creator", "name", "createdAt", "anniversaryDate")

_hosts = st.sampled_from(["https://app.example.com", "http://localhost:3000", "https://billing.example.org:8443"])
_paths = st.from_regex(r"/[a-z]{0,8}(/[a-z0-9]{1,8}){0,2}", fullmatch=True)
urls = st.builds(lambda host, path: host + path, _hosts, _paths)


def _absolute_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def build_machine(
    target: Target, recorder: Recorder, settings: RunSettings, progress: Progress | None = None
) -> type[RuleBasedStateMachine]:
    tenants = {"account": target.auth}
    if target.other_auth:
        tenants["other account"] = target.other_auth
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

        def expect(self, ok: bool, operation: str, check: str, title: str, answer: Answer) -> None:
            if ok:
                recorder.ran(operation, check)
                return
            finding = Finding(operation, check, title, answer.describe(title))
            recorder.failed(finding)
            raise Violation([finding])

        def send(self, method: str, path: str, tenant: str, body: Any = None) -> dict[str, Any]:
            answer = target.request(method, path, auth=tenants[tenant], body=body)
            operation = f"{method} {path}"
            recorder.sent(operation, answer.status, request_digest(method, answer.url, answer.data))
            if progress is not None:
                progress.tick(operation)
            self.expect(answer.status == 200, operation, "status_200", f"200 for the {tenant}", answer)
            data = answer.json
            self.expect(isinstance(data, dict), operation, "json_object", "a JSON object", answer)
            self.last = answer
            return data  # type: ignore[no-any-return]

        def same_organization(self, tenant: str, data: dict[str, Any], operation: str) -> None:
            organization_id = data.get("organizationId")
            known = self.organization.setdefault(tenant, str(organization_id))
            self.expect(
                organization_id == known,
                operation,
                "same_organization",
                f"the same organizationId as earlier calls for the {tenant}",
                self.last,
            )
            others = {other for name, other in self.organization.items() if name != tenant}
            if others:  # judged once the other tenant has been seen
                self.expect(
                    organization_id not in others,
                    operation,
                    "tenant_isolation",
                    f"the {tenant}'s own organization, not the other tenant's (is --other-api-key another account?)",
                    self.last,
                )
            self.expect(
                is_calendar_date(data.get(ANNIVERSARY_DATE)),
                operation,
                "anniversary_date_is_a_date",
                "anniversaryDate a calendar date (YYYY-MM-DD)",
                self.last,
            )

        @rule(tenant=st.sampled_from(sorted(tenants)))
        def get_organization(self, tenant: str) -> None:
            data = self.send("GET", ORGANIZATION_PATH, tenant)
            self.same_organization(tenant, data, GET)

        @precondition(lambda self: settings.writes)
        @rule(
            tenant=st.sampled_from(sorted(tenants)),
            price=st.sampled_from(price_choices),
            success_url=urls,
            cancel_url=urls,
        )
        def prepare_checkout(self, tenant: str, price: dict[str, str], success_url: str, cancel_url: str) -> None:
            body = {"successUrl": success_url, "cancelUrl": cancel_url, **price}
            posted = self.send("POST", BILLING_PATH, tenant, body)
            answer = self.last
            self.same_organization(tenant, posted, POST)
            customer = posted.get("stripeCustomerId")
            self.expect(
                isinstance(customer, str) and bool(customer),
                POST,
                "stripe_customer_returned",
                "a stripeCustomerId",
                answer,
            )
            known = self.customer.setdefault(tenant, str(customer))
            self.expect(
                customer == known,
                POST,
                "same_stripe_customer",
                f"the stripeCustomerId of the first POST /billing for the {tenant} (get or create)",
                answer,
            )
            others = {other for name, other in self.customer.items() if name != tenant}
            if others:
                self.expect(
                    customer not in others,
                    POST,
                    "tenant_isolation",
                    f"the {tenant}'s own Stripe customer, not the other tenant's",
                    answer,
                )
            if price:
                has_session = isinstance(posted.get("sessionId"), str) and bool(posted["sessionId"])
                self.expect(
                    has_session and _absolute_http_url(posted.get("url")),
                    POST,
                    "session_with_price",
                    "a sessionId and an absolute http(s) url, since a price was given",
                    answer,
                )
            else:
                self.expect(
                    "sessionId" not in posted and "url" not in posted,
                    POST,
                    "no_session_without_price",
                    "no sessionId or url, since no price was given",
                    answer,
                )
            fetched = self.send("GET", ORGANIZATION_PATH, tenant)
            differing = [field for field in IDENTITY_FIELDS if posted.get(field) != fetched.get(field)]
            self.expect(
                not differing,
                POST,
                "post_agrees_with_get",
                f"POST /billing to agree with GET /account/organization for the {tenant} on {', '.join(differing)}",
                answer,
            )

    return BillingMachine


def test_billing_state_machine(
    target: Target, recorder: Recorder, contract_settings: RunSettings, progress: Progress
) -> None:
    if not target.other_auth:
        recorder.skipped("no --other-api-key: a second account is needed", "tenant_isolation")
    if not contract_settings.writes:
        recorder.skipped(WRITES_OFF, *WRITE_CHECKS)
    elif not (contract_settings.message_price_id or contract_settings.budget_price_id):
        recorder.skipped(NO_PRICES, "session_with_price")
    machine = build_machine(target, recorder, contract_settings, progress)
    run_state_machine_as_test(machine, settings=contract_settings.stateful_hypothesis_settings(steps=6))
