"""The outermost layer: a trackingId, a log line and a size limit for every request.

Every answer carries ``X-Tracking-Id``; every request is logged once and kept
in the recent-requests log; nothing escapes as a stack trace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, BodyTooLarge, InternalError, render
from .ids import new_tracking_id
from .logs import log_request
from .services import Services

__all__ = ["MockServer", "dispatch", "send_error"]

logger = logging.getLogger("mock_server")
ADMIN_PREFIX = "/__mock__"


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


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def dispatch(api: ASGIApp, admin: ASGIApp) -> ASGIApp:
    """``/__mock__/...`` to the admin app, everything else (lifespan too) to the API."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            await admin(scope, receive, send)
        else:
            await api(scope, receive, send)

    return app


class MockServer:
    """The outermost ASGI app: trackingId, size limit, request log, last-resort errors."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        tracking_id = new_tracking_id()
        state: dict[str, Any] = {"tracking_id": tracking_id, "organizationId": None, "status": 500}
        scope["mock_server"] = state
        tracking_header = (b"x-tracking-id", tracking_id.encode())
        response_started = False

        async def send_tracked(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                state["status"] = message["status"]
                message["headers"] = [*message.get("headers", ()), tracking_header]
            await send(message)

        limit = self.services.settings.max_body_bytes
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(f"The request body is over {limit} bytes.")
            return message

        try:
            length = _content_length(scope)
            if length is not None and length > limit:
                await send_error(send_tracked, BodyTooLarge(f"The request body is over {limit} bytes."), tracking_id)
            else:
                await self.app(scope, receive_limited, send_tracked)
        except Exception as exc:  # the last line of defence: never a stack trace
            error = exc if isinstance(exc, ApiError) else InternalError()
            if not isinstance(exc, ApiError):
                logger.error("unhandled exception, trackingId=%s", tracking_id, exc_info=exc)
            if not response_started:
                await send_error(send_tracked, error, tracking_id)
        finally:
            entry = {
                "trackingId": tracking_id,
                "time": time.time(),
                "method": scope["method"],
                "path": scope["path"],
                "status": state["status"],
                "durationMs": round((time.perf_counter() - started) * 1000, 2),
                "organizationId": state["organizationId"],
            }
            self.services.request_log.append(entry)
            log_request(entry)
