"""The one way every API request travels: Connexion's middleware list, in order.

:func:`middlewares` is what :func:`mock_server.app.create_app` passes to
``AsyncApp(middlewares=...)``. Each concern exists once:

1. ``ExceptionMiddleware`` (Connexion): every error raised below becomes the documented
   error body, by the handlers :mod:`mock_server.app` registers per class and status.
2. :class:`SwaggerUI`: Connexion's Swagger UI, asked only for its own paths; the
   document it serves lists this mock as its first server.
3. :class:`Routing`: Connexion's routing, with the document's fixed paths looked up
   in a table first; it names the operation for everything after it.
4. :class:`~mock_server.auth.Security`: the credentials, looked up in the store.
5. :class:`~mock_server.validation.RequestValidation`: media type and body.
6. :class:`~mock_server.validation.ResponseValidation`: each answer against its schema.
7. :class:`~mock_server.endpoint.Scenario`: ``Prefer``, sticky scenarios, latency.
8. :class:`~mock_server.endpoint.Endpoint`: the handler of the operation.

A request that names no operation falls through to the app Connexion wraps, whose
router answers 404 or 405. No layer here uses a non-public Connexion name.

With ``--proxy URL`` the list ends after routing with :class:`~mock_server.proxy.Proxy`:
the operation is forwarded to the deployment, and its answer judged, in place of 4-8.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
import yaml
from connexion.http_facts import METHODS
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.spec import Specification
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import Security
from .endpoint import Endpoint, Scenario, request_origin
from .proxy import Proxy
from .services import Services
from .validation import RequestValidation, ResponseValidation

__all__ = ["Routing", "SwaggerUI", "middlewares"]


class Routing(RoutingMiddleware):
    """Connexion's routing; a path of the document without parameters is found in one lookup."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self.fixed: dict[tuple[str, str], dict[str, Any]] = {}

    def add_api(self, specification: Specification, base_path: str | None = None, **kwargs: Any) -> None:
        super().add_api(specification, base_path=base_path, **kwargs)
        base = specification.base_path if base_path is None else base_path
        for path, item in specification["paths"].items():
            if "{" in path:
                continue
            for method, operation in item.items():
                if method in METHODS:
                    route = {"api_base_path": base, "operation_id": operation.get("operationId")}
                    self.fixed.setdefault((method.upper(), base + path), route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.fixed.get((scope.get("method", ""), scope.get("path", "")))
        if route is None or scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        scope.setdefault("extensions", {})[ROUTING_CONTEXT] = dict(route)
        await self.app(scope, receive, send)


class SwaggerUI(SwaggerUIMiddleware):
    """Swagger UI at ``/ui/``; ``/openapi.json`` and ``/openapi.yaml`` serve the document.

    The document keeps its production servers, after this mock's own address, so
    that "Try it out" calls the mock.
    """

    def __init__(self, app: ASGIApp, *, services: Services) -> None:
        super().__init__(app)
        self.services = services
        self.prefixes: tuple[str, ...] = ()

    def add_api(self, specification: Specification, base_path: str | None = None, **kwargs: Any) -> None:
        super().add_api(specification, base_path=base_path, **kwargs)
        base = specification.base_path if base_path is None else base_path
        options = kwargs.get("swagger_ui_options")
        ui_path = options.swagger_ui_path if options is not None else "/ui"
        self.prefixes += (f"{base}/openapi.", f"{base}{ui_path}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefixes):
            await self.app(scope, receive, send)
        elif path.endswith(("/openapi.json", "/openapi.yaml")) and scope["method"] in ("GET", "HEAD"):
            await _send_document(self.services, scope, send, as_json=path.endswith(".json"))
        else:
            await super().__call__(scope, receive, send)


async def _send_document(services: Services, scope: Scope, send: Send, *, as_json: bool) -> None:
    document = services.spec.copy_raw()
    here = {"url": request_origin(scope, f"{services.settings.host}:{services.settings.port}")}
    here["description"] = "This mock"
    document["servers"] = [here, *(s for s in document.get("servers", []) if s.get("url") != here["url"])]
    if as_json:
        body, kind = orjson.dumps(document), b"application/json"
    else:
        body, kind = yaml.safe_dump(document, sort_keys=False).encode(), b"application/yaml"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def middlewares(services: Services) -> list[Any]:
    """The ordered middleware list for ``AsyncApp(middlewares=...)``."""
    common = [ExceptionMiddleware, functools.partial(SwaggerUI, services=services), Routing]
    if services.upstream is not None:
        return [*common, functools.partial(Proxy, services=services)]
    return [
        *common,
        functools.partial(Security, store=services.store, sandboxes=services.sandboxes),
        RequestValidation,
        ResponseValidation,
        functools.partial(Scenario, services=services),
        functools.partial(Endpoint, services=services),
    ]
