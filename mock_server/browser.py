"""The browser pages under ``/__mock__/``: the hosted checkout and the dashboard.

``/__mock__/checkout/<sessionId>`` is the ``url`` of a checkout session: a
capability URL, reachable without the admin token. The dashboard and its
controls (reset, sticky scenarios) follow the access rule of the other
``/__mock__/`` routes.
"""

from __future__ import annotations

import datetime as dt
import http
import itertools
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from billing_contract.drift_report import fact_text
from billing_contract.excerpt import excerpt

from . import checkout
from .asgi import DASHBOARD
from .errors import UnavailableInProxyMode, ValidationFailed
from .numbers import parse_int
from .pages import STYLESHEET, browser_errors, money, read_fields, render
from .services import Services
from .state import request_state
from .stores import DEFAULT, REQUEST_LOG_SIZE

__all__ = [
    "DASHBOARD",
    "SHOWN_ORGANIZATIONS",
    "checkout_action",
    "checkout_page",
    "dashboard",
    "dashboard_url",
    "hosted_checkout",
    "is_form",
    "set_sticky",
    "sticky_statuses",
    "stylesheet",
]

SHOWN_ORGANIZATIONS = 100
SHOWN_SESSIONS = 50
SHOWN_REQUESTS = 50
SHOWN_SANDBOXES = 50
SHOWN_DRIFT = 50  # violation groups, and undocumented facts, listed on the dashboard
CLOCK_MOVES = (
    ("+1 day", "advance", "P1D"),
    ("+1 month", "advance", "P1M"),
    ("To the next anniversary", "to", "next-anniversary"),
)
"""The dashboard's buttons of POST /__mock__/clock: (label, field, value)."""
_UNLISTED = {
    "/__mock__",
    DASHBOARD,
    "/__mock__/static/style.css",
    "/favicon.ico",
    "/robots.txt",
    "/ui",
    "/openapi.json",
}
_UNLISTED_PREFIXES = ("/ui/", "/apple-touch-icon", "/.well-known/")
"""The dashboard itself and what browsers and the Swagger UI page ask for by themselves."""


def dashboard_url(sandbox: str) -> str:
    """The dashboard of ``sandbox``."""
    return DASHBOARD if sandbox == DEFAULT else f"{DASHBOARD}?sandbox={sandbox}"


def _origin(url: str) -> str:
    """The scheme and host of ``url``, for a message: not its path or query, which may carry a secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"[:200]


def is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("application/x-www-form-urlencoded")


def _note_organization(request: Request, organization_id: str) -> None:
    request_state(request.scope).organization_id = organization_id


async def stylesheet(request: Request, services: Services) -> Response:
    return Response(STYLESHEET, media_type="text/css", headers={"cache-control": "max-age=300"})


# the hosted checkout ------------------------------------------------------


@browser_errors()
async def checkout_page(request: Request, services: Services) -> Response:
    sandbox = await services.sandboxes.of_request(request)
    session = await checkout.current(sandbox, request.path_params["session_id"])
    _note_organization(request, session["organizationId"])
    organization = (await sandbox.get(session["organizationId"])).organization
    prices = checkout.session_prices(services.store.prices, session)
    currencies = sorted({price.currency for price in prices})
    total = " + ".join(
        money(sum(price.amount for price in prices if price.currency == currency), currency) for currency in currencies
    )
    return render(
        "checkout.html",
        session=session,
        organization=organization,
        lines=[{"price": price} for price in prices],
        total=total,
        interval=prices[0].interval,
        success_url=checkout.success_url(session),
        action=_here(request),
        now=sandbox.now,
    )


def _here(request: Request) -> str:
    """The page's own path and query: where its forms post."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


@browser_errors()
async def checkout_action(request: Request, services: Services) -> Response:
    """The page's two buttons: ``action=pay`` or ``action=cancel``; both answer 303 to the app.

    The answer is made before paying, so that a Pay either completes with its redirect or changes nothing.
    """
    sandbox = await services.sandboxes.of_request(request)
    session = await checkout.current(sandbox, request.path_params["session_id"])
    _note_organization(request, session["organizationId"])
    action = (await read_fields(request)).get("action")
    if action == "pay":
        answer = RedirectResponse(checkout.location(checkout.success_url(session)), status_code=303)
        await checkout.pay(sandbox, session["id"])
        return answer
    if action == "cancel":
        cancelled = await checkout.cancel(sandbox, session["id"])
        return RedirectResponse(checkout.location(cancelled["cancelUrl"]), status_code=303)
    raise ValidationFailed(
        f"action must be 'pay' or 'cancel', got {excerpt(action)}.",
        fix="Use the Pay or Cancel button of the checkout page, or send action=pay / action=cancel.",
    )


async def hosted_checkout(request: Request, services: Services) -> Response:
    """``/__mock__/checkout/{session_id}``: the page (GET, HEAD) and its buttons (POST)."""
    if request.method == "POST":
        return await checkout_action(request, services)
    return await checkout_page(request, services)


# the dashboard ------------------------------------------------------------


def sticky_statuses(services: Services) -> list[int]:
    """The error statuses every operation documents: what a sticky scenario may answer."""
    documented = [set(services.scenarios.statuses(operation)) for operation in services.spec.operations]
    return sorted(status for status in set.intersection(*documented) if status >= 400)


def drift_rows(report: dict[str, Any]) -> dict[str, Any]:
    """The drift report as the dashboard lists it: violations, then undocumented facts, the worst first."""
    violations = [
        {"operation": operation["operation"], **group}
        for operation in report["operations"]
        for group in operation["violations"]
    ]
    facts = [
        {"operation": operation["operation"], "text": fact_text(fact), **fact}
        for operation in report["operations"]
        for fact in operation["undocumented"]
    ]
    violations.sort(key=lambda group: -group["count"])
    facts.sort(key=lambda fact: -fact["count"])
    return {**report, "rows": violations[:SHOWN_DRIFT] + facts[:SHOWN_DRIFT]}


@browser_errors(back_url=DASHBOARD)
async def dashboard(request: Request, services: Services) -> Response:
    """The organizations, sessions and requests; with ``--proxy``, where it forwards and the requests judged."""
    store = services.store
    sandbox = await services.sandboxes.of_request(request)
    entries = [
        entry
        for entry in reversed(await sandbox.recent(REQUEST_LOG_SIZE))
        if entry["path"] not in _UNLISTED and not entry["path"].startswith(_UNLISTED_PREFIXES)
    ]
    seen: dict[str, Any] = {
        "now": sandbox.now,  # what the mock's timestamps are read against
        "clock_moved": sandbox.now > store.clock.base(),
        "wall_now": dt.datetime.now(dt.UTC),  # the request log's times are the wall clock's
        "requests": entries[:SHOWN_REQUESTS],
        "request_count": len(entries),
        "watch_error": services.watch.error if services.watch is not None else None,
    }
    settings = services.settings
    if settings.proxy:
        forwarded = [entry for entry in entries if entry.get("violations") is not None]
        return render(
            "dashboard.html",
            proxy=settings.proxy,
            proxy_strict=settings.proxy_strict,
            record=settings.record,
            forwarded=len(forwarded),
            broken=sum(1 for entry in forwarded if entry["violations"]),
            drift=drift_rows(services.drift.report()) if services.drift is not None else None,
            drift_report=settings.drift_report,
            **seen,
        )
    sticky = await sandbox.stickies()
    rows = [
        {
            "tenant": tenant,
            "org": (await sandbox.get(tenant.organization_id)).organization,
            "sticky": sticky.get(tenant.organization_id),
        }
        for tenant in itertools.islice(store, SHOWN_ORGANIZATIONS)
    ]
    sessions = await sandbox.recent_sessions(SHOWN_SESSIONS)
    return render(
        "dashboard.html",
        sandbox=sandbox.name,
        query="" if sandbox.name == DEFAULT else f"?sandbox={sandbox.name}",
        sandboxes=await services.sandboxes.all(),
        shown_sandboxes=SHOWN_SANDBOXES,
        active_sticky=sticky,
        frozen=store.clock.frozen,
        clock_moves=CLOCK_MOVES,
        organization_count=len(store),
        organizations=rows,
        more_organizations=max(0, len(store) - SHOWN_ORGANIZATIONS),
        sessions=[checkout.as_of_now(sandbox.now, session) for session in sessions],
        session_count=await sandbox.session_count(),
        sticky_statuses=[(status, http.HTTPStatus(status).phrase) for status in sticky_statuses(services)],
        **seen,
    )


def _sticky_status(raw: Any, allowed: list[int]) -> int | None:
    if raw is None or raw in ("", "off"):
        return None
    if isinstance(raw, str):
        raw = parse_int(raw, maximum=599)
    if isinstance(raw, bool) or raw not in allowed:
        raise ValidationFailed(
            f"status must be one of {', '.join(map(str, allowed))} or 'off', got {excerpt(raw)}.",
            fix="Pick a status every operation documents, or 'off' to answer normally again.",
        )
    return int(raw)


@browser_errors(back_url=DASHBOARD)
async def set_sticky(request: Request, services: Services) -> Response:
    """Make an organization's next calls answer ``status`` (until set ``off`` or reset)."""
    proxy = services.settings.proxy
    if proxy:
        raise UnavailableInProxyMode(
            f"Sticky scenarios do not apply with --proxy: every call is forwarded to {_origin(proxy)}, "
            "whose answers the mock passes on unchanged."
        )
    fields = await read_fields(request)
    organization_id = fields.get("organizationId")
    store = services.store
    if not isinstance(organization_id, str) or organization_id not in store.tenants:
        raise ValidationFailed(
            f"No organization {excerpt(organization_id, 80)}.",
            fix="Send organizationId of an organization listed on the dashboard.",
        )
    status = _sticky_status(fields.get("status"), sticky_statuses(services))
    sandbox = await services.sandboxes.of_request(request)
    answer: Response = JSONResponse({"organizationId": organization_id, "status": status})
    if is_form(request):
        answer = RedirectResponse(f"{dashboard_url(sandbox.name)}#org-{organization_id}", status_code=303)
    await sandbox.set_sticky(organization_id, status)
    return answer
