"""``mock-server --proxy URL``: the API's operations forwarded to a deployment, its answers judged.

:class:`Proxy` takes the place of credentials, validation, scenarios and the handler
in the pipeline (:mod:`mock_server.pipeline`). Per request it forwards the method,
path, query, body and the caller's own ``Authorization``, ``Content-Type`` and
``Accept`` with one pooled ``httpx.AsyncClient``; the deployment's status, headers
(but hop-by-hop ones and its CORS headers: the mock answers CORS) and body come back
unchanged, judged by the contract suite's checks (``contract_tests.verdict``). A
violation adds ``X-Contract-Violation: check, check`` and goes into the request
state, hence the request log; with ``--proxy-strict`` it becomes a 502. A deployment
that cannot be reached, fails TLS or does not answer in ``--proxy-timeout`` seconds
gives a 502 naming it as the ``provider``.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.operations import AbstractOperation
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import credentials
from .errors import ContractViolation, MalformedCredentials, ProviderError
from .services import Recording, Services
from .settings import ConfigError, Settings
from .state import request_state

__all__ = ["Judge", "Proxy", "Upstream", "load_judge", "open_recording"]

Judge = Callable[..., list[Any]]
"""``contract_tests.verdict.judge``: (method, path, request headers, request body, status, headers, body)."""
FORWARDED = frozenset({b"authorization", b"content-type", b"accept", b"accept-language", b"user-agent", b"prefer"})
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)
_NOT_RETURNED = HOP_BY_HOP | {b"content-length", b"content-encoding", b"proxy-authenticate"}
logger = logging.getLogger("mock_server")
_INSTALL = "pip install 'org-billing-mock[contract]'"


def load_judge() -> Judge:
    """The contract suite's verdict, prepared now; :class:`ConfigError` when the contract extra is missing."""
    from contract_tests import EXTRA_MODULES

    try:
        from contract_tests.verdict import judge, shipped
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in EXTRA_MODULES:
            raise
        raise ConfigError(
            f"--proxy judges answers with the contract suite's checks ({missing} is missing): {_INSTALL}"
        ) from None
    shipped()
    return judge


def open_recording(folder: Path | None) -> Recording | None:
    """``--record DIR``: the writer of mock_server.recording, the one place it plugs in."""
    if folder is None:
        return None
    try:
        module = importlib.import_module("mock_server.recording")
    except ModuleNotFoundError as exc:
        if exc.name != "mock_server.recording":
            raise
        raise ConfigError("--record needs mock_server.recording, which this build does not have") from None
    recording: Recording = module.Recording(folder)
    return recording


class Upstream:
    """The deployment: its base URL, one pooled client (made on first use, in the serving loop), the verdict."""

    def __init__(self, settings: Settings, judge: Judge) -> None:
        assert settings.proxy is not None
        self.base = settings.proxy
        self.host = urlsplit(self.base).hostname or self.base
        self.timeout = settings.proxy_timeout
        self.strict = settings.proxy_strict
        self.judge = judge
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
            self._client = httpx.AsyncClient(timeout=self.timeout, limits=limits, follow_redirects=False)
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def failed(self, exc: httpx.HTTPError) -> ProviderError:
        """The 502 that says what went wrong with the deployment (never its URL's secrets)."""
        if isinstance(exc, httpx.TimeoutException):
            why, code = f"did not answer within {self.timeout} s (--proxy-timeout)", "timeout"
        elif isinstance(exc, httpx.ConnectError) and _is_tls(exc):
            why, code = f"failed the TLS handshake: {str(exc)[:200]}", "tls_error"
        elif isinstance(exc, httpx.ConnectError):
            why, code = f"could not be reached: {str(exc)[:200] or type(exc).__name__}", "connection_error"
        else:
            why, code = f"broke off the exchange: {type(exc).__name__}", "protocol_error"
        return ProviderError(
            f"The deployment at {self.host} {why}.",
            fix="Check that --proxy names a deployment that is up and reachable from here, then retry.",
            provider=self.host,
            provider_code=code,
        )


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "SSL" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parsed(raw: bytes) -> Any:
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None


class _Forward:
    def __init__(self, method: str, path: str, upstream: Upstream, services: Services) -> None:
        self.method, self.path, self.upstream, self.services = method, path, upstream, services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upstream = self.upstream
        body = await _read_body(receive)
        sent = [(name, value) for name, value in scope["headers"] if name in FORWARDED]
        query = scope.get("query_string", b"")
        url = upstream.base + scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        try:
            answer = await upstream.client.request(
                self.method,
                url + ("?" + query.decode("latin-1") if query else ""),
                content=body or None,
                headers=[*sent, (b"accept-encoding", b"identity")],
            )
        except httpx.HTTPError as exc:
            raise upstream.failed(exc) from None
        content = answer.content
        headers = [(name, value) for name, value in answer.headers.raw if name.lower() not in _NOT_RETURNED]
        request_body = _parsed(body)
        texts = {name.decode("latin-1"): value.decode("latin-1") for name, value in sent}
        returned = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]
        violations = upstream.judge(self.method, self.path, texts, request_body, answer.status_code, returned, content)
        state = request_state(scope)
        state.violations = [{"check": found.check, "message": found.message} for found in violations]
        names = ", ".join(dict.fromkeys(found.check for found in violations))
        if violations and upstream.strict:
            said = "; ".join(f"{found.check} ({found.message})" for found in violations)
            raise ContractViolation(f"The deployment's {answer.status_code} answer breaks the contract: {said}"[:1000])
        if violations:
            headers.append((b"x-contract-violation", names.encode()))
        if self.services.recording is not None and 200 <= answer.status_code < 300:
            self._record(texts.get("authorization"), request_body, answer.status_code, content)
        headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _record(self, authorization: str | None, request_body: Any, status: int, content: bytes) -> None:
        """The answer into ``--record DIR``; a recording that fails is logged, the caller still gets the answer."""
        credential = _credential(authorization)
        recording = self.services.recording
        if credential is None or recording is None:
            return
        try:
            recording.observe(credential, f"{self.method} {self.path}", request_body, status, _parsed(content))
        except Exception:
            logger.exception("could not record the answer to %s %s", self.method, self.path)


def _credential(authorization: str | None) -> tuple[str, str | tuple[str, str]] | None:
    """``("bearer", key)`` or ``("basic", (client_id, secret))`` from an Authorization header, or None."""
    try:
        found = credentials(authorization)
    except MalformedCredentials:
        return None
    if found is None:
        return None
    scheme, value = found
    if scheme == "bearer":
        return scheme, value
    try:
        client_id, _, secret = base64.b64decode(value, validate=True).decode("latin-1").partition(":")
    except (binascii.Error, ValueError):
        return None
    return (scheme, (client_id, secret)) if scheme == "basic" else None


class _API(RoutedAPI[Any]):
    def __init__(self, *args: Any, upstream: Upstream, services: Services, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.upstream, self.services = upstream, services
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> ASGIApp:
        return _Forward(operation.method.upper(), operation.path, self.upstream, self.services)


class Proxy(RoutedMiddleware[_API]):
    """Each operation of the document forwarded to the deployment; the pooled client closed at shutdown."""

    api_cls = _API

    def __init__(self, app: ASGIApp, *, services: Services) -> None:
        super().__init__(app)
        assert services.upstream is not None
        self.services = services
        self.upstream = services.upstream

    def add_api(self, specification: Any, **kwargs: Any) -> _API:
        api: _API = super().add_api(specification, upstream=self.upstream, services=self.services, **kwargs)
        return api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await super().__call__(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.upstream.close()
            await send(message)

        await self.app(scope, receive, closing)
