"""Every exchange with the target, bounded: one deadline for the connection and the whole answer, a cap on its size.

The suite and Schemathesis send through a ``requests`` session; :class:`BoundedAdapter`
is its transport. It does the I/O with httpx in an event loop of its own thread, so the
deadline cancels whatever the exchange waits for: the connection, a status line or a
header dripping in, a body that never ends. Each answer is read as it arrives and
decoded (gzip, deflate) under the cap, so a target that streams without end costs at
most the cap in memory. In-process, the app is called through :class:`_InProcess`, an
ASGI transport that streams its answer the same way, with its lifespan run once.

A target that cannot be reached raises :class:`Unreachable` (a ``requests``
``ConnectionError``); an answer that does not come complete in time, that passes the cap
or breaks off raises :class:`IncompleteAnswer`, naming which.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http
import io
import os
import socket
import ssl
import threading
import time
import zlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any, NamedTuple, TypeVar
from urllib.parse import unquote

import httpx
import requests
import urllib3
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

__all__ = ["BoundedAdapter", "Exchanged", "Exchanger", "IncompleteAnswer", "Unreachable"]

_T = TypeVar("_T")
_CHUNK = 65536
_ACCEPTED_CODINGS = "gzip, deflate"  # the codings the adapter decodes (under the cap); requests may offer more
_SHUTDOWN = 10.0  # seconds the app's lifespan and the pool get to close


class IncompleteAnswer(Exception):
    """No complete answer: the deadline passed, the answer passed the size cap, or it broke off."""

    def __init__(self, why: str, *, timed_out: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.timed_out = timed_out


class Unreachable(requests.ConnectionError):
    """The target could not be reached (no connection, TLS refused)."""


class Exchanged(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    content: bytes
    elapsed: float


class _TooLarge(Exception):
    pass


class _Decoder:
    """The body's content codings undone, never giving more than ``limit`` bytes (a gzip bomb stops at the cap)."""

    def __init__(self, codings: str, limit: int) -> None:
        self.limit = limit
        self.stages: list[Any] = []
        for coding in reversed([part.strip().lower() for part in codings.split(",") if part.strip()]):
            if coding in ("gzip", "x-gzip"):
                self.stages.append(zlib.decompressobj(16 + zlib.MAX_WBITS))
            elif coding == "deflate":
                self.stages.append(_Deflate())
            elif coding != "identity":  # a coding the request did not offer: judged as it came
                self.stages = []
                return

    def feed(self, data: bytes) -> bytes:
        for stage in self.stages:
            data = _bounded(stage, data, self.limit)
        return data


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped, or (often) raw."""

    def __init__(self) -> None:
        self._inner: Any = None

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._inner is None:
            self._inner = zlib.decompressobj()
            try:
                return bytes(self._inner.decompress(data, max_length))
            except zlib.error:
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self._inner.decompress(data, max_length))

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self._inner.unconsumed_tail) if self._inner is not None else b""


def _bounded(stage: Any, data: bytes, limit: int) -> bytes:
    out = bytearray(stage.decompress(data, limit + 1))
    while stage.unconsumed_tail and len(out) <= limit:
        out += stage.decompress(stage.unconsumed_tail, limit + 1 - len(out))
    if len(out) > limit:
        raise _TooLarge
    return bytes(out)


class _AppStream(httpx.AsyncByteStream):
    """The body an in-process app sends, chunk by chunk, as it sends it."""

    def __init__(
        self, chunks: asyncio.Queue[bytes | BaseException | None], task: asyncio.Task[None], closed: asyncio.Event
    ) -> None:
        self.chunks, self.task, self.closed = chunks, task, closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self.chunks.get()
            if chunk is None:
                return
            if isinstance(chunk, BaseException):
                raise httpx.RemoteProtocolError(f"the app failed while answering ({type(chunk).__name__})")
            yield chunk

    async def aclose(self) -> None:
        self.closed.set()
        if not self.task.done():
            self.task.cancel()


def _retrieve(task: asyncio.Task[Any]) -> None:
    """A finished task's exception counts as seen (the answer already said what happened)."""
    if not task.cancelled():
        task.exception()


class _InProcess(httpx.AsyncBaseTransport):
    """An ASGI app as the target, in this loop: its answer streamed as it is sent, its lifespan run once."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._lifespan: asyncio.Task[None] | None = None
        self._messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._stopped: asyncio.Future[None] | None = None

    async def startup(self) -> None:
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()
        self._stopped = stopped = loop.create_future()

        async def receive() -> dict[str, Any]:
            return await self._messages.get()

        async def send(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "lifespan.startup.complete" and not started.done():
                started.set_result(None)
            elif kind == "lifespan.startup.failed" and not started.done():
                started.set_exception(RuntimeError(f"the app did not start: {str(message.get('message'))[:200]}"))
            elif kind.startswith("lifespan.shutdown") and not stopped.done():
                stopped.set_result(None)

        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        task = asyncio.create_task(self.app(scope, receive, send))
        task.add_done_callback(_retrieve)
        await self._messages.put({"type": "lifespan.startup"})
        await asyncio.wait({started, task}, return_when=asyncio.FIRST_COMPLETED)
        if started.done():
            started.result()
            self._lifespan = task
        # else: the app returned (or raised) without starting: it has no lifespan

    async def shutdown(self) -> None:
        task, self._lifespan = self._lifespan, None
        if task is None or task.done() or self._stopped is None:
            return
        await self._messages.put({"type": "lifespan.shutdown"})
        await asyncio.wait({self._stopped, task}, timeout=_SHUTDOWN, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "client": ("127.0.0.1", 50000),
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "state": dict(self.state),
        }
        body = request.content
        loop = asyncio.get_running_loop()
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = loop.create_future()
        chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        sent_body = False
        closed = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await closed.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and not started.done():
                started.set_result((int(message["status"]), list(message.get("headers", []))))
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    await chunks.put(bytes(message["body"]))
                if not message.get("more_body", False):
                    await chunks.put(None)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except Exception as exc:
                if not started.done():  # as a server does: a 500 of its own
                    started.set_result((500, [(b"content-type", b"text/plain; charset=utf-8")]))
                    await chunks.put(b"Internal Server Error")
                    await chunks.put(None)
                else:
                    await chunks.put(exc)
                return
            if not started.done():
                started.set_exception(httpx.RemoteProtocolError("the app ended without an answer"))
            await chunks.put(None)

        task = asyncio.create_task(run())
        task.add_done_callback(_retrieve)
        try:
            status, headers = await started
        except BaseException:
            task.cancel()
            raise
        return httpx.Response(status, headers=headers, stream=_AppStream(chunks, task, closed), request=request)


class Exchanger:
    """An event loop in a thread of its own, and the client every exchange of a run goes through."""

    def __init__(self, app: Any = None, *, timeout: float, max_bytes: int) -> None:
        self.timeout, self.max_bytes = timeout, max_bytes
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="contract-tests-io", daemon=True)
        self._thread.start()
        self._app = _InProcess(app) if app is not None else None
        try:
            self._client = self._call(self._open())
        except BaseException:
            self._stop()
            raise

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _open(self) -> httpx.AsyncClient:
        if self._app is not None:
            await self._app.startup()
            # No timeout of httpx's own: one deadline per exchange bounds connecting, sending and the whole answer.
            return httpx.AsyncClient(transport=self._app, timeout=None, trust_env=False)  # noqa: S113
        return httpx.AsyncClient(timeout=None, follow_redirects=False)  # noqa: S113

    def exchange(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None, *, timeout: float | None = None
    ) -> Exchanged:
        """One request and its whole answer, within ``timeout`` seconds (default: the run's) and the size cap."""
        return self._call(self._exchange(method, url, headers, body, timeout or self.timeout))

    async def _exchange(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None, timeout: float
    ) -> Exchanged:
        started = time.monotonic()
        received = 0
        try:
            async with asyncio.timeout(timeout):
                request = httpx.Request(method, url, headers=headers, content=body)
                response = await self._client.send(request, stream=True)
                try:
                    decoder = _Decoder(response.headers.get("content-encoding", ""), self.max_bytes)
                    content = bytearray()
                    async for chunk in response.aiter_raw(_CHUNK):
                        received += len(chunk)
                        content += decoder.feed(chunk)
                        if len(content) > self.max_bytes:
                            raise _TooLarge
                finally:
                    await response.aclose()
        except TimeoutError:
            after = f" ({received} bytes of the body by then)" if received else ""
            raise IncompleteAnswer(f"no complete answer within {timeout:g} s{after}", timed_out=True) from None
        except _TooLarge:
            raise IncompleteAnswer(f"an answer over {self.max_bytes} bytes") from None
        except (httpx.ConnectError, httpx.UnsupportedProtocol) as exc:
            raise Unreachable(_cause(exc)) from None
        except (httpx.TransportError, zlib.error) as exc:
            raise IncompleteAnswer(f"the answer broke off ({_cause(exc)})") from None
        headers_out = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw]
        return Exchanged(response.status_code, headers_out, bytes(content), time.monotonic() - started)

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            await self._client.aclose()
        if self._app is not None:
            with contextlib.suppress(Exception):
                await self._app.shutdown()

    def close(self) -> None:
        if not self._loop.is_closed():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=_SHUTDOWN)
            self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_SHUTDOWN)
        if not self._thread.is_alive():
            self._loop.close()


def _cause(exc: BaseException) -> str:
    """What went wrong, in a short line that names no URL: the system's words when a system call failed."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror) and seen.strerror:
            return seen.strerror
        if isinstance(seen, OSError) and seen.errno and seen.errno > 0:
            return os.strerror(seen.errno)
        if isinstance(seen, ssl.SSLError):
            return f"TLS: {seen.reason or type(seen).__name__}"
        seen = seen.__cause__ or seen.__context__
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:160]


class BoundedAdapter(BaseAdapter):
    """A ``requests`` transport that sends through an :class:`Exchanger`: every answer bounded in time and size."""

    def __init__(self, exchanger: Exchanger) -> None:
        super().__init__()
        self.exchanger = exchanger

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            parts = body.read() if hasattr(body, "read") else body
            body = parts if isinstance(parts, bytes) else b"".join(_bytes(part) for part in parts)
        headers = [
            (name, _ACCEPTED_CODINGS if name.lower() == "accept-encoding" else str(value))
            for name, value in request.headers.items()
        ]
        limit = timeout if isinstance(timeout, (int, float)) and timeout > 0 else None
        got = self.exchanger.exchange(str(request.method), str(request.url), headers, body, timeout=limit)
        return _response(request, got, self)

    def close(self) -> None:
        """The exchanger is the target's: it closes it."""


def _bytes(part: Any) -> bytes:
    return part if isinstance(part, bytes) else str(part).encode()


def _response(request: requests.PreparedRequest, got: Exchanged, adapter: BaseAdapter) -> requests.Response:
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(b""),
        headers=urllib3.HTTPHeaderDict(got.headers),
        status=got.status,
        version=11,
        preload_content=False,
        decode_content=False,
    )
    response = requests.Response()
    response.status_code = got.status
    response.raw = raw
    response.headers = CaseInsensitiveDict(raw.headers)
    response._content = got.content
    response._content_consumed = True
    response.encoding = get_encoding_from_headers(response.headers)
    response.reason = http.HTTPStatus(got.status).phrase if got.status in http.HTTPStatus._value2member_map_ else ""
    response.url = str(request.url)
    response.request = request
    response.connection = adapter  # type: ignore[assignment]
    response.elapsed = dt.timedelta(seconds=got.elapsed)
    return response
