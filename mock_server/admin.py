"""Mock-only routes under ``/__mock__/`` (not part of ``openapi.yaml``).

Served without a token while the server listens on loopback; on any other
address they need ``X-Admin-Token`` with the value of ``--admin-token``.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from . import browser
from .asgi import send_error
from .errors import AdminForbidden, ApiError, MethodNotAllowed, NotFound, ValidationFailed
from .services import Services
from .state import request_state

__all__ = ["AdminApp", "Route"]

Endpoint = Callable[[Request, Services, "re.Match[str]"], Awaitable[Response]]


class Route:
    def __init__(self, pattern: str, methods: dict[str, Endpoint], *, public: bool = False) -> None:
        self.pattern = re.compile(pattern)
        self.methods = methods
        self.public = public
        """A public route is reachable without the admin token (a capability URL)."""


async def health(request: Request, services: Services, match: re.Match[str]) -> Response:
    return JSONResponse(
        {
            "status": "ok",
            "organizations": len(services.store),
            "uptimeSeconds": round(time.monotonic() - services.started, 3),
        }
    )


async def reset(request: Request, services: Services, match: re.Match[str]) -> Response:
    services.reset()
    if browser.is_form(request):  # the dashboard's button
        return RedirectResponse(browser.DASHBOARD, status_code=303)
    return JSONResponse({"status": "reset", "organizations": len(services.store)})


async def recent_requests(request: Request, services: Services, match: re.Match[str]) -> Response:
    raw_limit = request.query_params.get("limit", "50")
    most = services.request_log.maxlen or 0
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= most:
        raise ValidationFailed(f"limit must be a whole number from 1 to {most}.")
    entries = list(services.request_log)[-int(raw_limit) :]
    return JSONResponse({"requests": entries[::-1]})


ROUTES: list[Route] = [
    Route(r"/__mock__/health", {"GET": health}),
    Route(r"/__mock__/reset", {"POST": reset}),
    Route(r"/__mock__/requests", {"GET": recent_requests}),
    Route(r"/__mock__/?", {"GET": browser.dashboard}),
    Route(r"/__mock__/sticky", {"POST": browser.set_sticky}),
    Route(r"/__mock__/static/style\.css", {"GET": browser.stylesheet}, public=True),
    Route(
        r"/__mock__/checkout/(?P<session_id>[^/]+)",
        {"GET": browser.checkout_page, "POST": browser.checkout_action},
        public=True,
    ),
]


class AdminApp:
    def __init__(self, services: Services, routes: list[Route] | None = None) -> None:
        self.services = services
        self.routes = list(routes if routes is not None else ROUTES)

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            route, match = self._match(scope["path"])
            if not route.public:
                self._allowed(request)
            endpoint = route.methods.get(scope["method"])
            if endpoint is None:
                allow = ", ".join(route.methods)
                raise MethodNotAllowed(f"{scope['path']} accepts {allow}.")
            response = await endpoint(request, self.services, match)
        except ApiError as error:
            headers = []
            if isinstance(error, MethodNotAllowed):
                headers.append((b"allow", ", ".join(self._match(scope["path"])[0].methods).encode()))
            await send_error(send, error, request_state(scope).tracking_id, headers)
            return
        await response(scope, receive, send)

    def _match(self, path: str) -> tuple[Route, re.Match[str]]:
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match:
                return route, match
        raise NotFound(f"No mock route {path}.")
