"""The deployment's faults: each a contract violation a user of the API would be hurt by.

Written by reading the reference pages and openapi.yaml field by field, status by
status and rule by rule. Most show only in some states, for some credentials or on
some requests, as real bugs do. A fault with a rewrite changes the correct answer
after it is built; a fault without one is a switch the deployment's logic reads
(``Deployment.broken``, in app.py). Each description says what breaks, when, and
which statement of the document it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from .exchange import GET_ORGANIZATION, POST_BILLING, Answer, Catalog, Exchange, Rewrite


@dataclass(frozen=True)
class Fault:
    family: str
    description: str
    rewrite: Rewrite | None = None  # None: app.py's logic reads the switch


FAULTS: Catalog[Fault] = Catalog("fault")


def _fault(family: str, description: str) -> Callable[[Rewrite], Rewrite]:
    return FAULTS.rewrite(lambda rewrite: Fault(family, description, rewrite))


def _logic(name: str, family: str, description: str) -> None:
    FAULTS[name] = Fault(family, description)


def _ok(exchange: Exchange, operation: str) -> bool:
    return exchange.operation == operation and exchange.answer.status == 200 and isinstance(exchange.answer.body, dict)


# -- fields of the 200 answers: types, required, enums, formats, nulls --------------------------------


@_fault("schema", "GET after a checkout session was made: organizationType 'pending_upgrade', outside [free, paid]")
def _org_type_outside_enum_after_session(exchange: Exchange) -> None:
    if _ok(exchange, GET_ORGANIZATION) and exchange.sessions_before:
        exchange.answer.body["organizationType"] = "pending_upgrade"


@_fault("schema", "GET with HTTP basic: messagesCap is the string '3000' (the document: number)")
def _messages_cap_string_basic(exchange: Exchange) -> None:
    if _ok(exchange, GET_ORGANIZATION) and exchange.credential == "basic":
        exchange.answer.body["messagesCap"] = str(exchange.answer.body["messagesCap"])


@_fault("schema", "GET for the second account: costCap (required) is missing")
def _cost_cap_missing_other(exchange: Exchange) -> None:
    if _ok(exchange, GET_ORGANIZATION) and exchange.account == "other":
        exchange.answer.body.pop("costCap", None)


@_fault("schema", "POST /billing: anniversaryDate as 12/07/2026, not the ISO date (YYYY-MM-DD) the document gives")
def _anniversary_date_us_format_post(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING):
        day = date.fromisoformat(exchange.answer.body["anniversaryDate"])
        exchange.answer.body["anniversaryDate"] = day.strftime("%m/%d/%Y")


@_fault("schema", "answers that carry a checkout session: anniversaryDate is a date-time, not a date")
def _anniversary_datetime_with_session(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.has_session:
        exchange.answer.body["anniversaryDate"] += "T00:00:00Z"


@_fault("schema", "every third GET of an account: allowOverage is the string 'false'/'true' (the document: boolean)")
def _allow_overage_string_third_get(exchange: Exchange) -> None:
    if _ok(exchange, GET_ORGANIZATION) and exchange.call % 3 == 0:
        exchange.answer.body["allowOverage"] = json.dumps(exchange.answer.body["allowOverage"])


@_fault("schema", "POST /billing with budgetPriceId: name (required string) is null")
def _name_null_budget_price(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.gave("budgetPriceId"):
        exchange.answer.body["name"] = None


@_fault(
    "schema", "the second account, both operations: createdAt is epoch milliseconds (a number; the document: string)"
)
def _created_at_epoch_other(exchange: Exchange) -> None:
    body = exchange.answer.body
    if exchange.answer.status == 200 and exchange.account == "other" and isinstance(body, dict) and "createdAt" in body:
        moment = datetime.fromisoformat(body["createdAt"].replace("Z", "+00:00"))
        body["createdAt"] = int(moment.timestamp() * 1000)


@_fault("schema", "GET once the account has had a POST /billing answered: updatedAt (required) is missing")
def _updated_at_missing_after_post(exchange: Exchange) -> None:
    if _ok(exchange, GET_ORGANIZATION) and exchange.posts_before:
        exchange.answer.body.pop("updatedAt", None)


@_fault("schema", "POST /billing with HTTP basic: status 'pending_review', outside [verified, unverified, blocked]")
def _status_outside_enum_basic_post(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.credential == "basic":
        exchange.answer.body["status"] = "pending_review"


@_fault(
    "schema", "POST /billing after a session was made: subscriptionStatus 'incomplete' (Stripe's, not the document's)"
)
def _subscription_status_incomplete_after_session(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.sessions_before:
        exchange.answer.body["subscriptionStatus"] = "incomplete"


@_fault("schema", "the second account's answers with a session: pendingDowngradeAccountType 'paid', outside [free]")
def _downgrade_type_paid_with_session(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.account == "other" and exchange.has_session:
        exchange.answer.body["pendingDowngradeAccountType"] = "paid"


@_fault("schema", "the POST that creates the Stripe customer: stripeCustomerId is null (a string, not nullable)")
def _customer_id_null_on_create(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.customer_created:
        exchange.answer.body["stripeCustomerId"] = None


@_fault("schema", "answers that carry a checkout session: organizationId (required) is missing")
def _organization_id_missing_with_session(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.has_session:
        exchange.answer.body.pop("organizationId", None)


@_fault("schema", "POST /billing for the second account: creator (required) is missing")
def _creator_missing_other_post(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.account == "other":
        exchange.answer.body.pop("creator", None)


@_fault("schema", "POST /billing with both prices: the answer is wrapped {organization, checkoutSession}, not flat")
def _wrapped_both_prices(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.gave("messagePriceId") and exchange.gave("budgetPriceId"):
        body = exchange.answer.body
        session = {"id": body.pop("sessionId", None), "url": body.pop("url", None)}
        exchange.answer.body = {"organization": body, "checkoutSession": session}


@_fault("schema", "the second account's answers with a session: costCap is NaN, which is not JSON (RFC 8259)")
def _cost_cap_nan_other_session(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.account == "other" and exchange.has_session:
        exchange.answer.body["costCap"] = float("nan")
        exchange.answer.raw = json.dumps(exchange.answer.body).encode()  # Python's default allow_nan=True


@_fault("schema", "answers with a session to HTTP basic requests: url is null (a string, not nullable)")
def _session_url_null_basic(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.has_session and exchange.credential == "basic":
        exchange.answer.body["url"] = None


# -- media types ------------------------------------------------------------------------------------


@_fault("media type", "GET with HTTP basic: the JSON is sent as text/plain (the document: application/json)")
def _text_plain_basic_get(exchange: Exchange) -> None:
    if _ok(exchange, GET_ORGANIZATION) and exchange.credential == "basic":
        exchange.answer.media_type = "text/plain; charset=utf-8"


@_fault("media type", "a body that is not JSON: 400 as the framework's text/html page, not the error body")
def _html_on_bad_json(exchange: Exchange) -> None:
    if _error_code(exchange) == "invalid_json":
        exchange.answer.media_type = "text/html; charset=utf-8"
        exchange.answer.raw = b"<html><body><h1>400 Bad Request</h1><p>Malformed JSON</p></body></html>"


@_fault("media type", "a required field missing: 400 as application/problem+json (RFC 9457), not the error body")
def _problem_json_missing_field(exchange: Exchange) -> None:
    if _error_code(exchange) == "missing_field":
        message = exchange.answer.body["error"]["message"]
        exchange.answer.media_type = "application/problem+json"
        exchange.answer.body = {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": message}


# -- statuses the document does not give ---------------------------------------------------------------


@_fault("status", "an unknown price: 404, a status the document does not give (it gives 400 for invalid input)")
def _not_found_unknown_price(exchange: Exchange) -> None:
    if _error_code(exchange) == "price_not_found":
        exchange.answer.status = 404


@_fault("status", "a field of the wrong type: 422, a status the document does not give")
def _unprocessable_wrong_type(exchange: Exchange) -> None:
    if _error_code(exchange) == "invalid_type":
        exchange.answer.status = 422


@_fault("status", "the POST that creates the Stripe customer: 201, a status the document does not give")
def _created_on_new_customer(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.customer_created:
        exchange.answer.status = 201


@_fault("status", "POST /billing with both prices: 502 as a proxy's HTML page (502's body is the error body)")
def _bad_gateway_html_both_prices(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.gave("messagePriceId") and exchange.gave("budgetPriceId"):
        exchange.answer.status = 502
        exchange.answer.media_type = "text/html"
        exchange.answer.raw = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@_fault(
    "status", "POST /billing without a price, customer already there: 204 with no body, not 200 and the organization"
)
def _no_content_repeat_customer(exchange: Exchange) -> None:
    quiet = not exchange.gave("messagePriceId") and not exchange.gave("budgetPriceId")
    if _ok(exchange, POST_BILLING) and quiet and not exchange.customer_created:
        exchange.answer = Answer(204, media_type=None, headers=exchange.answer.headers)


_logic("conflict_open_session", "status", "a price while a session is open: 409, a status the document does not give")
_logic("forbidden_wrong_secret", "status", "a known client id with a wrong secret: 403, not 401")


# -- error bodies ------------------------------------------------------------------------------------


@_fault("error body", "a price of the wrong tier: 400 with error as a string and no trackingId")
def _flat_error_wrong_tier(exchange: Exchange) -> None:
    if _error_code(exchange) == "price_wrong_tier":
        exchange.answer.body = {"error": "price_wrong_tier", "message": exchange.answer.body["error"]["message"]}


@_fault("error body", "errors of requests that carry messagePriceId: error.message (required) is missing")
def _error_message_missing_with_price(exchange: Exchange) -> None:
    if _error_code(exchange) is not None and exchange.gave("messagePriceId"):
        del exchange.answer.body["error"]["message"]


@_fault("error body", "error answers to HTTP basic requests: trackingId is null (a string)")
def _tracking_id_null_basic_errors(exchange: Exchange) -> None:
    if _error_code(exchange) is not None and exchange.credential == "basic":
        exchange.answer.body["trackingId"] = None


@_fault("error body", "cancelUrl missing: 400 with an empty body, not the error body")
def _empty_body_missing_cancel_url(exchange: Exchange) -> None:
    if (
        _error_code(exchange) == "missing_field"
        and exchange.request is not None
        and "cancelUrl" not in exchange.request
    ):
        exchange.answer.raw = b""
        exchange.answer.media_type = None


# -- rules the document states in words -------------------------------------------------------------------


@_fault("rule", "only budgetPriceId given: the session is made but sessionId and url are not answered")
def _no_session_budget_only(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.gave("budgetPriceId") and not exchange.gave("messagePriceId"):
        exchange.answer.body.pop("sessionId", None)
        exchange.answer.body.pop("url", None)


@_fault("rule", "the second account's answers with a session: url without its sessionId")
def _session_id_missing_other(exchange: Exchange) -> None:
    if _ok(exchange, POST_BILLING) and exchange.has_session and exchange.account == "other":
        exchange.answer.body.pop("sessionId")


_logic("new_customer_every_post", "rule", "the main account: every POST /billing creates another Stripe customer")
_logic("customer_per_credential_kind", "rule", "HTTP basic gets a Stripe customer of its own, not the organization's")
_logic("stale_session_without_price", "rule", "once a session was made, POSTs without a price answer it again")
_logic("wrong_tier_accepted_budget", "rule", "a message-tier price as budgetPriceId is accepted and a session made")
_logic("unknown_price_accepted_message", "rule", "an unknown messagePriceId is accepted and a session made")
_logic("cancel_url_optional_without_price", "rule", "without a price, a body without cancelUrl (required) gets 200")

# -- credentials ------------------------------------------------------------------------------------------

_logic("wrong_secret_accepted", "credentials", "a known client id with any secret is accepted")
_logic(
    "key_prefix_compare", "credentials", "keys compared on their first 20 characters: a key changed after them works"
)
_logic("secret_under_any_client_id", "credentials", "the right client secret under any client id is accepted")
_logic("basic_refused_on_post", "credentials", "HTTP basic works for GET but POST /billing refuses it with 401")
_logic(
    "other_sees_main_org_after_main_call",
    "credentials",
    "once the main account was served, the second one's GET shows the main organization",
)
_logic(
    "other_gets_main_customer",
    "credentials",
    "once the main account has a Stripe customer, the second account's POST answers it",
)
_logic(
    "no_credentials_served_from_cache", "credentials", "GET without credentials answers the last organization served"
)
_logic("no_credentials_post_400", "credentials", "POST /billing without credentials: 400, not 401")


def _error_code(exchange: Exchange) -> str | None:
    """The error code of an error answer in the documented body, None for any other answer."""
    body = exchange.answer.body
    if exchange.answer.status < 400 or exchange.answer.raw is not None or not isinstance(body, dict):
        return None
    error = body.get("error")
    return error.get("code") if isinstance(error, dict) else None
