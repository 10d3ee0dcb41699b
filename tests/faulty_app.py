"""A small deployment of the API, written apart from the mock, with switches that break the contract.

With no fault it honours openapi.yaml with its own ids, data, prices and error
codes, so the contract suite must pass; each fault breaks one promise, so the
suite must fail. Each variant is a habit of real deployments that keeps the
contract (a rate limiter, a gateway's 401 body, extra fields...), so the suite
must still pass. Nothing here is shared with ``mock_server``.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import itertools
import json
import time
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
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
VARIANTS = (
    "rate_limited",  # 429 with Retry-After in seconds past RATE_LIMIT requests a second
    "overloaded",  # 503 with Retry-After as an HTTP date, the same way
    "gateway_401",  # a gateway answers 401 with its own body
    "extra_fields",
    "optional_fields_left_out",
    "charset",  # application/json; charset=utf-8
    "latency",
    "connection_close",
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


def create_faulty_app(fault: str | None = None, *, variant: str | None = None, throttle_after: int = 3) -> Any:
    """``throttle_after``: requests the unrelenting rate limiter lets through first."""
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    if variant is not None and variant not in (*VARIANTS, UNRELENTING):
        raise ValueError(f"unknown variant {variant!r}")
    customers: dict[str, str] = {}
    changed: dict[str, int] = {}
    counter = itertools.count(1)
    bumps = itertools.count(1)
    media_type = "application/json; charset=utf-8" if variant == "charset" else "application/json"

    def answer(data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status_code=status, media_type=media_type)

    def error(status: int, code: str, message: str) -> Response:
        body: dict[str, Any] = {"trackingId": f"trk-{uuid.uuid4().hex}", "error": {"code": code, "message": message}}
        if fault == "error_without_tracking":
            del body["trackingId"]
        if variant == "extra_fields":
            body["error"]["docs"] = "https://docs.alpha.test/errors"
        if status == 401 and variant == "gateway_401":
            return Response('{"message":"Unauthorized"}', 401, {"WWW-Authenticate": "Bearer"}, "application/json")
        if status == 401 and fault == "wrong_key_403" and code == "bad_key":
            status = 403
        return answer(body, status)

    def account(request: Request) -> str | None:
        if fault == "ignore_credentials":
            return "acct_alpha"
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return KEYS.get(value)
        if scheme.lower() == "basic":
            try:
                client, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return PAIRS.get((client, secret))
        return None

    def organization(account_id: str) -> dict[str, Any]:
        data = dict(ORGANIZATIONS[account_id])
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
        if variant == "extra_fields":
            data.update(region="eu-west", features={"sso": True})
        elif variant == "optional_fields_left_out":
            data.pop("smsCap", None)
            data.pop("callCap", None)
        if fault == "post_changes_organization":
            data["messagesCap"] += changed.get(account_id, 0)
        return data

    def refused(request: Request) -> Response:
        code = "bad_key" if request.headers.get("authorization") else "unauthenticated"
        return error(401, code, "Unknown or missing credentials.")

    async def get_organization(request: Request) -> Response:
        account_id = account(request)
        if account_id is None:
            return refused(request)
        data = organization(account_id)
        if fault == "wrong_content_type":
            return Response(json.dumps(data), media_type="text/plain")
        return answer(data)

    async def billing(request: Request) -> Response:
        account_id = account(request)
        if account_id is None:
            return refused(request)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return error(400, "bad_content_type", "Send JSON.")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error(400, "bad_json", "The body is not JSON.")
        if not isinstance(body, dict):
            return error(400, "bad_body", "The body must be an object.")
        for field in ("successUrl", "cancelUrl"):
            if not isinstance(body.get(field), str):
                return error(400, "bad_field", f"{field} must be a string.")
        if fault == "server_error" and not body["successUrl"].startswith("http"):
            return error(500, "crash", "Unhandled input.")
        prices = {}
        for field, tier in (("messagePriceId", "message"), ("budgetPriceId", "budget")):
            if field in body:
                known = PRICES.get(body[field]) if isinstance(body[field], str) else None
                if known is None or (known != tier and fault != "other_tier_accepted"):
                    return error(400, "bad_price", f"{field} is not a {tier} price.")
                prices[field] = body[field]
        if account_id not in customers or fault == "new_customer_each_call":
            customers[account_id] = f"cust_{account_id}_{next(counter)}"
        if not prices:
            changed[account_id] = next(bumps)
        shown = "acct_beta" if fault == "post_other_org" and account_id == "acct_alpha" else account_id
        data = {**organization(shown), "stripeCustomerId": customers[account_id]}
        if variant != "optional_fields_left_out":
            data["status"] = "verified"
        with_session = bool(prices) if fault != "session_needs_both_prices" else len(prices) == 2
        if with_session or fault == "session_without_price":
            session = f"sess_{next(counter)}"
            data.update(sessionId=session, url=f"https://pay.alpha.test/{session}")
        return answer(data, 201 if fault == "undocumented_status" else 200)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "failed")
        response = error(status, code, "Not available.")
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    app = Starlette(
        routes=[
            Route("/account/organization", get_organization, methods=["GET"]),
            Route("/billing", billing, methods=["POST"]),
        ],
        exception_handlers={404: not_allowed, 405: not_allowed},
    )
    return _with_habits(app, variant, throttle_after) if variant else app


def _with_habits(app: Any, variant: str, throttle_after: int) -> Any:
    """Wrap ``app`` in what sits in front of real deployments: a rate limiter, latency, closed connections."""
    window = {"start": time.monotonic(), "count": 0}
    seen = itertools.count(1)

    def throttled() -> tuple[int, str] | None:
        if variant == UNRELENTING:
            return (429, "0") if next(seen) > throttle_after else None
        if variant not in ("rate_limited", "overloaded"):
            return None
        now = time.monotonic()
        if now - window["start"] >= 1.0:
            window.update(start=now, count=0)
        window["count"] += 1
        if window["count"] <= RATE_LIMIT:
            return None
        if variant == "rate_limited":
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
        if variant == "latency":
            await asyncio.sleep(LATENCY)

        async def closing(message: Any) -> None:
            if message["type"] == "http.response.start" and variant == "connection_close":
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await app(scope, receive, closing)

    return habits
