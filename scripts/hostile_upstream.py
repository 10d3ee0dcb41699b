"""A hostile deployment behind ``mock-server --proxy``: seeded misbehaviour on a raw loopback socket.

:class:`Deployment` listens on a free loopback port, in a thread of its own, and plays for each
request it reads the :class:`Act` it is given for it. :func:`draw` draws acts from a seeded
``random.Random``: answers that are fine, stray and doubled answers on a kept-alive connection,
bodies over the cap (by length, chunked, until close, endless, dripping), no answer, statuses
outside 100-599, content codings labelled, unknown, corrupt and exploding, hop-by-hop headers and
those ``Connection`` names, broken HTTP, connections closed or reset, bodies that echo the caller's
credential in strings, numbers, lists and nested objects.

:func:`run` (``make fuzz``) puts ``mock-server --proxy`` (or ``--proxy-command``) in front of it,
with ``--record``, sends one request per act through it, ``?case=N`` naming the act, and says
what went wrong: a 5xx the act does not explain (a 502 naming the provider is the answer to a
broken deployment; a 500 is a bug), an answer given to the wrong request, a status or body the
act does not allow, a body forwarded on a GET, a header that should have stayed behind, a
credential in the log, the request log or the recording, a hang; with the max latency and RSS.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import functools
import gzip
import http.client
import json
import random
import shlex
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse
import zlib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from mock_server.lifecycle import resolve_dates

__all__ = ["Act", "Deployment", "Request", "draw", "run"]

MIB = 1024 * 1024
HOP_BY_HOP = ("Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade")
STAYS_WITH_THE_MOCK = (b"cookie", b"x-admin-token", b"origin", b"connection", b"transfer-encoding")
"""Headers the fuzzer sends the mock that a deployment must never receive."""


@dataclasses.dataclass(frozen=True)
class Request:
    """A request as the deployment read it: names of headers in lower case."""

    method: str
    target: str
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)

    @property
    def case(self) -> int | None:
        found = urllib.parse.parse_qs(urllib.parse.urlsplit(self.target).query).get("case")
        return int(found[0]) if found and found[0].isascii() and found[0].isdigit() else None

    @property
    def secret(self) -> str:
        """The caller's credential: the bearer key, or the secret of a basic pair ("" without one)."""
        scheme, _, value = (self.header(b"authorization") or b"").decode("latin-1").partition(" ")
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                return base64.b64decode(value).decode().partition(":")[2]
        return value


Play = Callable[[Request, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
"""What the deployment does with a request; it may keep the connection (return) or close it."""


@dataclasses.dataclass(frozen=True)
class Act:
    """One misbehaviour: what the deployment does, and what the caller of the proxy may get."""

    label: str
    play: Play
    statuses: frozenset[int] = frozenset()
    """The deployment's statuses the caller may get as they are."""
    refused: bool = False
    """The proxy's own 502 (provider_error naming the deployment) is the right answer."""
    own: bool = False
    """A 2xx must carry the request's own organization, as JSON (decoded, if it was encoded)."""
    hidden: tuple[str, ...] = ()
    """Headers the caller must not get."""


class Deployment:
    """Plays ``acts(request)`` for each request on a free loopback port, in a thread of its own.

    A context manager: its base URL. ``problems`` lists what it received that a proxy must not
    send (a body on a GET, a header that stays with the mock).
    """

    def __init__(self, acts: Callable[[Request], Act]) -> None:
        self.acts = acts
        self.problems: list[str] = []
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> str:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop)
        self._server = started.result(10)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not writer.is_closing():
                request = await asyncio.wait_for(_read_request(reader), 30)
                if request is None:
                    break
                self.requests += 1
                self._inspect(request)
                await self.acts(request).play(request, reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError):
            pass
        except asyncio.CancelledError:  # the deployment stops: the connection's act ends with it
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()  # retrieves the error a reset left there

    def _inspect(self, request: Request) -> None:
        if request.method in ("GET", "HEAD") and (
            request.body
            or request.header(b"content-length") not in (None, b"0")
            or request.header(b"transfer-encoding")
        ):
            self.problems.append(f"case {request.case}: a {request.method} reached the deployment with a body")
        names = {name for name, _ in request.headers}
        for name in STAYS_WITH_THE_MOCK:
            if name in names and name != b"connection":
                self.problems.append(
                    f"case {request.case}: {name.decode()} reached the deployment: it stays with the mock"
                )


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    line, *lines = head[:-4].split(b"\r\n")
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = tuple(
        (name.strip().lower(), value.strip()) for name, _, value in (item.partition(b":") for item in lines)
    )
    found = dict(headers)
    body = b""
    if found.get(b"transfer-encoding", b"").lower() == b"chunked":
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")
    elif length := int(found.get(b"content-length", b"0")):
        body = await reader.readexactly(length)
    return Request(method, target, headers, body)


# What the deployment writes.


def head(status: int | bytes = 200, headers: Sequence[tuple[str, str]] = (), *, reason: str = "OK") -> bytes:
    line = status if isinstance(status, bytes) else f"HTTP/1.1 {status} {reason}".encode()
    return line + b"\r\n" + b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers) + b"\r\n"


def answer(status: int = 200, body: bytes = b"", headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """A whole, well-framed answer."""
    kind = [("Content-Type", "application/json")] if body else []
    return head(status, [*kind, *headers, ("Content-Length", str(len(body)))]) + body


SHIPPED = Path(__file__).resolve().parent.parent / "fixtures" / "organizations.yaml"


@functools.cache
def _template() -> dict[str, Any]:
    """The shipped fixtures' first organization, which the document accepts (its dates, given relative to the
    clock's start, made absolute)."""
    entries: list[dict[str, Any]] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    return resolve_dates(dict(entries[0]["organization"]), dt.datetime.now(dt.UTC).replace(microsecond=0))


def organization(case: str, **fields: Any) -> bytes:
    """An Organization the document accepts, whose ``organizationId`` names the request it answers."""
    return json.dumps({**_template(), "organizationId": case, "name": f"Hostile {case}", **fields}).encode()


def _own(request: Request) -> bytes:
    return organization(f"case-{request.case}")


async def _write(writer: asyncio.StreamWriter, *parts: bytes) -> None:
    for part in parts:
        writer.write(part)
        await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


# The acts. Each takes what it needs and says what the proxy's caller may get.


def fine(status: int = 200) -> Act:
    """A well-formed answer with the request's own organization (or an error body), kept alive."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = _own(request) if 200 <= status < 300 else _error(status)
        await _write(writer, answer(status, b"" if status in (204, 304) else body))

    return Act(f"fine {status}", play, frozenset({status}), own=200 <= status < 300 and status != 204)


def _error(status: int) -> bytes:
    return json.dumps({"trackingId": "t-1", "error": {"code": f"e{status}", "message": "no"}}).encode()


def stray(delay: float) -> Act:
    """The answer, then after ``delay`` s an unsolicited one on the idle kept-alive connection."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, answer(200, _own(request)))
        await asyncio.sleep(delay)
        await _write(writer, answer(200, organization("stray")))

    return Act(f"stray answer after {delay:g} s", play, frozenset({200}), own=True)


def doubled() -> Act:
    """Two answers to one request in one write: the second is left on the connection."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, answer(200, _own(request)) + answer(200, organization("stray")))

    return Act("two answers to one request", play, frozenset({200}), own=True)


FRAMINGS = ("length", "chunked", "close")


def oversized(size: int, framing: str, cap: int) -> Act:
    """A JSON body of ``size`` bytes, framed by ``Content-Length``, chunks, or the connection's end."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        start = b'{"organizationId": "case-%d", "pad": "' % (request.case or 0)
        pad = size - len(start) - 2
        if framing == "length":
            await _write(writer, head(200, [("Content-Type", "application/json"), ("Content-Length", str(size))]))
        elif framing == "chunked":
            await _write(writer, head(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]))
        else:
            await _write(writer, head(200, [("Content-Type", "application/json"), ("Connection", "close")]))
        for part in _pieces(start, pad, b'"}'):
            await _write(writer, b"%x\r\n%s\r\n" % (len(part), part) if framing == "chunked" else part)
        if framing == "chunked":
            await _write(writer, b"0\r\n\r\n")
        else:
            writer.close()

    return Act(
        f"{size:,} bytes by {framing}", play, frozenset({200}) if size <= cap else frozenset(), refused=size > cap
    )


def _pieces(start: bytes, pad: int, end: bytes) -> Any:
    yield start
    block = b"x" * 65536
    while pad > 0:
        yield block[: min(pad, len(block))]
        pad -= len(block)
    yield end


def endless() -> Act:
    """A chunked answer that never ends."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, head(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]))
        chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
        while True:
            await _write(writer, chunk)

    return Act("endless chunked body", play, refused=True)


def dripping(interval: float) -> Act:
    """A body of 1,000 bytes, one byte every ``interval`` s: longer than any deadline the fuzzer sets."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, head(200, [("Content-Type", "application/json"), ("Content-Length", "1000")]))
        for _ in range(1000):
            await _write(writer, b" ")
            await asyncio.sleep(interval)

    return Act(f"a byte every {interval:g} s", play, refused=True)


def silent() -> Act:
    """Reads the request and never answers."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    return Act("no answer", play, refused=True)


def status_line(line: bytes, statuses: frozenset[int] = frozenset()) -> Act:
    """An answer whose status line is ``line`` (``HTTP/1.1 600 Beyond``, ``HTTP/1.1 abc``...)."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = _own(request)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        await _write(writer, head(line, headers) + body)

    return Act(f"status line {line[:40]!r}", play, statuses, refused=not statuses)


def interim(line: bytes) -> Act:
    """An informational answer (``100 Continue``, ``103 Early Hints``), then the real one."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, head(line), answer(200, _own(request)))

    return Act(f"{line[:30]!r} first", play, frozenset({200}), own=True)


def coded(coding: str, how: str, cap: int) -> Act:
    """A body in ``coding`` (labelled in ``Content-Encoding``): ``good``, ``corrupt``, ``truncated`` or a ``bomb``.

    A good body in a coding the proxy decodes reaches the caller decoded; any other is a 502.
    """
    parts = [part.strip().lower() for part in coding.split(",")]
    known = all(part in ("gzip", "x-gzip", "deflate", "identity", "") for part in parts)
    plain = all(part in ("identity", "") for part in parts)  # the body passes as it is, whatever it holds

    def encoded(plain: bytes) -> bytes:
        for part in [part.strip().lower() for part in coding.split(",")]:
            if part in ("gzip", "x-gzip"):
                plain = gzip.compress(plain, mtime=0)
            elif part == "deflate":
                plain = zlib.compress(plain)
            elif part not in ("identity", ""):
                plain = zlib.compress(plain)  # what an unknown coding holds does not matter
        return plain

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        plain = _own(request)
        if how == "bomb":
            body = gzip.compress(b"[" + b" " * (cap * 4) + b"]", compresslevel=9, mtime=0)
        else:
            body = encoded(plain)
            if how == "corrupt":
                body = body[:10] + bytes(b ^ 0x5A for b in body[10:])
            elif how == "truncated":
                body = body[: len(body) // 2]
        await _write(writer, answer(200, body, [("Content-Encoding", coding)]))

    ok = plain or (known and how == "good")
    own = how == "good" and known
    return Act(f"{how} body in {coding!r}", play, frozenset({200}) if ok else frozenset(), refused=not ok, own=own)


def hop_by_hop() -> Act:
    """Hop-by-hop headers, and one named in ``Connection``: none reaches the caller."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        headers = [("Connection", "keep-alive, X-Hop-Secret"), ("X-Hop-Secret", "between us"), ("Keep-Alive", "5")]
        headers += [(name, "x") for name in HOP_BY_HOP if name != "Keep-Alive"]
        await _write(writer, answer(200, _own(request), headers))

    hidden = ("x-hop-secret", *[name.lower() for name in HOP_BY_HOP])
    return Act("hop-by-hop headers", play, frozenset({200}), own=True, hidden=hidden)


BAD_HEADERS: dict[str, tuple[bytes, frozenset[int]]] = {
    "a header of 20 KB": (b"X-Big: " + b"a" * 20_000, frozenset({502})),
    "300 headers": (b"\r\n".join(b"X-%d: 1" % i for i in range(300)), frozenset({502})),
    "a header without a colon": (b"NoColon", frozenset({502})),
    "a NUL in a header": (b"X-A: a\x00b", frozenset({502})),
    "a folded header": (b"X-A: a\r\n b", frozenset({200, 502})),
    "two lengths": (b"Content-Length: 3", frozenset({502})),
    "a negative length": (b"Content-Length: -5", frozenset({502})),
    "length \xc2\xb2": ("Content-Length: \u00b2".encode(), frozenset({502})),
    "length and chunked": (b"Transfer-Encoding: chunked", frozenset({502})),
    "an unknown transfer coding": (b"Transfer-Encoding: gzip, chunked", frozenset({502})),
    "a bogus tracking id": (b"X-Tracking-Id: " + b"\x01" * 5 + b"z" * 3000, frozenset({200, 502})),
    "a cookie and CORS": (
        b"Set-Cookie: a=b\r\nAccess-Control-Max-Age: 999\r\nVary: Origin, Accept",
        frozenset({200}),
    ),
}


def bad_header(name: str) -> Act:
    """A well-formed answer but for one odd header, given before the real ``Content-Length``."""
    raw, statuses = BAD_HEADERS[name]

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = _own(request)
        lines = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + raw + b"\r\n"
        await _write(writer, lines + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    return Act(
        name, play, statuses - {502}, refused=502 in statuses, own=200 in statuses, hidden=("access-control-max-age",)
    )


BROKEN: dict[str, bytes] = {
    "closed at once": b"",
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),
    "an HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
    "half a head": b"HTTP/1.1 200 OK\r\nContent-Ty",
    "half a body": b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"organizationId": ',
    "a bare LF head": b"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}",
    "no status line": b"Content-Type: application/json\r\n\r\n{}",
}


def broken(name: str, end: str) -> Act:
    """Bytes that are not a whole HTTP answer, then the connection closed, reset, or held open."""
    raw = BROKEN[name]

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, raw)
        if end == "reset":
            _reset(writer)
        elif end == "close":
            writer.close()
        else:
            await reader.read()

    return Act(f"{name}, then {end}", play, frozenset({200}) if name == "a bare LF head" else frozenset(), refused=True)


def odd_body(name: str) -> Act:
    """A 200 whose body is valid HTTP but hostile JSON: deep, huge numbers, NaN, bad UTF-8."""
    bodies = {
        "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
        "nested objects 5,000 deep": b'{"a":' * 5000 + b"1" + b"}" * 5000,
        "a number of 10,000 digits": b'{"organizationId": "x", "messagesCap": ' + b"9" * 10_000 + b"}",
        "NaN and Infinity": b'{"organizationId": "x", "messagesCap": NaN, "costCap": Infinity}',
        "invalid UTF-8": b'{"organizationId": "\xff\xfe"}',
        "a lone surrogate": b'{"organizationId": "\\ud800"}',
        "a byte order mark": b"\xef\xbb\xbf{}",
        "not JSON at all": b"<html>oops</html>",
    }

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, answer(200, bodies[name]))

    return Act(name, play, frozenset({200}))


ECHOES = ("a string", "a number", "a list", "a nested object", "the organizationId", "an error message",
          "the tracking id", "everywhere")  # fmt: skip


def echo(form: str) -> Act:
    """The caller's credential given back in the answer, in ``form``: never in a log or a recording."""

    async def play(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        secret = request.secret
        number: Any = int(secret) if secret.isascii() and secret.isdigit() else secret
        case = f"case-{request.case}"
        status, body, headers = 200, b"", [("X-Echo", secret)]
        if form == "a string":
            body = organization(case, name=f"Org of {secret}", creator=secret)
        elif form == "a number":
            body = organization(case, messagesCap=number, smsCap=number)
        elif form == "a list":
            body = organization(case, name=[secret], costCap=[number])
        elif form == "a nested object":
            body = organization(case, name={"key": {"is": secret}}, callCap={"n": number})
        elif form == "the organizationId":
            body = organization(secret)
        elif form == "an error message":
            status, body = 401, json.dumps({"trackingId": secret, "error": {"code": "x", "message": secret}}).encode()
        elif form == "the tracking id":
            body, headers = organization(case), [("X-Tracking-Id", secret)]
        else:
            body = organization(case, **{key: {"k": [number, secret]} for key in ("name", "creator", "messagesCap")})
        await _write(writer, answer(status, body, headers))

    return Act(f"the credential echoed in {form}", play, frozenset({200, 401}))


FINE_STATUSES = (200, 200, 200, 201, 204, 301, 400, 401, 404, 418, 429, 500, 502, 503)
BAD_STATUS_LINES = (
    b"HTTP/1.1 600 Beyond",
    b"HTTP/1.1 999 Beyond",
    b"HTTP/1.1 101 Switching Protocols",
    b"HTTP/1.1 2000 OK",
    b"HTTP/1.1 20 OK",
    b"HTTP/1.1 abc OK",
    b"HTTP/1.1 -200 OK",
    b"HTTP/1.1  200 OK",
    b"HTTP/2.0 200 OK",
    b"HTTP/9.9 200 OK",
    "HTTP/1.1 \u00b2\u00b2\u00b2 OK".encode(),
    b"ICY 200 OK",
)
CODINGS = ("gzip", "x-gzip", "GZIP", "deflate", "gzip, gzip", "identity", "gzip, identity", "gzip,,gzip")
UNKNOWN_CODINGS = ("br", "zstd", "compress", "foo", "gzip, foo")
ODD_BODIES = (
    "nested 100,000 deep",
    "nested objects 5,000 deep",
    "a number of 10,000 digits",
    "NaN and Infinity",
    "invalid UTF-8",
    "a lone surrogate",
    "a byte order mark",
    "not JSON at all",
)


def draw(rng: random.Random, cap: int) -> Act:
    """One act, drawn from ``rng``; sizes are read against ``cap``, the proxy's answer cap."""
    families: list[tuple[int, Callable[[], Act]]] = [
        (6, lambda: fine(rng.choice(FINE_STATUSES))),
        (4, lambda: stray(rng.choice([0.0, 0.01, 0.05]))),
        (2, doubled),
        (5, lambda: oversized(rng.choice([cap // 4, cap - 64, cap + 1, cap * 2, cap * 4]), rng.choice(FRAMINGS), cap)),
        (1, endless),
        (1, lambda: dripping(rng.choice([0.2, 0.5]))),
        (1, silent),
        (4, lambda: status_line(rng.choice(BAD_STATUS_LINES))),
        (1, lambda: status_line(rng.choice([b"HTTP/1.0 200 OK", b"HTTP/1.1 200"]), frozenset({200}))),
        (2, lambda: interim(rng.choice([b"HTTP/1.1 100 Continue", b"HTTP/1.1 103 Early Hints\r\nLink: </a>"]))),
        (4, lambda: coded(rng.choice(CODINGS), rng.choice(["good", "good", "corrupt", "truncated", "bomb"]), cap)),
        (1, lambda: coded(rng.choice(UNKNOWN_CODINGS), "good", cap)),
        (2, hop_by_hop),
        (5, lambda: bad_header(rng.choice(list(BAD_HEADERS)))),
        (5, lambda: broken(rng.choice(list(BROKEN)), rng.choice(["close", "close", "reset", "hold"]))),
        (3, lambda: odd_body(rng.choice(ODD_BODIES))),
        (5, lambda: echo(rng.choice(ECHOES))),
    ]
    weights = [weight for weight, _ in families]
    return rng.choices([make for _, make in families], weights)[0]()


# The caller's side.


@dataclasses.dataclass
class Outcome:
    status: int | None  # None: no answer
    headers: dict[str, str]
    body: bytes
    seconds: float
    failure: str = ""


def call(
    address: tuple[str, int], method: str, target: str, headers: dict[str, str], body: bytes, timeout: float
) -> Outcome:
    """One request on a connection of its own; whatever happens, an :class:`Outcome`."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        connection.request(method, target, body=body or None, headers={**headers, "Connection": "close"})
        got = connection.getresponse()
        content = got.read()
        return Outcome(got.status, {k.lower(): v for k, v in got.getheaders()}, content, time.monotonic() - started)
    except TimeoutError:
        return Outcome(None, {}, b"", time.monotonic() - started, "hang")
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, {}, b"", time.monotonic() - started, f"no answer ({type(exc).__name__})")
    finally:
        connection.close()


def _credentials(rng: random.Random) -> list[dict[str, str]]:
    """Three callers: a bearer key, a bearer key of digits only (echoed as a number), a basic pair."""
    key = "sk_live_" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=24))
    digits = str(rng.randrange(10**14, 10**15))  # below 2**53: a number a fixture could hold
    pair = base64.b64encode(f"client_{rng.randrange(10**8)}:{rng.randrange(10**14, 10**15)}".encode()).decode()
    return [
        {"Authorization": f"Bearer {key}"},
        {"Authorization": f"Bearer {digits}"},
        {"Authorization": "Basic " + pair},
    ]


def _secrets(credential: dict[str, str]) -> list[str]:
    scheme, _, value = credential["Authorization"].partition(" ")
    if scheme == "Basic":
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
        return [value, client_id, secret]
    return [value]


_KINDS = ("crossed", "unexpected status", "with a body", "stays with the mock", "the caller got", "a credential")


def _json(raw: bytes) -> Any:
    """``raw`` parsed, or None (not JSON, or nested past Python's recursion limit)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def judge(act: Act, index: int, outcome: Outcome, limit: float) -> list[str]:
    """What is wrong with the proxy's answer to ``act``."""
    said = f"case {index} ({act.label}):"
    if outcome.status is None:
        return [f"{said} {outcome.failure} after {outcome.seconds:.1f} s"]
    found = []
    if outcome.seconds > limit:
        found.append(f"{said} answered after {outcome.seconds:.1f} s, beyond the proxy's deadline")
    body = _json(outcome.body)
    error = body.get("error") if isinstance(body, dict) else None
    ours = outcome.status == 502 and isinstance(error, dict) and bool(error.get("provider"))
    if not (act.refused if ours else outcome.status in act.statuses):
        kind = "unexpected 5xx" if outcome.status >= 500 else "unexpected status"
        found.append(f"{said} {kind} {outcome.status}: {outcome.body[:200]!r}")
    if 200 <= outcome.status < 300:
        named = body.get("organizationId") if isinstance(body, dict) else None
        if named == "stray" or (isinstance(named, str) and named.startswith("case-") and named != f"case-{index}"):
            found.append(f"{said} crossed: it got the answer to another request ({named})")
        elif act.own and named != f"case-{index}":
            found.append(f"{said} the body is not the deployment's, decoded: {outcome.body[:80]!r}")
    for name in act.hidden:
        if name in outcome.headers:
            found.append(f"{said} the caller got {name}")
    return found


def _vmhwm_and_rss(pid: int) -> tuple[float, float]:
    """Peak and current resident memory of ``pid`` in MiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            found[line[:5]] = int(line.split()[1]) / 1024
    return found.get("VmHWM", 0.0), found.get("VmRSS", 0.0)


Start = Callable[[Path, list[str]], tuple["subprocess.Popen[bytes]", str]]


def run(
    count: int,
    seed: int,
    start: Start,
    mock: list[str],
    *,
    proxy_command: str | None = None,
    cap: int = 16 * MIB,
    timeout: int = 5,
    workers: int = 6,
    max_rss_mib: float = 0.0,
) -> list[str]:
    """``count`` requests through a proxy in front of a hostile :class:`Deployment`; prints a summary.

    ``start(log, command)`` starts the proxy and returns it and its base URL; ``mock`` is the
    mock-server command line to which ``--proxy``, ``--record`` and the limits are added, unless
    ``proxy_command`` (``{upstream}`` replaced by the deployment's URL) names another proxy.
    The errors; none when all went as it should.
    """
    rng = random.Random(seed)  # noqa: S311 - a reproducible run, not a secret
    acts = [draw(rng, cap) for _ in range(count)]
    callers = _credentials(rng)
    calls = [(rng.choice(["GET", "GET", "POST"]), rng.choice(callers), rng.random() < 0.3) for _ in range(count)]
    folder = Path(tempfile.mkdtemp(prefix="hostile-upstream-"))
    log = folder / "proxy.log"
    deployment = Deployment(lambda request: acts[request.case] if request.case is not None else fine())
    errors: list[str] = []
    latencies: list[float] = []
    statuses: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    with deployment as upstream:
        if proxy_command:
            command = shlex.split(proxy_command.format(upstream=upstream))
        else:
            limits = ["--proxy-timeout", str(timeout), "--proxy-max-answer-bytes", str(cap)]
            command = [
                *mock,
                "--proxy",
                upstream,
                *limits,
                "--record",
                str(folder / "recorded"),
                "--log-format",
                "json",
            ]
        process, base = start(log, command)
        host, port = base.removeprefix("http://").split(":")
        address = (host, int(port))
        limit = timeout + 3.0

        def one(index: int) -> list[str]:
            method, credential, with_body = calls[index]
            headers = {**credential, "Cookie": "session=mine", "X-Admin-Token": "t", "Origin": "http://localhost:3000"}
            body = b""
            if method == "POST" or with_body:  # a GET with a body: the deployment must not see it
                body = json.dumps(
                    {"successUrl": "https://app.example/ok", "cancelUrl": "https://app.example/no"}
                ).encode()
                headers["Content-Type"] = "application/json"
            path = "/account/organization" if method == "GET" else "/billing"
            outcome = call(address, method, f"{path}?case={index}", headers, body, limit + 5)
            statuses[str(outcome.status or outcome.failure)] += 1
            if b'"providerCode":"timeout"' not in outcome.body:  # the deadline is the latency of those
                latencies.append(outcome.seconds)
            return judge(acts[index], index, outcome, limit)

        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
                for found in pool.map(one, range(count)):
                    errors += found
            if call(address, "GET", "/__mock__/health", {}, b"", 10).status != 200:
                errors.append("the proxy stopped answering its own health route")
            peak, rss = _vmhwm_and_rss(process.pid)
            request_log = call(address, "GET", "/__mock__/requests?limit=1000", {}, b"", 10).body
        finally:
            process.terminate()
            process.wait(15)
    errors += deployment.problems
    seen = [log.read_bytes(), request_log] + [path.read_bytes() for path in folder.glob("recorded/*")]
    for credential in callers:
        for secret in _secrets(credential):
            if any(secret.encode() in text for text in seen):
                errors.append(f"a credential ({secret[:4]}...) is in the proxy's log, its request log or the recording")
    if max_rss_mib and peak > max_rss_mib:
        errors.append(f"the proxy's RSS peaked at {peak:.0f} MiB, above {max_rss_mib:.0f} MiB")
    unexpected = sum("unexpected 5xx" in error for error in errors)
    hangs = sum(": hang after" in error for error in errors)
    print(f"hostile upstream: {count} exchanges (seed {seed}, cap {cap:,} bytes) in {time.monotonic() - started:.0f} s")
    print(f"  statuses: {dict(statuses.most_common())}")
    slowest = max(latencies, default=0)
    print(f"  max latency {slowest:.2f} s (but the {timeout} s timeouts); max RSS {peak:.0f} MiB (now {rss:.0f} MiB)")
    print(f"  unexpected 5xx: {unexpected}; hangs: {hangs}; other problems: {len(errors) - unexpected - hangs}")
    kinds = {kind: sum(kind in error for error in errors) for kind in _KINDS}
    print("  of which: " + "; ".join(f"{kind}: {number}" for kind, number in kinds.items()))
    print(f"  proxy log: {log}")
    return errors
