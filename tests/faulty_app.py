"""A small deployment of the API, written apart from the mock, with switches that break the contract.

With no fault it honours openapi.yaml with its own ids, data, prices and error
codes, so the contract suite must pass; each fault breaks one promise, so the
suite must fail. :data:`FAULTS` show on every request of their kind;
:data:`CONDITIONAL_FAULTS` only in one state, for one credential kind or account,
or after one operation. Each variant is a habit of real deployments that keeps
the contract (a rate limiter, a gateway's 401 body, extra fields, a 402 for an
account over its caps...), so the suite must still pass. Nothing here is shared
with ``mock_server``.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import gzip
import itertools
import json
import time
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

FAULTS = (
    "missing_field",
    "wrong_type",
    "unknown_enum",
    "malformed_date",
    "null_field",
    "ignore_credentials",
    "server_error",
    "error_without_tracking",
    "wrong_content_type",
    "undocumented_status",
    "new_customer_each_call",
    "post_other_org",
    "session_without_price",
    "session_needs_both_prices",
    "other_tier_accepted",
    "post_changes_organization",
    "wrong_key_403",
)
# Each shows only in one state, for one credential kind or account, after one operation, or on one kind of request.
CONDITIONAL_FAULTS = (
    "basic_wrong_type",  # GET with basic credentials: allowOverage as the string "false"
    "other_account_null_cap",  # the other account's answers: costCap null
    "missing_field_on_post",  # POST /billing answers lack allowOverage
    "unknown_status_after_checkout",  # once a checkout session exists: status "pending"
    "nan_after_checkout",  # once a checkout session exists: costCap NaN (Python's reader takes it)
    "bom_for_basic",  # answers to basic credentials start with a byte order mark
    "date_time_after_post",  # after a POST /billing without a price: anniversaryDate with a time
    "error_code_missing_for_bad_json",  # the 400 for a body that is not JSON has no error.code
    "error_as_text_for_wrong_types",  # the 400 for a field of the wrong type is text/plain
    "reused_tracking_id",  # every 400 carries the same trackingId
    "tier_error_as_text",  # the 400 for a price of the other tier is text/plain, without the error body
    "client_id_only",  # basic credentials: the secret is not checked
    "key_prefix_match",  # a bearer key matches when one is the start of the other
    "scheme_ignored",  # the token after any scheme is looked up as a key
    "post_without_credentials",  # POST /billing without Authorization acts for the first account
    "cancel_url_optional",  # cancelUrl may be left out
    "url_type_unchecked",  # successUrl and cancelUrl of any type
    "unknown_price_ignored",  # an unknown price id is dropped, 200 without a session
    "array_body_500",  # a JSON array as the body: 500
    "non_utf8_accepted",  # a body that is not UTF-8 is read with replacement characters
    "customer_per_credential_kind",  # bearer and basic get a Stripe customer each
    "new_customer_after_checkout",  # the first POST after a checkout session creates a second customer
    "session_url_relative",  # the checkout url is a path, not an absolute URL
    "budget_price_no_session",  # a budget price alone gets no session
    "other_tier_accepted_for_basic",  # basic credentials: a price of the other tier is accepted
    "created_201_first_post",  # the first POST /billing of an account answers 201
    "other_account_sees_first",  # once the first account has posted, the other key reads the first organization
    "hang_sometimes",  # every fifth request after the first twenty never gets an answer
    "endless_for_basic",  # POST /billing with basic credentials: a body that never ends
)
VARIANTS = (
    "rate_limited",  # 429 with Retry-After in seconds past RATE_LIMIT requests a second
    "overloaded",  # 503 with Retry-After as an HTTP date, the same way
    "throttled_every_40",  # one 429 with Retry-After: 1 every 40 requests, whatever the rate
    "gateway_401",  # a gateway answers 401 with its own body
    "bare_401",  # 401 with WWW-Authenticate and no body at all
    "extra_fields",
    "optional_fields_left_out",
    "charset",  # application/json; charset=utf-8
    "latency",
    "connection_close",
    "subscription_status_null",  # the nullable subscriptionStatus sent as null
    "usage_limits_exceeded",  # the other account is over its caps: its POST /billing answers the documented 402
    "other_account_over_caps",  # the other account answers the documented 402 to everything, GET included
    "provider_hiccup",  # the second POST /billing with a price: the documented 502 provider_error, once
    "media_type_415",  # a body of another media type: 415
    "updated_at_moves",  # updatedAt changes with each POST /billing
    "gzip",  # answers gzip-coded when the request accepts it
    "streamed",  # answers sent in several chunks
    "pending_downgrade",  # the pending-downgrade fields of a paid organization
    "unicode",  # names and creators beyond ASCII, as UTF-8
)
UNRELENTING = "unrelenting_rate_limit"  # 429 on everything after the first few requests
RATE_LIMIT = 60
LATENCY = 0.02
KEYS = {"sk_live_alpha": "acct_alpha", "sk_live_beta": "acct_beta"}
PAIRS = {("cli_alpha", "pw_alpha"): "acct_alpha"}
PRICES = {"plan_msgs_10k": "message", "plan_sms_100": "budget"}
ORGANIZATIONS: dict[str, dict[str, Any]] = {
    "acct_alpha": {
        "organizationId": "acct_alpha",
        "organizationType": "paid",
        "creator": "ops@alpha.test",
        "name": "Alpha Works",
        "messagesCap": 20000,
        "costCap": 75.5,
        "smsCap": 300,
        "callCap": 30,
        "anniversaryDate": "2027-01-31",
        "allowOverage": False,
        "createdAt": "2023-01-31T00:00:00Z",
        "updatedAt": "2026-10-01T00:00:00Z",
    },
    "acct_beta": {
        "organizationId": "acct_beta",
        "organizationType": "free",
        "creator": "hello@beta.test",
        "name": "Beta Ltd",
        "messagesCap": 500,
        "costCap": 0,
        "anniversaryDate": "2027-03-01",
        "allowOverage": False,
        "createdAt": "2025-03-01T08:00:00Z",
        "updatedAt": "2025-03-01T08:00:00Z",
    },
}
HANG_AFTER = 20


def create_faulty_app(fault: str | None = None, *, variant: str | None = None, throttle_after: int = 3) -> Any:
    """``variant``: one habit, or several joined by ``+``; ``throttle_after``: requests the unrelenting rate
    limiter lets through first."""
    if fault is not None and fault not in (*FAULTS, *CONDITIONAL_FAULTS):
        raise ValueError(f"unknown fault {fault!r}")
    chosen = set(variant.split("+")) if variant else set()
    if chosen - {*VARIANTS, UNRELENTING}:
        raise ValueError(f"unknown variant {variant!r}")
    customers: dict[tuple[str, str], str] = {}
    changed: dict[str, int] = {}
    checked_out: set[str] = set()  # accounts with a checkout session
    posted_plain: set[str] = set()  # accounts that sent POST /billing without a price
    posts: dict[str, int] = {}
    counter = itertools.count(1)
    bumps = itertools.count(1)
    requests_seen = itertools.count(1)
    priced = itertools.count(1)  # POST /billing with a price
    media_type = "application/json; charset=utf-8" if "charset" in chosen else "application/json"
    first_tracking_id = f"trk-{uuid.uuid4().hex}"

    def encode(data: Any, scheme: str) -> bytes:
        text = json.dumps(data, ensure_ascii="unicode" not in chosen)
        raw = text.encode()
        if fault == "bom_for_basic" and scheme == "basic":
            raw = b"\xef\xbb\xbf" + raw
        return raw

    def answer(request: Request, data: Any, status: int = 200, scheme: str = "") -> Response:
        raw = encode(data, scheme)
        headers: dict[str, str] = {}
        if "gzip" in chosen and "gzip" in request.headers.get("accept-encoding", ""):
            raw = gzip.compress(raw)
            headers["Content-Encoding"] = "gzip"
        if "streamed" in chosen:
            parts = [raw[i : i + 7] for i in range(0, len(raw), 7)]

            async def chunks() -> Any:
                for part in parts:
                    yield part

            return StreamingResponse(chunks(), status_code=status, media_type=media_type, headers=headers)
        return Response(raw, status_code=status, media_type=media_type, headers=headers)

    def error(request: Request, status: int, code: str, message: str, *, kind: str = "") -> Response:
        tracking_id = first_tracking_id if fault == "reused_tracking_id" else f"trk-{uuid.uuid4().hex}"
        body: dict[str, Any] = {"trackingId": tracking_id, "error": {"code": code, "message": message}}
        if fault == "error_without_tracking":
            del body["trackingId"]
        if fault == "error_code_missing_for_bad_json" and kind == "bad_json":
            del body["error"]["code"]
        if fault == "error_as_text_for_wrong_types" and kind == "bad_field":
            return Response("Bad Request: a field has the wrong type", status, media_type="text/plain")
        if "extra_fields" in chosen:
            body["error"]["docs"] = "https://docs.alpha.test/errors"
        if status == 401 and "gateway_401" in chosen:
            return Response('{"message":"Unauthorized"}', 401, {"WWW-Authenticate": "Bearer"}, "application/json")
        if status == 401 and "bare_401" in chosen:
            return Response(b"", 401, {"WWW-Authenticate": 'Bearer realm="api"'})
        if status == 401 and fault == "wrong_key_403" and code == "bad_key":
            status = 403
        return answer(request, body, status)

    def account(request: Request) -> tuple[str | None, str]:
        """The account the credentials name, and their scheme."""
        if fault == "ignore_credentials":
            return "acct_alpha", "bearer"
        header = request.headers.get("authorization", "")
        if not header and fault == "post_without_credentials" and request.method == "POST":
            return "acct_alpha", "bearer"
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if fault == "scheme_ignored" and value in KEYS:
            return KEYS[value], "bearer"
        if scheme == "bearer":
            if fault == "key_prefix_match" and value:
                for key, found in KEYS.items():
                    if key.startswith(value) or value.startswith(key):
                        return found, scheme
            return KEYS.get(value), scheme
        if scheme == "basic":
            try:
                client, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, scheme
            if fault == "client_id_only":
                return next((found for (known, _), found in PAIRS.items() if known == client), None), scheme
            return PAIRS.get((client, secret)), scheme
        return None, scheme

    def organization(account_id: str, scheme: str, *, post: bool = False) -> dict[str, Any]:
        data = dict(ORGANIZATIONS[account_id])
        if "unicode" in chosen:
            data.update(name=data["name"] + " — Ünïcode ✓", creator="zoë@" + data["creator"].split("@")[1])
        if fault == "missing_field":
            del data["name"]
        elif fault == "wrong_type":
            data["messagesCap"] = str(data["messagesCap"])
        elif fault == "unknown_enum":
            data["organizationType"] = "enterprise"
        elif fault == "malformed_date":
            data["anniversaryDate"] = "2027-02-30"
        elif fault == "null_field":
            data["creator"] = None
        elif fault == "basic_wrong_type" and scheme == "basic":
            data["allowOverage"] = "false"
        elif fault == "other_account_null_cap" and account_id == "acct_beta":
            data["costCap"] = None
        elif fault == "missing_field_on_post" and post:
            del data["allowOverage"]
        elif fault == "nan_after_checkout" and account_id in checked_out:
            data["costCap"] = float("nan")
        elif fault == "date_time_after_post" and account_id in posted_plain:
            data["anniversaryDate"] += "T00:00:00Z"
        if "extra_fields" in chosen:
            data.update(region="eu-west", features={"sso": True})
        if "optional_fields_left_out" in chosen:
            data.pop("smsCap", None)
            data.pop("callCap", None)
        if "updated_at_moves" in chosen and account_id in posts:
            data["updatedAt"] = f"2026-11-{min(28, posts[account_id]):02d}T00:00:00Z"
        if fault == "post_changes_organization":
            data["messagesCap"] += changed.get(account_id, 0)
        return data

    def refused(request: Request) -> Response:
        code = "bad_key" if request.headers.get("authorization") else "unauthenticated"
        return error(request, 401, code, "Unknown or missing credentials.")

    async def get_organization(request: Request) -> Response:
        account_id, scheme = account(request)
        if account_id is None:
            return refused(request)
        if "other_account_over_caps" in chosen and account_id == "acct_beta":
            return error(request, 402, "over_caps", "The organization has used up its caps for this cycle.")
        if fault == "other_account_sees_first" and account_id == "acct_beta" and posts.get("acct_alpha"):
            account_id = "acct_alpha"
        data = organization(account_id, scheme)
        if fault == "wrong_content_type":
            return Response(json.dumps(data), media_type="text/plain")
        return answer(request, data, scheme=scheme)

    async def read_body(request: Request) -> tuple[Any, Response | None]:
        kind = request.headers.get("content-type", "").split(";")[0].strip()
        if kind != "application/json":
            status = 415 if "media_type_415" in chosen else 400
            return None, error(request, status, "bad_content_type", "Send JSON.")
        raw = await request.body()
        try:
            text = raw.decode("utf-8", "replace" if fault == "non_utf8_accepted" else "strict")
            body = json.loads(text)
        except ValueError:
            return None, error(request, 400, "bad_json", "The body is not JSON.", kind="bad_json")
        if isinstance(body, list) and fault == "array_body_500":
            return None, error(request, 500, "crash", "Unhandled input.")
        if not isinstance(body, dict):
            return None, error(request, 400, "bad_body", "The body must be an object.")
        for field in ("successUrl", "cancelUrl"):
            if field == "cancelUrl" and fault == "cancel_url_optional" and field not in body:
                continue
            if fault == "url_type_unchecked" and field in body:
                continue
            if not isinstance(body.get(field), str):
                return None, error(request, 400, "bad_field", f"{field} must be a string.", kind="bad_field")
        for field in ("messagePriceId", "budgetPriceId"):
            if field in body and not isinstance(body[field], str):
                return None, error(request, 400, "bad_field", f"{field} must be a string.", kind="bad_field")
        return body, None

    async def billing(request: Request) -> Response:
        account_id, scheme = account(request)
        if account_id is None:
            return refused(request)
        body, failed = await read_body(request)
        if failed is not None:
            return failed
        if fault == "server_error" and not str(body["successUrl"]).startswith("http"):
            return error(request, 500, "crash", "Unhandled input.")
        over_caps = {"usage_limits_exceeded", "other_account_over_caps"} & chosen
        if over_caps and account_id == "acct_beta":
            return error(request, 402, "over_caps", "The organization has used up its caps for this cycle.")
        if "provider_hiccup" in chosen and ("messagePriceId" in body or "budgetPriceId" in body):
            if next(priced) == 2:
                return error(request, 502, "provider_error", "The payment provider failed to process the request.")
        prices = {}
        for field, tier in (("messagePriceId", "message"), ("budgetPriceId", "budget")):
            if field in body:
                known = PRICES.get(body[field])
                if known is None and fault == "unknown_price_ignored":
                    continue
                wrong_tier_allowed = fault == "other_tier_accepted" or (
                    fault == "other_tier_accepted_for_basic" and scheme == "basic"
                )
                if known is not None and known != tier and fault == "tier_error_as_text":
                    return Response(f"{field} is not a {tier} price.", 400, media_type="text/plain")
                if known is None or (known != tier and not wrong_tier_allowed):
                    return error(request, 400, "bad_price", f"{field} is not a {tier} price.")
                prices[field] = body[field]
        owner = (account_id, scheme if fault == "customer_per_credential_kind" else "")
        new_after_checkout = fault == "new_customer_after_checkout" and account_id in checked_out and not prices
        if owner not in customers or fault == "new_customer_each_call" or new_after_checkout:
            customers[owner] = f"cust_{account_id}_{next(counter)}"
        if new_after_checkout:
            checked_out.discard(account_id)  # one more customer, once
        if not prices:
            changed[account_id] = next(bumps)
            posted_plain.add(account_id)
        first_post = account_id not in posts
        posts[account_id] = posts.get(account_id, 0) + 1
        shown = "acct_beta" if fault == "post_other_org" and account_id == "acct_alpha" else account_id
        data = {**organization(shown, scheme, post=True), "stripeCustomerId": customers[owner]}
        if "optional_fields_left_out" not in chosen:
            data["status"] = "verified"
            if fault == "unknown_status_after_checkout" and account_id in checked_out:
                data["status"] = "pending"
        if "subscription_status_null" in chosen:
            data["subscriptionStatus"] = None
        if "pending_downgrade" in chosen and account_id == "acct_alpha":
            data.update(
                stripeSubscriptionId="subsc_alpha",
                subscriptionStatus="active",
                pendingDowngradeCostCap=0,
                pendingDowngradeMessagesCap=500,
                pendingDowngradeSmsCap=0,
                pendingDowngradeCallCap=0,
                pendingDowngradeEffectiveDate="2027-01-31",
                pendingDowngradeAccountType="free",
            )
        with_session = bool(prices) if fault != "session_needs_both_prices" else len(prices) == 2
        if fault == "budget_price_no_session" and list(prices) == ["budgetPriceId"]:
            with_session = False
        if with_session or fault == "session_without_price":
            session = f"sess_{next(counter)}"
            url = f"/pay/{session}" if fault == "session_url_relative" else f"https://pay.alpha.test/{session}"
            data.update(sessionId=session, url=url)
            checked_out.add(account_id)
        status = 201 if fault == "undocumented_status" or (fault == "created_201_first_post" and first_post) else 200
        if fault == "endless_for_basic" and scheme == "basic":

            async def endless() -> Any:
                yield encode(data, scheme)[:-1]
                while True:
                    yield b" " * 65536
                    await asyncio.sleep(0)

            return StreamingResponse(endless(), status_code=status, media_type=media_type)
        return answer(request, data, status, scheme)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "failed")
        response = error(request, status, code, "Not available.")
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    app = Starlette(
        routes=[
            Route("/account/organization", get_organization, methods=["GET"]),
            Route("/billing", billing, methods=["POST"]),
        ],
        exception_handlers={404: not_allowed, 405: not_allowed},
    )

    async def hanging(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen = next(requests_seen)
            if seen > HANG_AFTER and seen % 5 == 0:
                await asyncio.Event().wait()  # never set: no answer
        await app(scope, receive, send)

    served = hanging if fault == "hang_sometimes" else app
    return _with_habits(served, chosen, throttle_after) if chosen else served


def _with_habits(app: Any, chosen: set[str], throttle_after: int) -> Any:
    """Wrap ``app`` in what sits in front of real deployments: a rate limiter, latency, closed connections."""
    window = {"start": time.monotonic(), "count": 0}
    seen = itertools.count(1)

    def throttled() -> tuple[int, str] | None:
        if UNRELENTING in chosen:
            return (429, "0") if next(seen) > throttle_after else None
        if "throttled_every_40" in chosen:
            return (429, "1") if next(seen) % 40 == 0 else None
        if not chosen & {"rate_limited", "overloaded"}:
            return None
        now = time.monotonic()
        if now - window["start"] >= 1.0:
            window.update(start=now, count=0)
        window["count"] += 1
        if window["count"] <= RATE_LIMIT:
            return None
        if "rate_limited" in chosen:
            return 429, "1"
        return 503, email.utils.formatdate(time.time() + 1, usegmt=True)

    async def habits(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        limited = throttled()
        if limited is not None:
            status, retry_after = limited
            await Response("Slow down.", status, {"Retry-After": retry_after}, "text/plain")(scope, receive, send)
            return
        if "latency" in chosen:
            await asyncio.sleep(LATENCY)

        async def closing(message: Any) -> None:
            if message["type"] == "http.response.start" and "connection_close" in chosen:
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await app(scope, receive, closing)

    return habits
