"""The CORS layer's short way for requests without ``Origin`` answers as Starlette's middleware does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.middleware.cors import CORSMiddleware

from mock_server.app import LOCAL_ORIGINS
from mock_server.asgi import Cors

OPTIONS: dict[str, Any] = {
    "allow_origins": ["https://app.example.com"],
    "allow_origin_regex": LOCAL_ORIGINS,
    "allow_methods": ["GET", "POST", "OPTIONS"],
    "allow_headers": ["Authorization", "Content-Type"],
    "expose_headers": ["X-Tracking-Id"],
    "allow_credentials": True,
}


def _inner(headers: list[tuple[bytes, bytes]]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


async def _headers(middleware: Any, request_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": request_headers, "query_string": b""}
    await middleware(scope, receive, send)
    return list(sent[0]["headers"])


@pytest.mark.parametrize(
    "answer",
    [
        [],
        [(b"content-type", b"application/json")],
        [(b"vary", b"Accept"), (b"content-type", b"application/json")],
        [(b"vary", b"Accept"), (b"x-a", b"1"), (b"vary", b"Cookie")],
    ],
)
@pytest.mark.parametrize(
    "request_headers",
    [[], [(b"authorization", b"Bearer x")], [(b"origin", b"http://localhost:3000")], [(b"origin", b"https://x.test")]],
)
def test_same_headers_as_starlette(answer: list[tuple[bytes, bytes]], request_headers: list[Any]) -> None:
    ours = asyncio.run(_headers(Cors(_inner(answer), **OPTIONS), request_headers))
    starlette = asyncio.run(_headers(CORSMiddleware(_inner(answer), **OPTIONS), request_headers))
    assert ours == starlette
