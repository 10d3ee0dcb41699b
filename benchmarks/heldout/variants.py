"""Correct deployments unlike the mock: each one honours the document, and says why.

A contract suite must pass every one of them. Like the faults, a variant with a
rewrite changes the correct answer after it is built; one without is a switch the
deployment's logic reads (``Deployment.varies``, in app.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .exchange import GET_ORGANIZATION, POST_BILLING, Catalog, Exchange, Rewrite


@dataclass(frozen=True)
class Variant:
    description: str
    why_correct: str
    rewrite: Rewrite | None = None


VARIANTS: Catalog[Variant] = Catalog("variant")

CAPS = ("messagesCap", "costCap", "smsCap", "callCap")
PENDING_CAPS = (
    "pendingDowngradeCostCap",
    "pendingDowngradeMessagesCap",
    "pendingDowngradeSmsCap",
    "pendingDowngradeCallCap",
)
OPTIONAL_ORGANIZATION = ("smsCap", "callCap")
OPTIONAL_BILLING = (
    "stripeSubscriptionId",
    "subscriptionStatus",
    "status",
    *PENDING_CAPS,
    "pendingDowngradeEffectiveDate",
    "pendingDowngradeAccountType",
)


def _variant(description: str, why_correct: str) -> Callable[[Rewrite], Rewrite]:
    return VARIANTS.rewrite(lambda rewrite: Variant(description, why_correct, rewrite))


def _logic(name: str, description: str, why_correct: str) -> None:
    VARIANTS[name] = Variant(description, why_correct)


def _success(exchange: Exchange) -> dict[str, object] | None:
    """The body of a 200 answer of one of the two operations, else None."""
    body = exchange.answer.body
    documented = exchange.operation in (GET_ORGANIZATION, POST_BILLING)
    ok = documented and exchange.answer.status == 200 and exchange.answer.raw is None
    return body if ok and isinstance(body, dict) else None


def _error(exchange: Exchange) -> dict[str, object] | None:
    """The ``error`` object of an answer in the documented error body, else None."""
    body = exchange.answer.body
    if exchange.answer.status < 400 or not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    error: dict[str, object] = body["error"]
    return error


@_variant(
    "every optional field left out: no smsCap/callCap, no subscription, status or pendingDowngrade* fields, no fix",
    "only the fields the reference pages mark required must be there; stripeCustomerId (the customer the "
    "operation gets or creates) and sessionId/url (the session made for a price) stay, as the description promises",
)
def _minimal(exchange: Exchange) -> None:
    body = _success(exchange)
    if body is not None:
        for name in (*OPTIONAL_ORGANIZATION, *OPTIONAL_BILLING):
            body.pop(name, None)
    error = _error(exchange)
    if error is not None:
        error.pop("fix", None)


@_variant(
    "every optional field present: the main account is paid, its subscription canceled, a downgrade to free "
    "scheduled for the anniversary date; it had a Stripe customer before its first POST",
    "every field is in the schema with its own type and enum; a customer that exists is got, not created",
)
def _maximal(exchange: Exchange) -> None:
    body = _success(exchange)
    if body is None or exchange.account != "main":
        return
    body["organizationType"] = "paid"
    if exchange.operation == POST_BILLING:
        body.update(
            stripeSubscriptionId="sub_1NwA9cXq2Lm7VbRt",
            subscriptionStatus="canceled",
            status="verified",
            pendingDowngradeCostCap=0,
            pendingDowngradeMessagesCap=3000,
            pendingDowngradeSmsCap=0,
            pendingDowngradeCallCap=0,
            pendingDowngradeEffectiveDate=body["anniversaryDate"],
            pendingDowngradeAccountType="free",
        )


@_variant(
    "fields the document does not name, in every answer and every error body",
    "no schema of the document closes its object (no additionalProperties: false); a client must ignore them",
)
def _extra_fields(exchange: Exchange) -> None:
    body = _success(exchange)
    if body is not None:
        body.update(region="us-east-1", features={"sms": True, "calls": False}, billingEmail=None)
    error = _error(exchange)
    if error is not None:
        error["details"] = [{"reason": "see message"}]
        error["documentation"] = "https://docs.example/errors"
        exchange.answer.body["requestTimeMs"] = 3


@_variant(
    "subscriptionStatus: null in POST /billing answers of an account without a subscription",
    "the real API's own document makes it nullable (its generated SDK, npm pingram 1.0.14, types it ... | null)",
)
def _subscription_status_null(exchange: Exchange) -> None:
    body = _success(exchange)
    if body is not None and exchange.operation == POST_BILLING and "subscriptionStatus" not in body:
        body["subscriptionStatus"] = None


@_variant(
    "error codes and messages of its own (UPPER_CASE codes, other wording), no fix, trackingId 'req_' + hex",
    "code and message are free strings and fix is optional; trackingId is a string of no given shape",
)
def _own_error_codes(exchange: Exchange) -> None:
    error = _error(exchange)
    if error is None:
        return
    error["code"] = "E_" + str(error["code"]).upper()
    error["message"] = f"Request rejected ({exchange.answer.status})."
    error.pop("fix", None)
    exchange.answer.body["trackingId"] = f"req_{exchange.request_number:08x}a91f"


@_variant(
    "Content-Type with a charset parameter: application/json; charset=utf-8 (errors: application/json;charset=UTF-8)",
    "a media type with parameters is still application/json (RFC 9110 8.3.1); UTF-8 is JSON's encoding",
)
def _charset_params(exchange: Exchange) -> None:
    if exchange.answer.media_type == "application/json":
        error = exchange.answer.status >= 400
        exchange.answer.media_type = "application/json;charset=UTF-8" if error else "application/json; charset=utf-8"


@_variant(
    '401 answered by the API gateway in front: {"message": "Unauthorized"}, no trackingId',
    "the reference pages give 401 ('Unauthorized') no body schema, unlike 400, 402 and 502",
)
def _gateway_401(exchange: Exchange) -> None:
    if exchange.answer.status == 401:
        exchange.answer.body = {"message": "Unauthorized"}


@_variant(
    "numbers as decimals (3000.0, costCap 300.5), timestamps with microseconds and an offset, "
    "pendingDowngradeEffectiveDate as a date-time",
    "caps are 'number', not integer; createdAt, updatedAt and pendingDowngradeEffectiveDate are plain strings "
    "(only anniversaryDate is an ISO date, and it stays one)",
)
def _number_date_shapes(exchange: Exchange) -> None:
    body = _success(exchange)
    if body is None:
        return
    for name in (*CAPS, *PENDING_CAPS):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            body[name] = float(value) + (0.5 if name == "costCap" and value else 0.0)
    for name in ("createdAt", "updatedAt"):
        value = body.get(name)
        if isinstance(value, str) and value.endswith("Z"):
            body[name] = value[:-1] + "913+00:00"
    if isinstance(body.get("pendingDowngradeEffectiveDate"), str):
        body["pendingDowngradeEffectiveDate"] = f"{body['pendingDowngradeEffectiveDate']}T00:00:00.000Z"


@_variant(
    "every answer 20 to 120 ms late, varying request by request",
    "the document gives no time; a real deployment's latency varies",
)
def _latency(exchange: Exchange) -> None:
    exchange.answer.delay = 0.02 + (exchange.request_number % 5) * 0.025


ORGANIZATION_IDS = {
    "org_2Wq8ZkT4mN": "3f0c6a2e-8d41-4b7a-9e15-0c2d7f4a61b9",
    "org_8Hc3VbN1xY": "b1e94d07-52aa-4c3e-8f6d-9a0e3c75d218",
}


@_variant(
    "ids of other shapes: organizationId a UUID, trackingId 'trk_' + ULID, live-mode session ids, "
    "a checkout url on the organization's own domain with a fragment",
    "every id and the url are plain strings in the document; Stripe's own checkout urls carry a fragment",
)
def _id_shapes(exchange: Exchange) -> None:
    body = _success(exchange)
    if body is not None:
        organization = body.get("organizationId")
        if isinstance(organization, str):
            body["organizationId"] = ORGANIZATION_IDS.get(organization, organization)
        session = body.get("sessionId")
        if isinstance(session, str):
            live = session.replace("cs_test_", "cs_live_")
            body["sessionId"] = live
            body["url"] = f"https://pay.northwind-alerts.example/c/pay/{live}#fidkdWxOYHwnPyd1blpxYHZxWjA0"
    if _error(exchange) is not None:
        exchange.answer.body["trackingId"] = f"trk_01JDQ8ZK{exchange.request_number:06d}XW3V9R2M4B"


NAMES = {"Northwind Alerts": "Nørdvind Alerts ✉", "Brightline Health": "Brightline Santé 健康"}


@_variant(
    "pretty-printed JSON in raw UTF-8 with non-ASCII names, members in another order",
    "JSON is UTF-8 (RFC 8259); whitespace and member order carry no meaning; name is any string",
)
def _non_ascii_pretty(exchange: Exchange) -> None:
    body = exchange.answer.body
    if isinstance(body, dict) and exchange.answer.raw is None:
        if isinstance(body.get("name"), str):
            body["name"] = NAMES.get(body["name"], body["name"])
        exchange.answer.body = dict(reversed(body.items()))
        exchange.answer.indent = 2
        exchange.answer.ensure_ascii = False


_logic(
    "throttled",
    "every 40th request (from the 7th) gets 429 Too Many Requests with Retry-After: 1, before any work",
    "any HTTP API may throttle (RFC 6585); nothing is done for a throttled request, and Retry-After says when to retry",
)
_logic(
    "over_limit_other",
    "the second account has used its caps: 402 with the error body on GET and on POST /billing without a price",
    "402 'Payment Required - usage limits exceeded', with the error body, is documented for both operations; "
    "buying a plan (POST with a price) still works",
)
_logic(
    "provider_hiccup",
    "the second POST /billing with a price: 502 provider_error (provider stripe, providerCode rate_limit), no change",
    "502 'Bad Gateway - provider error' with the error body, provider and providerCode, is documented",
)
_logic(
    "aws_gateway_edges",
    'methods and paths the document does not have get the gateway\'s 403 {"message": "Missing Authentication Token"}',
    "the document describes two operations only: other methods and paths are outside it (as on AWS API Gateway)",
)
