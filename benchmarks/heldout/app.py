"""A held-out deployment of the organization & billing API, on Starlette.

    create_app()                                the API as the reference pages and openapi.yaml state it
    create_app(fault="wrong_secret_accepted")   ... with one fault switched on (faults.py)
    create_app(variant="throttled")             ... or as one correct deployment unlike the mock (variants.py)

Written from the document alone, apart from the contract suite: its accounts, ids,
keys, prices and error codes are its own (accounts.py). State (Stripe customers,
checkout sessions, call counts) lives in the app object, so each ``create_app`` starts
afresh. Each request becomes an :class:`Exchange`; the correct answer is built first,
then the variant and the fault, if any, change it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .accounts import ACCOUNTS, BUDGET_PRICE, MAIN, MESSAGE_PRICE, OTHER, PRICE_TIERS, Account
from .exchange import GET_ORGANIZATION, POST_BILLING, Answer, Exchange
from .faults import FAULTS
from .variants import VARIANTS

MAX_BODY_BYTES = 64 * 1024  # a billing request is a few hundred bytes
PRICE_FIELDS = {"messagePriceId": "message", "budgetPriceId": "budget"}
STRING_FIELDS = ("messagePriceId", "budgetPriceId", "successUrl", "cancelUrl")
REQUIRED_FIELDS = ("successUrl", "cancelUrl")
KEY_PREFIX = 20  # characters the key_prefix_compare fault looks at


@dataclass
class AccountState:
    account: Account
    customer: str | None
    customers_by_kind: dict[str, str] = field(default_factory=dict)
    sessions: list[tuple[str, str]] = field(default_factory=list)  # (sessionId, url)
    calls: dict[str, int] = field(default_factory=dict)
    posts: int = 0


class Deployment:
    """The two operations, their state, and the switches of one fault or one variant."""

    def __init__(self, fault: str | None = None, variant: str | None = None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        if variant is not None and variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}")
        self.fault = fault
        self.variant = variant
        self.requests = 0
        self.serial = 0  # for Stripe-shaped ids
        self.trackings = 0  # for tracking ids, apart: an error more or less does not move the other ids
        self.priced_posts = 0
        self.last_organization: dict[str, Any] | None = None
        self.main_has_called = False
        self.accounts = {
            account.name: AccountState(account, account.billing.get("stripeCustomerId")) for account in ACCOUNTS
        }
        if self.varies("maximal"):
            self.accounts[MAIN.name].customer = "cus_NwA1d3rW7kPq2Z"

    def broken(self, name: str) -> bool:
        return FAULTS.switch(name) == self.fault

    def varies(self, name: str) -> bool:
        return VARIANTS.switch(name) == self.variant

    # -- ids ------------------------------------------------------------------------------------

    def new_id(self, prefix: str, length: int = 24) -> str:
        """A Stripe-shaped id, deterministic for one app: prefix + base62 of a counter's digest."""
        self.serial += 1
        digest = hashlib.sha256(f"heldout:{self.serial}".encode()).digest()
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        number = int.from_bytes(digest, "big")
        chars: list[str] = []
        while len(chars) < length:
            number, rest = divmod(number, 62)
            chars.append(alphabet[rest])
        return prefix + "".join(chars)

    def tracking_id(self) -> str:
        self.trackings += 1
        hexa = hashlib.sha256(f"tracking:{self.trackings}".encode()).hexdigest()
        return f"{hexa[:8]}-{hexa[8:12]}-4{hexa[13:16]}-a{hexa[17:20]}-{hexa[20:32]}"

    def error(self, status: int, code: str, message: str, fix: str | None = None) -> Answer:
        detail = {"code": code, "message": message}
        if fix is not None:
            detail["fix"] = fix
        return Answer(status, {"trackingId": self.tracking_id(), "error": detail})

    # -- credentials -------------------------------------------------------------------------------

    def authenticate(self, exchange: Exchange, header: str | None) -> Answer | None:
        """Set the exchange's account and credential kind, or answer the refusal."""
        if not header or not header.strip():
            return self.unauthorized("missing_credentials", "No credentials were sent.")
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            exchange.credential = "bearer"
            account = self.by_key(value)
        elif scheme.lower() == "basic":
            exchange.credential = "basic"
            pair = _basic_pair(value)
            if pair is None:
                return self.unauthorized("malformed_credentials", "The Basic credentials are not base64 of id:secret.")
            known = next((a for a in ACCOUNTS if a.client_id is not None and a.client_id == pair[0]), None)
            if known is not None and self.broken("forbidden_wrong_secret") and not _same(pair[1], known.client_secret):
                return self.error(403, "forbidden", "This client may not use this API.")
            account = self.by_pair(*pair)
            if account is not None and exchange.operation == POST_BILLING and self.broken("basic_refused_on_post"):
                account = None
        else:
            return self.unauthorized("malformed_credentials", "Use the Bearer or the Basic scheme.")
        if account is None:
            return self.unauthorized("invalid_credentials", "The credentials were not recognised.")
        exchange.account = account.name
        return None

    def by_key(self, key: str) -> Account | None:
        for account in ACCOUNTS:
            if self.broken("key_prefix_compare"):
                if len(key) >= KEY_PREFIX and _same(key[:KEY_PREFIX], account.key[:KEY_PREFIX]):
                    return account
            elif _same(key, account.key):
                return account
        return None

    def by_pair(self, client_id: str, secret: str) -> Account | None:
        for account in ACCOUNTS:
            if account.client_id is None or account.client_secret is None:
                continue
            if self.broken("secret_under_any_client_id"):
                if _same(secret, account.client_secret):
                    return account
                continue
            if not _same(client_id, account.client_id):
                continue
            if self.broken("wrong_secret_accepted") or _same(secret, account.client_secret):
                return account
        return None

    def unauthorized(self, code: str, message: str) -> Answer:
        answer = self.error(401, code, message, "Send the secret API key as a Bearer token, or client id and secret.")
        answer.headers["WWW-Authenticate"] = 'Bearer realm="api", Basic realm="api"'
        return answer

    # -- the operations ------------------------------------------------------------------------------

    def get_organization(self, exchange: Exchange) -> Answer:
        state = self.accounts[exchange.account or ""]
        if self.varies("over_limit_other") and state.account is OTHER:
            return self.over_limit()
        if self.broken("other_sees_main_org_after_main_call") and state.account is OTHER and self.main_has_called:
            return Answer(200, dict(MAIN.organization))
        return Answer(200, dict(state.account.organization))

    def post_billing(self, exchange: Exchange, request: dict[str, Any]) -> Answer:
        state = self.accounts[exchange.account or ""]
        prices = {name: request[name] for name in PRICE_FIELDS if name in request}
        if self.varies("over_limit_other") and state.account is OTHER and not prices:
            return self.over_limit()
        refusal = self.check_prices(prices)
        if refusal is not None:
            return refusal
        if prices and self.broken("conflict_open_session") and state.sessions:
            return self.error(409, "session_open", "A checkout session is already open for this organization.")
        if prices and self.varies("provider_hiccup"):
            self.priced_posts += 1
            if self.priced_posts == 2:
                answer = self.error(502, "provider_error", "Stripe is rate limiting requests.", "Retry later.")
                answer.body["error"].update(provider="stripe", providerCode="rate_limit")
                return answer
        body = dict(state.account.organization)
        body.update(state.account.billing)
        body["stripeCustomerId"] = self.customer(exchange, state)
        if prices:
            session_id = self.new_id("cs_test_a1", 56)
            state.sessions.append((session_id, f"https://checkout.stripe.com/c/pay/{session_id}"))
        if prices or (self.broken("stale_session_without_price") and state.sessions):
            body["sessionId"], body["url"] = state.sessions[-1]
        state.posts += 1
        return Answer(200, body)

    def check_prices(self, prices: dict[str, Any]) -> Answer | None:
        for name, price in prices.items():
            tier = PRICE_TIERS.get(price)
            if tier is None:
                if name == "messagePriceId" and self.broken("unknown_price_accepted_message"):
                    continue
                return self.error(400, "price_not_found", f"No price {_excerpt(price)}.", "Use a price of your plan.")
            if tier != PRICE_FIELDS[name]:
                if name == "budgetPriceId" and self.broken("wrong_tier_accepted_budget"):
                    continue
                return self.error(
                    400,
                    "price_wrong_tier",
                    f"{_excerpt(price)} is a {tier}-tier price; {name} takes a {PRICE_FIELDS[name]}-tier price.",
                    f"Pass {MESSAGE_PRICE} as messagePriceId and {BUDGET_PRICE} as budgetPriceId.",
                )
        return None

    def customer(self, exchange: Exchange, state: AccountState) -> str:
        """Get or create the account's Stripe customer: one per organization."""
        if self.broken("other_gets_main_customer") and state.account is OTHER:
            main = self.accounts[MAIN.name].customer
            if main is not None:
                return main
        if self.broken("customer_per_credential_kind") and exchange.credential == "basic":
            if "basic" not in state.customers_by_kind:
                state.customers_by_kind["basic"] = self.new_id("cus_", 14)
                exchange.customer_created = True
            return state.customers_by_kind["basic"]
        if state.customer is None or (self.broken("new_customer_every_post") and state.account is MAIN):
            state.customer = self.new_id("cus_", 14)
            exchange.customer_created = True
        return state.customer

    def over_limit(self) -> Answer:
        return self.error(
            402,
            "usage_limit_exceeded",
            "This organization has used its caps for the billing cycle.",
            "Buy a plan with POST /billing and a price, or wait for the anniversary date.",
        )

    # -- the request body ------------------------------------------------------------------------------

    def read_request(self, exchange: Exchange, content_type: str | None, raw: bytes) -> Answer | dict[str, Any]:
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            return self.error(400, "unsupported_content_type", "Send the body as application/json.")
        try:
            value = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # not UTF-8, not JSON, too deep, or an integer of too many digits
            return self.error(400, "invalid_json", "The body is not valid UTF-8 JSON.", "Send a JSON object.")
        if not isinstance(value, dict):
            return self.error(400, "invalid_body", "The body must be a JSON object.", "Send a JSON object.")
        exchange.request = value
        for name in STRING_FIELDS:
            if name in value and not isinstance(value[name], str):
                return self.error(400, "invalid_type", f"{name} must be a string.", f"Send {name} as a string.")
        for name in REQUIRED_FIELDS:
            if name not in value:
                if name == "cancelUrl" and self.broken("cancel_url_optional_without_price"):
                    if not any(price in value for price in PRICE_FIELDS):
                        continue
                return self.error(400, "missing_field", f"{name} is required.", "Send successUrl and cancelUrl.")
        return value

    # -- one request, start to end ------------------------------------------------------------------------

    async def serve(self, request: Request, operation: str) -> Response:
        self.requests += 1
        exchange = Exchange(operation, Answer(500), request_number=self.requests, main_has_called=self.main_has_called)
        exchange.answer = await self.answer(exchange, request)
        if exchange.account is not None and exchange.answer.status < 300:
            if exchange.account == MAIN.name:
                self.main_has_called = True
            if operation == GET_ORGANIZATION:
                self.last_organization = exchange.answer.body
        VARIANTS.apply(self.variant, exchange)
        FAULTS.apply(self.fault, exchange)
        return await _respond(exchange.answer)

    async def answer(self, exchange: Exchange, request: Request) -> Answer:
        if self.varies("throttled") and exchange.request_number % 40 == 7:
            answer = self.error(429, "rate_limited", "Too many requests.", "Wait for Retry-After seconds.")
            answer.headers["Retry-After"] = "1"
            return answer
        header = request.headers.get("authorization")
        if not header and exchange.operation == GET_ORGANIZATION and self.broken("no_credentials_served_from_cache"):
            if self.last_organization is not None:
                return Answer(200, dict(self.last_organization))
        raw = await _read_body(request) if exchange.operation == POST_BILLING else b""
        if not header and exchange.operation == POST_BILLING and self.broken("no_credentials_post_400"):
            return self.error(400, "missing_header", "The Authorization header is required.")
        refusal = self.authenticate(exchange, header)
        if refusal is not None:
            return refusal
        state = self.accounts[exchange.account or ""]
        exchange.call = state.calls[exchange.operation] = state.calls.get(exchange.operation, 0) + 1
        exchange.sessions_before = len(state.sessions)
        exchange.posts_before = state.posts
        if exchange.operation == GET_ORGANIZATION:
            return self.get_organization(exchange)
        if raw is None:
            return self.error(400, "body_too_large", f"The body is over {MAX_BODY_BYTES} bytes.")
        request_body = self.read_request(exchange, request.headers.get("content-type"), raw)
        if isinstance(request_body, Answer):
            return request_body
        return self.post_billing(exchange, request_body)

    async def outside(self, request: Request, status: int) -> Response:
        """Requests the document does not describe: another path, or another method."""
        self.requests += 1
        if self.varies("aws_gateway_edges"):
            answer = Answer(403, {"message": "Missing Authentication Token"})
        elif status == 405:
            answer = self.error(405, "method_not_allowed", f"{_excerpt(request.method)} is not allowed here.")
            answer.headers["Allow"] = "GET, HEAD" if request.url.path == "/account/organization" else "POST"
        else:
            answer = self.error(404, "not_found", "No such route.", "See the API reference.")
        exchange = Exchange(f"{request.method} {request.url.path}", answer, request_number=self.requests)
        VARIANTS.apply(self.variant, exchange)
        FAULTS.apply(self.fault, exchange)
        return await _respond(exchange.answer)


def create_app(fault: str | None = None, variant: str | None = None) -> Starlette:
    """The deployment as an ASGI app; a fresh state each time."""
    deployment = Deployment(fault, variant)

    async def get_organization(request: Request) -> Response:
        return await deployment.serve(request, GET_ORGANIZATION)

    async def post_billing(request: Request) -> Response:
        return await deployment.serve(request, POST_BILLING)

    async def not_found(request: Request, exc: Exception) -> Response:
        return await deployment.outside(request, 404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return await deployment.outside(request, 405)

    routes = [
        Route("/account/organization", get_organization, methods=["GET"]),
        Route("/billing", post_billing, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    app.state.deployment = deployment
    return app


async def _respond(answer: Answer) -> Response:
    if answer.delay:
        await asyncio.sleep(answer.delay)
    payload = answer.payload()
    headers = dict(answer.headers)
    if answer.media_type is not None and (payload or answer.status != 204):
        headers["Content-Type"] = answer.media_type
    return Response(payload, status_code=answer.status, headers=headers)


async def _read_body(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY_BYTES (read no further)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _basic_pair(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return (client_id, secret) if colon else None


def _same(given: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _excerpt(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
