"""Rendering the browser pages under ``/__mock__/``: templates, forms and HTML errors.

The templates and the one stylesheet live in ``mock_server/templates/`` and are
served by the mock itself (no CDN, no web fonts). Jinja escapes every value.
"""

from __future__ import annotations

import datetime as dt
import functools
import http
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
import orjson
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from billing_contract.media import media_type

from .asgi import accepts_html
from .errors import ApiError, UnsupportedMediaType, ValidationFailed
from .fixtures import Price
from .services import Services
from .state import request_state

__all__ = ["STYLESHEET", "browser_errors", "error_page", "money", "read_fields", "relative", "render", "wants_html"]

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


_UNITS = ((365 * 86400, "year"), (30 * 86400, "month"), (86400, "day"), (3600, "h"), (60, "min"), (1, "s"))
"""Units of a relative time, the largest first."""
_WORDS = frozenset({"year", "month", "day"})
"""The units that are words, with a plural."""


def relative(seconds: float) -> str:
    """How long ago (or, negative, how far ahead) ``seconds`` is, rounded, in the largest unit that fits once."""
    if abs(seconds) < 10:
        return "just now"
    size, unit = next((size, unit) for size, unit in _UNITS if abs(seconds) >= size)
    count = round(abs(seconds) / size)
    amount = f"{count} {unit}" + ("s" if count > 1 and unit in _WORDS else "")
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def _moment(moment: dt.datetime) -> str:
    """``2026-11-29 01:02:03 UTC``: a moment to read, without milliseconds."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(timestamp: Any, now: dt.datetime) -> Markup:
    """An ISO 8601 timestamp as a relative time against ``now`` (the mock's clock, or the wall clock for the
    request log), the timestamp itself on hover; a stored value that is no timestamp is shown as it is."""
    text = str(timestamp)[:40]
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return Markup("<span>{}</span>").format(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    said = relative((now - moment).total_seconds())
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(text, said)


def _path(path: Any) -> Markup:
    """A request path that may wrap after each ``/``, never inside a segment."""
    return Markup("/<wbr>").join(str(path)[:2048].split("/"))


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
_ENV.filters.update(number=_number, money=_price, ago=_ago, moment=_moment, path=_path, plan_state=_plan_state)


def render(template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    body = _ENV.get_template(template).render(**context)
    return HTMLResponse(body, status_code=http_status, headers={"cache-control": "no-store"})


def wants_html(request: Request) -> bool:
    """A browser asks for text/html; API clients and curl get the JSON error body."""
    return accepts_html(request.scope)


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


async def read_fields(request: Request, *, empty_ok: bool = False) -> dict[str, Any]:
    """A form (application/x-www-form-urlencoded) or a JSON object, as one flat dict (``empty_ok``: no body
    at all is no field)."""
    kind = media_type(request.headers.get("content-type"))[0]
    raw = await request.body()
    if empty_ok and not raw:
        return {}
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
