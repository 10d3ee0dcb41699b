"""A small deployment of the API, written apart from the mock, with switches that break the contract.

With no fault it honours openapi.yaml with its own ids, data, prices and error
codes, so the contract suite must pass; each fault breaks one promise, so the
suite must fail. Nothing here is shared with ``mock_server``.
"""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
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
)
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


def create_faulty_app(fault: str | None = None) -> Starlette:
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    customers: dict[str, str] = {}
    counter = itertools.count(1)

    def error(status: int, code: str, message: str) -> Response:
        body: dict[str, Any] = {"trackingId": f"trk-{uuid.uuid4().hex}", "error": {"code": code, "message": message}}
        if fault == "error_without_tracking":
            del body["trackingId"]
        return JSONResponse(body, status_code=status)

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
        return data

    async def get_organization(request: Request) -> Response:
        account_id = account(request)
        if account_id is None:
            return error(401, "unauthenticated", "Unknown or missing credentials.")
        data = organization(account_id)
        if fault == "wrong_content_type":
            return Response(json.dumps(data), media_type="text/plain")
        return JSONResponse(data)

    async def billing(request: Request) -> Response:
        account_id = account(request)
        if account_id is None:
            return error(401, "unauthenticated", "Unknown or missing credentials.")
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
                if not isinstance(body[field], str) or PRICES.get(body[field]) != tier:
                    return error(400, "bad_price", f"{field} is not a {tier} price.")
                prices[field] = body[field]
        if account_id not in customers or fault == "new_customer_each_call":
            customers[account_id] = f"cust_{account_id}_{next(counter)}"
        shown = "acct_beta" if fault == "post_other_org" and account_id == "acct_alpha" else account_id
        answer = {**organization(shown), "stripeCustomerId": customers[account_id], "status": "verified"}
        if prices:
            session = f"sess_{next(counter)}"
            answer.update(sessionId=session, url=f"https://pay.alpha.test/{session}")
        return JSONResponse(answer, status_code=201 if fault == "undocumented_status" else 200)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "failed")
        response = error(status, code, "Not available.")
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    return Starlette(
        routes=[
            Route("/account/organization", get_organization, methods=["GET"]),
            Route("/billing", billing, methods=["POST"]),
        ],
        exception_handlers={404: not_allowed, 405: not_allowed},
    )
