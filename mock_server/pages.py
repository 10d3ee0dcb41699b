"""Rendering the browser pages under ``/__mock__/``: templates, forms and HTML errors.

The templates and the one stylesheet live in ``mock_server/templates/`` and are
served by the mock itself (no CDN, no web fonts). Jinja escapes every value.
"""

from __future__ import annotations

import functools
import http
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from billing_contract.media import media_type

from .errors import ApiError, UnsupportedMediaType, ValidationFailed
from .fixtures import Price
from .services import Services
from .state import request_state

__all__ = ["STYLESHEET", "browser_errors", "error_page", "money", "read_fields", "render", "wants_html"]

TEMPLATES = Path(str(resources.files("mock_server") / "templates"))
STYLESHEET = (TEMPLATES / "style.css").read_bytes()
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$"}


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def money(amount_cents: int, currency: str) -> str:
    symbol = _SYMBOLS.get(currency.lower())
    figure = f"{amount_cents / 100:,.2f}"
    return f"{symbol}{figure}" if symbol else f"{figure} {currency.upper()}"


def _price(price: Price) -> str:
    return f"{money(price.amount, price.currency)} / {price.interval}"


def _clock(timestamp: str) -> str:
    """The time of day of an ISO 8601 timestamp (``2026-11-29T01:02:03.456Z`` -> ``01:02:03``)."""
    return timestamp[11:19]


def _plan_state(organization: dict[str, Any]) -> str:
    """The organization as it is now, in words: plan, verification, subscription, downgrade."""
    parts = [str(organization.get("organizationType", "")).capitalize()]
    if organization.get("status"):
        parts.append(str(organization["status"]))
    if organization.get("subscriptionStatus"):
        parts.append(f"subscription {organization['subscriptionStatus']}")
    elif not organization.get("stripeCustomerId"):
        parts.append("no Stripe customer yet")
    if organization.get("pendingDowngradeEffectiveDate"):
        to = organization.get("pendingDowngradeAccountType") or "lower caps"
        parts.append(f"downgrade to {to} on {organization['pendingDowngradeEffectiveDate']}")
    return ", ".join(part for part in parts if part)


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(number=_number, money=_price, clock=_clock, plan_state=_plan_state)


def render(template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    body = _ENV.get_template(template).render(**context)
    return HTMLResponse(body, status_code=http_status, headers={"cache-control": "no-store"})


def wants_html(request: Request) -> bool:
    """A browser asks for text/html; API clients and curl get the JSON error body."""
    return "text/html" in request.headers.get("accept", "")


_TITLES = {404: "Not found", 409: "Already paid", 410: "Expired"}

Endpoint = Callable[[Request, Services], Awaitable[Response]]


def error_page(
    request: Request, error: ApiError, back_url: str | None = None, back_label: str = "Back to the dashboard"
) -> HTMLResponse:
    """``error`` as an HTML page with its status, for browsers."""
    phrase = http.HTTPStatus(error.status_code).phrase
    return render(
        "error.html",
        http_status=error.status_code,
        error=error,
        status=error.status_code,
        phrase=phrase,
        title=_TITLES.get(error.status_code, phrase),
        tracking_id=request_state(request.scope).tracking_id,
        back_url=back_url,
        back_label=back_label,
    )


def browser_errors(
    back_url: str | None = None, back_label: str = "Back to the dashboard"
) -> Callable[[Endpoint], Endpoint]:
    """Errors of a browser page answer an HTML page (with the same status) to browsers."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapper(request: Request, services: Services) -> Response:
            try:
                return await endpoint(request, services)
            except ApiError as error:
                if not wants_html(request):
                    raise
                return error_page(request, error, back_url, back_label)

        return wrapper

    return decorate


async def read_fields(request: Request) -> dict[str, Any]:
    """A form (application/x-www-form-urlencoded) or a JSON object, as one flat dict."""
    kind = media_type(request.headers.get("content-type"))[0]
    raw = await request.body()
    if kind == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
        except (UnicodeDecodeError, ValueError):
            raise ValidationFailed("The form body could not be read.") from None
        return {name: values[-1] for name, values in parsed.items()}
    if kind == "application/json":
        try:
            fields = orjson.loads(raw)  # strict and bounded: no NaN, no lone surrogate, 1,024 levels at most
        except orjson.JSONDecodeError:
            raise ValidationFailed("The request body is not valid JSON.") from None
        if not isinstance(fields, dict):
            raise ValidationFailed("The request body must be a JSON object.")
        return fields
    raise UnsupportedMediaType("Send a form (application/x-www-form-urlencoded) or a JSON object (application/json).")
