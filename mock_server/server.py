"""The HTTP/1.1 server: uvicorn's httptools protocol, with limits and timeouts it lacks.

uvicorn sets no limit on header size or count and no timeout on a request's head
or body, and answers a request it cannot parse in ``text/plain``. :func:`protocol`
returns its protocol class with:

- at most :attr:`Limits.max_header_bytes` bytes of request line and headers and
  :attr:`Limits.max_headers` headers (``431``);
- the head within :attr:`Limits.header_timeout` seconds of the first byte, or of
  the connection, and the body within :attr:`Limits.body_timeout` seconds of the
  head (``408``; a connection that sent nothing is closed without an answer);
- at most :attr:`Limits.max_connections` open connections: the next one gets
  ``503`` on its first bytes and is closed;
- every such answer, and a request the parser refuses (``400``), in the
  documented JSON error body with ``Connection: close``.

Idle keep-alive connections are closed by uvicorn's own ``timeout_keep_alive``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .errors import ApiError, HeadersTooLarge, MalformedRequest, RequestTimeout, ServerBusy, render
from .ids import new_tracking_id

__all__ = ["Limits", "protocol"]


@dataclasses.dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 1000


def answer(error: ApiError) -> bytes:
    """A whole HTTP/1.1 answer carrying ``error`` in the documented body, closing the connection."""
    tracking_id = new_tracking_id()
    body = render(error, tracking_id)
    head = (
        f"HTTP/1.1 {error.status_code} {http.HTTPStatus(error.status_code).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-tracking-id: {tracking_id}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class GuardedProtocol(HttpToolsProtocol):
    limits = Limits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._head_count = 0
        self._started = False
        self._timer: asyncio.TimerHandle | None = None
        self._busy = len(self.connections) > self.limits.max_connections  # answered 503 on its first bytes
        self._arm(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._started = True
        if self._busy:
            self._refuse(ServerBusy())
            return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._head_count = 0
        if self._timer is None:
            self._arm(self.limits.header_timeout)

    def on_url(self, url: bytes) -> None:
        self._grow(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grow(len(name) + len(value) + 4, 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._arm(self.limits.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._started = False  # the next request's head timer starts with its first byte

    def send_400_response(self, msg: str) -> None:
        self._refuse(MalformedRequest())

    def _grow(self, size: int, count: int) -> None:
        self._head_bytes += size
        self._head_count += count
        if self._head_bytes > self.limits.max_header_bytes or self._head_count > self.limits.max_headers:
            self._refuse(
                HeadersTooLarge(
                    f"The request line and headers are over {self.limits.max_header_bytes} bytes "
                    f"or {self.limits.max_headers} headers."
                )
            )
            raise _Refused

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        cycle = self.cycle
        if cycle is not None and cycle.response_started:
            self.transport.close()  # answered already, the rest of the body never came
        elif self._started:
            self._refuse(RequestTimeout())
        else:
            self.transport.close()

    def _refuse(self, error: ApiError) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(answer(error))
            self.transport.close()


class _Refused(Exception):
    """Stops the parser after a refusal (httptools re-raises callback errors as parser errors)."""


def protocol(limits: Limits) -> type[Any]:
    """The protocol class to pass as ``uvicorn.Config(http=...)``."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": limits})
