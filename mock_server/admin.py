"""Mock-only routes under ``/__mock__/`` (not part of ``openapi.yaml``), on Starlette's router.

Served without a token while the server listens on loopback; on any other
address they need ``X-Admin-Token`` with the value of ``--admin-token``, except
the public routes (the checkout page, a capability URL, and its stylesheet).
A request that would change state (any method but GET, HEAD, OPTIONS) is refused
when a browser says it was sent from another site (:mod:`mock_server.origins`).
An unknown ``/__mock__/`` path answers 404 and a wrong method 405 with ``Allow``,
both in the documented error body.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match, Route, Router
from starlette.types import Receive, Scope, Send

from billing_contract.excerpt import excerpt

from . import browser, controls, drift
from .asgi import send_error
from .errors import AdminForbidden, ApiError, CrossSiteRefused, MethodNotAllowed, NotFound, ValidationFailed
from .numbers import parse_int
from .origins import SAFE_METHODS, cross_site
from .pages import error_page, wants_html
from .services import REQUEST_LOG_SIZE, Services
from .state import request_state

__all__ = ["AdminApp", "routes"]

Endpoint = Callable[[Request, Services], Awaitable[Response]]
_PUBLIC_ROUTES = frozenset({"checkout", "stylesheet", "document"})
"""Names of the routes reachable without the admin token."""


async def health(request: Request, services: Services) -> Response:
    return JSONResponse(
        {
            "status": "ok",
            "organizations": len(services.store),
            "uptimeSeconds": round(time.monotonic() - services.started, 3),
        }
    )


async def reset(request: Request, services: Services) -> Response:
    """The request's sandbox back to the fixtures; the answer is made first, so the reset is the last thing
    that happens."""
    sandbox = await services.sandboxes.of_request(request)
    answer: Response = JSONResponse({"status": "reset", "sandbox": sandbox.name, "organizations": len(services.store)})
    if browser.is_form(request):  # the dashboard's button
        answer = RedirectResponse(browser.dashboard_url(sandbox.name), status_code=303)
    await services.reset(sandbox.name)
    return answer


async def recent_requests(request: Request, services: Services) -> Response:
    raw_limit = request.query_params.get("limit", "50")
    most = REQUEST_LOG_SIZE
    limit = parse_int(raw_limit, minimum=1, maximum=most)
    if limit is None:
        raise ValidationFailed(f"limit must be a whole number from 1 to {most}.")
    sandbox = await services.sandboxes.of_request(request)
    entries = await sandbox.recent(limit)
    return JSONResponse({"requests": entries[::-1]})


DOCUMENT = Path(__file__).resolve().parent / "admin.yaml"
"""The OpenAPI document of these routes, served at ``/__mock__/openapi.yaml``."""


async def document(request: Request, services: Services) -> Response:
    return Response(DOCUMENT.read_bytes(), media_type="application/yaml")


def routes(services: Services) -> list[Route]:
    """Every ``/__mock__/`` route, its endpoint given ``services``."""

    def route(path: str, endpoint: Endpoint, *methods: str, name: str | None = None) -> Route:
        async def bound(request: Request) -> Response:
            return await endpoint(request, services)

        return Route(path, bound, methods=list(methods or ("GET",)), name=name or endpoint.__name__)

    return [
        route("/__mock__/health", health),
        route("/__mock__/openapi.yaml", document),
        route("/__mock__/reset", reset, "POST"),
        route("/__mock__/requests", recent_requests),
        route("/__mock__/", browser.dashboard),
        route("/__mock__", browser.dashboard),
        route("/__mock__/sticky", browser.set_sticky, "POST"),
        route("/__mock__/clock", controls.clock, name="clock"),
        route("/__mock__/clock", controls.move_clock, "POST", name="move_clock"),
        route("/__mock__/sandboxes", controls.list_sandboxes, name="sandboxes"),
        route("/__mock__/sandboxes", controls.create_sandbox, "POST", name="create_sandbox"),
        route("/__mock__/sandboxes/{name}", controls.drop_sandbox, "DELETE", name="drop_sandbox"),
        route("/__mock__/drift", drift.drift),
        route("/__mock__/drift", drift.clear_drift, "DELETE"),
        route("/__mock__/drift/save", drift.save_drift, "POST"),
        route("/__mock__/static/style.css", browser.stylesheet, name="stylesheet"),
        route("/__mock__/checkout/{session_id}", browser.hosted_checkout, "GET", "POST", name="checkout"),
    ]


class AdminApp:
    """The ASGI app of ``/__mock__/``: the access rule, then Starlette's router."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.router = Router(routes(services), redirect_slashes=False)

    def _allowed(self, request: Request) -> None:
        settings = self.services.settings
        if settings.admin_open:
            return
        token = request.headers.get("x-admin-token", "")
        if settings.admin_token is None:
            raise AdminForbidden(
                "The /__mock__/ routes are off on a non-loopback address unless the server "
                "was started with --admin-token."
            )
        if not hmac.compare_digest(settings.admin_token.encode(), token.encode("utf-8", "surrogatepass")):
            raise AdminForbidden()

    def _same_site(self, scope: Scope) -> None:
        """Refuse a request that would change state when the browser says another site sent it."""
        if scope["method"] in SAFE_METHODS:
            return
        reason = cross_site(scope, self.services.settings.checkout_base_url)
        if reason is not None:
            raise CrossSiteRefused(f"Refused {scope['method']} {scope['path'][:80]}: another site sent it ({reason}).")

    def _route(self, scope: Scope) -> Route:
        """The route of this path, whatever the method (the token is checked before the method)."""
        for route in self.router.routes:
            if isinstance(route, Route) and route.matches(scope)[0] is not Match.NONE:
                return route
        raise NotFound(f"No mock route {excerpt(scope['path'], 80)}.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Inside an "app", Starlette's router raises HTTPException for 404 and 405.
        scope["app"] = self
        headers: list[tuple[bytes, bytes]] = []
        request = Request(scope, receive)
        try:
            route = self._route(scope)
            if route.name not in _PUBLIC_ROUTES:
                self._allowed(request)
            self._same_site(scope)
            try:
                await self.router(scope, receive, send)
            except HTTPException as exc:
                if exc.status_code != 405:
                    raise
                methods = {
                    method
                    for other in self.router.routes
                    if isinstance(other, Route) and other.path == route.path
                    for method in other.methods or ()
                }
                allow = ", ".join(sorted(methods))
                headers.append((b"allow", allow.encode()))
                raise MethodNotAllowed(f"{excerpt(scope['path'], 80)} accepts {allow}.") from None
        except CrossSiteRefused as error:
            if wants_html(request):  # a form a page of another site made the browser send
                await error_page(request, error, back_url=None)(scope, receive, send)
            else:
                await send_error(send, error, request_state(scope).tracking_id)
        except ApiError as error:
            await send_error(send, error, request_state(scope).tracking_id, headers)
