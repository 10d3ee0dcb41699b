"""The server on a real socket: limits, timeouts and protocol errors answered in the error body."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator

import pytest

from mock_server.server import GuardedProtocol

from .servers import read_banner, run_mock

pytestmark = pytest.mark.socket

LIMITS = ["--header-timeout", "1", "--body-timeout", "1", "--max-connections", "8", "--max-header-bytes", "4096"]


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    process = run_mock("--port", "0", *LIMITS)
    _, base = read_banner(process)
    host, port = base.removeprefix("http://").split(":")
    try:
        yield host, int(port)
    finally:
        process.terminate()
        process.wait(10)
        process.communicate(timeout=10)


def _exchange(address: tuple[str, int], data: bytes, *, timeout: float = 5.0) -> bytes:
    with socket.create_connection(address, timeout=timeout) as client:
        if data:
            client.sendall(data)
        received = b""
        while True:
            try:
                chunk = client.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
    return received


def _error(raw: bytes, status: int, code: str) -> dict[str, object]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), raw[:200]
    assert b"content-type: application/json" in head.lower()
    assert b"connection: close" in head.lower()
    answer = json.loads(body)
    assert answer["error"]["code"] == code
    assert re.fullmatch(rb"(?s).*x-tracking-id: " + answer["trackingId"].encode() + rb"\r\n.*", head + b"\r\n")
    return answer


GET = b"GET /account/organization HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_paid_org\r\n"


def test_a_normal_request_is_answered(address: tuple[str, int]) -> None:
    raw = _exchange(address, GET + b"Connection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 ")


def test_a_request_line_the_parser_refuses_gets_the_error_body(address: tuple[str, int]) -> None:
    _error(_exchange(address, b"GARBAGE / NOT-HTTP\r\n\r\n"), 400, "malformed_request")


def test_a_bad_chunk_size_gets_the_error_body(address: tuple[str, int]) -> None:
    request = (
        b"POST /billing HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n"
    )
    _error(_exchange(address, request), 400, "malformed_request")


def test_oversized_headers_are_431(address: tuple[str, int]) -> None:
    _error(_exchange(address, GET + b"X-Big: " + b"a" * 8000 + b"\r\n\r\n"), 431, "headers_too_large")


def test_too_many_headers_are_431(address: tuple[str, int]) -> None:
    many = b"".join(b"X-%d: 1\r\n" % index for index in range(150))
    _error(_exchange(address, GET + many + b"\r\n"), 431, "headers_too_large")


def test_a_huge_header_is_refused_before_it_is_all_read(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=5) as client:
        client.sendall(GET + b"X-Big: ")
        refused = False
        try:
            for _ in range(64):  # up to 64 MiB, unless the server stops listening first
                client.sendall(b"a" * (1024 * 1024))
        except OSError:
            refused = True
        if not refused:
            raw = client.recv(65536)
            assert raw.startswith(b"HTTP/1.1 431 "), raw[:100]


def test_a_half_sent_head_times_out_with_408(address: tuple[str, int]) -> None:
    started = time.monotonic()
    raw = _exchange(address, b"GET /account/organization HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert time.monotonic() - started < 4
    _error(raw, 408, "request_timeout")


def test_a_slow_body_times_out_with_408(address: tuple[str, int]) -> None:
    head = (
        b"POST /billing HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_paid_org\r\n"
        b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"successUrl"'
    )
    _error(_exchange(address, head), 408, "request_timeout")


def test_a_connection_that_sends_nothing_is_closed(address: tuple[str, int]) -> None:
    started = time.monotonic()
    assert _exchange(address, b"") == b""
    assert time.monotonic() - started < 4


def test_connections_over_the_cap_get_503_and_the_server_goes_on(address: tuple[str, int]) -> None:
    idle = [socket.create_connection(address, timeout=5) for _ in range(8)]
    try:
        raw = b""
        with socket.create_connection(address, timeout=5) as extra:
            extra.sendall(GET + b"\r\n")
            while chunk := extra.recv(65536):
                raw += chunk
        _error(raw, 503, "server_busy")
    finally:
        for connection in idle:
            connection.close()
    time.sleep(0.2)
    assert _exchange(address, GET + b"Connection: close\r\n\r\n").startswith(b"HTTP/1.1 200 ")


def test_the_uvicorn_hooks_the_server_overrides_still_exist() -> None:
    """A uvicorn release that renames one of these fails here, not in production."""
    base = GuardedProtocol.__mro__[1]
    hooks = ["connection_made", "connection_lost", "data_received", "on_message_begin", "on_url", "on_header"]
    hooks += ["on_headers_complete", "on_message_complete", "on_response_complete", "send_400_response"]
    for name in hooks:
        assert callable(getattr(base, name, None)), name


def test_a_websocket_upgrade_is_an_ordinary_request(address: tuple[str, int]) -> None:
    request = GET + b"Connection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    request += b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    assert _exchange(address, request).startswith(b"HTTP/1.1 200 ")
