"""Microseconds per request spent in each step of the pipeline, in-process (no sockets).

    .venv/bin/python benchmarks/steps.py [--requests 5000] [--state sqlite:///PATH]

Each layer's ``__call__`` is timed; a layer's own time is its time minus the next
layer's. The answer check of ResponseValidation runs while the handler sends, so
it is taken out of Endpoint and counted where it belongs. The timers add about
half a microsecond per layer; compare steps with each other, and the total with
``make bench`` for what a client sees.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from mock_server import create_app, pipeline, validation
from mock_server.asgi import Cors, MockServer
from mock_server.settings import Settings

BODY = json.dumps({"successUrl": "http://localhost:3000/ok", "cancelUrl": "http://localhost:3000/cancel"}).encode()
REQUESTS = {
    "GET /account/organization": ("GET", "/account/organization", b""),
    "POST /billing": ("POST", "/billing", BODY),
}
spent: dict[str, float] = {}


def _timed(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
    async def timed(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return await call(*args)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    return timed


def _timed_sync(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    return timed


def _scope(method: str, path: str, body: bytes) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8080"), (b"authorization", b"Bearer sk_test_paid_org")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {"type": "http", "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": headers, "http_version": "1.1",
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080)}  # fmt: skip


async def _run(app: Any, method: str, path: str, body: bytes, count: int) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise SystemExit(f"{method} {path} answered {message['status']}")

    for _ in range(count):
        await app(_scope(method, path, body), receive, send)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--state", default="memory", help="the state backend, as mock-server --state takes it")
    arguments = parser.parse_args()
    count, settings = arguments.requests, Settings(state=arguments.state)
    logging.disable(logging.CRITICAL)
    services = create_app(settings).services
    layers = [MockServer, Cors, *(getattr(part, "func", part) for part in pipeline.middlewares(services))]
    names = [layer.__name__ for layer in layers]
    for layer in layers:
        layer.__call__ = _timed(layer.__name__, layer.__call__)  # type: ignore[method-assign]
    validation._Answers.check = _timed_sync("check", validation._Answers.check)  # type: ignore[method-assign,assignment]
    for label, (method, path, body) in REQUESTS.items():
        app = create_app(settings)
        asyncio.run(_run(app, method, path, body, 500))  # warm-up
        spent.clear()
        asyncio.run(_run(app, method, path, body, count))
        per = {name: spent.get(name, 0.0) / count * 1e6 for name in [*names, "check"]}
        own = {name: per[name] - (per[names[i + 1]] if i + 1 < len(names) else 0) for i, name in enumerate(names)}
        own["Endpoint"] -= per["check"]
        own["ResponseValidation"] += per["check"]
        print(f"{label}: {per[names[0]]:.1f} us per request")
        for name in names:
            print(f"  {name:20s} {own[name]:6.1f} us")


if __name__ == "__main__":
    main()
