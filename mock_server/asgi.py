"""The outermost layer: a trackingId, a log line, the Host allowlist and a size limit for every request.

Every answer carries ``X-Tracking-Id``; every request is logged once and kept
in the recent-requests log; nothing escapes as a stack trace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .clock import iso_timestamp
from .errors import ApiError, BodyTooLarge, HostNotAllowed, InternalError, ValidationFailed, render
from .ids import new_tracking_id
from .logs import log_request
from .origins import HostAllowlist
from .services import Services
from .state import RequestState, attach, request_state

__all__ = [
    "Cors",
    "MockServer",
    "accepts_html",
    "dispatch",
    "header",
    "header_text",
    "read_body",
    "replay",
    "send_error",
]

logger = logging.getLogger("mock_server")
ADMIN_PREFIX = "/__mock__"
DASHBOARD = ADMIN_PREFIX + "/"
CLIENT_GONE = 499
"""The request log's status for a request whose client left before it was answered (as nginx logs it)."""


async def send_error(
    send: Send, error: ApiError, tracking_id: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = render(error, tracking_id)
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of the header ``name`` (lower case, as ASGI gives names), or None."""
    value: bytes
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def header_text(scope: Scope, name: bytes) -> str | None:
    """:func:`header`, decoded as HTTP header values are (latin-1)."""
    value = header(scope, name)
    return None if value is None else value.decode("latin-1")


def _content_length(scope: Scope) -> int | None:
    value = header(scope, b"content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def accepts_html(scope: Scope) -> bool:
    """A browser asks for text/html; API clients and curl get JSON."""
    return "text/html" in (header_text(scope, b"accept") or "")


def dispatch(api: ASGIApp, admin: ASGIApp) -> ASGIApp:
    """``/__mock__/...`` to the admin app, everything else (lifespan too) to the API.

    A browser opening ``/`` is sent to the dashboard; an API client gets the API's 404 there.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            await admin(scope, receive, send)
        elif path == "/" and scope["method"] in ("GET", "HEAD") and accepts_html(scope):
            await RedirectResponse(DASHBOARD, status_code=302)(scope, receive, send)
        else:
            await api(scope, receive, send)

    return app


class Cors(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the documented error body.

    Requests without ``Origin`` (API clients, load tests) take a short way: all
    Starlette does for them is add ``Vary: Origin``, done here without parsing headers.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(key == b"origin" for key, _ in scope["headers"]):
            await self.app(scope, receive, _vary_origin(send))
            return
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                response = self.preflight_response(request_headers=headers)
                if response.status_code >= 400:
                    reason = bytes(response.body).decode()
                    error = ValidationFailed(
                        f"CORS preflight refused: {reason}.",
                        fix="Serve the frontend from localhost, or start the mock with --cors-origin.",
                    )
                    await send_error(send, error, request_state(scope).tracking_id)
                    return
        await super().__call__(scope, receive, send)


def _vary_origin(send: Send) -> Send:
    """``send`` adding ``Vary: Origin`` to the answer, as Starlette's CORS middleware does."""

    async def send_vary(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message["headers"] = list(message.get("headers", ()))
            found = [index for index, (key, _) in enumerate(headers) if key == b"vary"]
            if not found:
                headers.append((b"vary", b"Origin"))
            else:  # as MutableHeaders: all values joined, in place of the first
                joined = b", ".join([*(headers[index][1] for index in found), b"Origin"])
                for index in reversed(found[1:]):
                    del headers[index]
                headers[found[0]] = (b"vary", joined)
        await send(message)

    return send_vary


def _has_body(scope: Scope) -> bool:
    return any(key == b"transfer-encoding" for key, _ in scope["headers"])


async def _read_limited(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def read_body(receive: Receive) -> bytes:
    """The whole request body (already within the size limit :class:`MockServer` enforces)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` that first gives ``body`` (already read) as the whole request body."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class MockServer:
    """The outermost ASGI app: trackingId, Host allowlist, size limit, request log, last-resort errors."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services
        self.hosts = HostAllowlist(services.settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        tracking_id = new_tracking_id()
        state = attach(scope, RequestState(tracking_id))
        response_started = False

        async def send_tracked(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                state.status = message["status"]
                if state.tracking_id == tracking_id:  # else a proxied deployment's answer carries its own
                    message["headers"] = [*message.get("headers", ()), (b"x-tracking-id", tracking_id.encode())]
            await send(message)

        limit = self.services.settings.max_body_bytes
        try:
            length = _content_length(scope)
            host = header(scope, b"host")
            if not self.hosts.allows(host):
                name = (host or b"").decode("latin-1")[:100]
                await send_error(
                    send_tracked, HostNotAllowed(f"This mock does not answer for Host {name!r}."), tracking_id
                )
            elif length is not None and length > limit:
                await send_error(send_tracked, BodyTooLarge(f"The request body is over {limit} bytes."), tracking_id)
            elif length is None and _has_body(scope):
                # A streamed body: read it here, within the limit, then replay it.
                body = await _read_limited(receive, limit)
                if body is None:
                    await send_error(
                        send_tracked, BodyTooLarge(f"The request body is over {limit} bytes."), tracking_id
                    )
                else:
                    await self.app(scope, replay(body, receive), send_tracked)
            else:
                await self.app(scope, receive, send_tracked)
        except ClientDisconnect:
            state.status = CLIENT_GONE  # nobody is left to answer
        except Exception as exc:  # the last line of defence: never a stack trace
            error = exc if isinstance(exc, ApiError) else InternalError()
            if not isinstance(exc, ApiError):
                logger.error("unhandled exception, trackingId=%s", tracking_id, exc_info=exc)
            if not response_started:
                await send_error(send_tracked, error, tracking_id)
        finally:
            entry = {
                "trackingId": state.tracking_id,
                "time": iso_timestamp(time.time()),
                "method": scope["method"],
                "path": scope["path"],
                "status": state.status,
                "durationMs": round((time.perf_counter() - started) * 1000, 2),
                "organizationId": state.organization_id,
                "violations": state.violations,
            }
            self.services.store.state.log(entry)
            log_request(entry)
