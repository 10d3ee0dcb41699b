"""The real server the browser tests talk to, and the fake frontend it returns to."""

from __future__ import annotations

import contextlib
import dataclasses
import html
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from mock_server.asgi import MockServer

from ..conftest import checkout_body


class _Frontend(BaseHTTPRequestHandler):
    """Stands for the developer's app: any GET answers a page naming the URL it was sent to."""

    def do_GET(self) -> None:
        body = f"<!doctype html><title>App</title><h1>The app</h1><p id='path'>{html.escape(self.path)}</p>".encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def frontend() -> Iterator[str]:
    """A stand-in frontend on a free loopback port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Frontend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclasses.dataclass
class LiveServer:
    base_url: str
    app: MockServer
    app_url: str
    """Where checkouts return to (successUrl and cancelUrl): the stand-in frontend."""

    def client(self, api_key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10)

    def checkout(self, api_key: str, **prices: str) -> dict[str, Any]:
        """POST /billing with prices; returns the answer (with ``sessionId`` and ``url``)."""
        with self.client(api_key) as client:
            answer = client.post("/billing", json=checkout_body(self.app_url, **prices))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def organization(self, api_key: str, *, full: bool = False) -> dict[str, Any]:
        """GET /account/organization, or with ``full`` POST /billing without a price (every field)."""
        with self.client(api_key) as client:
            if full:
                answer = client.post("/billing", json={"successUrl": self.app_url, "cancelUrl": self.app_url})
            else:
                answer = client.get("/account/organization")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body
