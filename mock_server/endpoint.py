"""The end of the pipeline: forced answers (``Prefer``, sticky scenarios, latency), then the handler.

Both are Connexion routed middlewares: at start-up each operation of the document
gets its handler from the resolver (:func:`mock_server.api.make_resolver`); per
request the handler is called with what it declares of ``user`` (the organization
the credentials belong to), ``body`` (the validated request body), ``state`` (the
:class:`~mock_server.state.RequestState`) and ``origin`` (``scheme://host`` the
request came in on), and its ``(body, status)`` is written as JSON.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
from typing import Any

import orjson
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.operations import AbstractOperation
from starlette.types import ASGIApp, Receive, Scope, Send

from .asgi import header_text
from .scenarios import parse_prefer
from .services import Services
from .state import request_state

__all__ = ["Endpoint", "Scenario", "request_origin", "send_json"]

_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
_ARGUMENTS = frozenset({"user", "body", "state", "origin", "sandbox"})


def request_origin(scope: Scope, fallback: str) -> str:
    """``scheme://host[:port]`` the request was sent to (``fallback`` host when Host is missing or odd)."""
    host = header_text(scope, b"host") or ""
    if not _HOST.fullmatch(host):
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else fallback
    return f"{scope.get('scheme', 'http')}://{host}"


async def send_json(send: Send, body: Any, status: int) -> None:
    payload = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class _Forced:
    def __init__(self, operation: AbstractOperation, next_app: ASGIApp, services: Services) -> None:
        self.operation_id = operation.operation_id
        self.next_app = next_app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = request_state(scope)
        preference = parse_prefer(header_text(scope, b"prefer"))
        sticky = await self.services.store.runner.read(state.sandbox, "sticky", state.organization_id or "")
        if sticky is not None and preference.code is None and preference.example is None:
            preference = dataclasses.replace(preference, code=sticky)
        delay = self.services.settings.latency + preference.delay
        if delay:
            await asyncio.sleep(delay / 1000)
        forced = self.services.scenarios.forced(self.operation_id, preference, state.tracking_id)
        if forced is None:
            await self.next_app(scope, receive, send)
        else:
            await send_json(send, *forced)


class _Call:
    def __init__(self, operation: AbstractOperation, next_app: ASGIApp, services: Services) -> None:
        self.handler = operation.function
        self.arguments = _ARGUMENTS & set(inspect.signature(self.handler).parameters)
        self.fallback_host = f"{services.settings.host}:{services.settings.port}"
        self.store = services.store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = request_state(scope)
        values = {"user": state.organization_id, "body": state.body, "state": state}
        arguments = {name: value for name, value in values.items() if name in self.arguments}
        if "origin" in self.arguments:
            arguments["origin"] = request_origin(scope, self.fallback_host)
        if "sandbox" in self.arguments:
            arguments["sandbox"] = await self.store.sandbox(state.sandbox)
        body, status = await self.handler(**arguments)
        await send_json(send, body, status)


class _API(RoutedAPI[Any]):
    operation_cls: type[_Forced] | type[_Call]

    def __init__(self, *args: Any, services: Services, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.services = services
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> ASGIApp:
        return self.operation_cls(operation, self.next_app, self.services)


class _ScenarioAPI(_API):
    operation_cls = _Forced


class _EndpointAPI(_API):
    operation_cls = _Call


class _Routed(RoutedMiddleware[Any]):
    def __init__(self, app: ASGIApp, *, services: Services) -> None:
        super().__init__(app)
        self.services = services

    def add_api(self, specification: Any, **kwargs: Any) -> Any:
        return super().add_api(specification, services=self.services, **kwargs)


class Scenario(_Routed):
    """A forced answer (``Prefer: code=/example=``, a sticky scenario) and latency, before the handler."""

    api_cls = _ScenarioAPI


class Endpoint(_Routed):
    """The operation's handler, its ``(body, status)`` written as JSON."""

    api_cls = _EndpointAPI
