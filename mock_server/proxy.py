"""``mock-server --proxy URL``: the API's operations forwarded to a deployment, its answers judged.

:class:`Proxy` takes the place of credentials, validation, scenarios and the handler
in the pipeline (:mod:`mock_server.pipeline`). Per request it forwards the method,
path, query, body and the caller's own ``Authorization``, ``Content-Type`` and
``Accept`` with one pooled ``aiohttp.ClientSession``; the deployment's status, headers
(but hop-by-hop ones and its CORS headers: the mock answers CORS) and body come back
unchanged, judged by the contract suite's oracle (``billing_contract.verdict``). A
violation adds ``X-Contract-Violation: check, check`` and goes into the request
state, hence the request log; with ``--proxy-strict`` it becomes a 502. A deployment
that cannot be reached, fails TLS or does not answer in ``--proxy-timeout`` seconds
gives a 502 naming it as the ``provider``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp
import orjson
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.operations import AbstractOperation
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from .asgi import read_body
from .errors import ContractViolation
from .services import Services
from .state import request_state
from .upstream import Upstream, credential

__all__ = ["Proxy"]

FORWARDED = frozenset({b"authorization", b"content-type", b"accept", b"accept-language", b"user-agent", b"prefer"})
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)
# The mock sets Content-Length again for the same body, and Date, as any server does.
_NOT_RETURNED = HOP_BY_HOP | {b"content-length", b"content-encoding", b"proxy-authenticate", b"date"}
_TRACKING_ID = re.compile(rb"[\x21-\x7e]{1,200}")
logger = logging.getLogger("mock_server")
_IDENTITY = ("Accept-Encoding", "identity")  # the body is judged and returned as sent


def _returned_headers(raw: Any) -> list[tuple[bytes, bytes]]:
    """The headers of the deployment's answer the caller gets: not hop-by-hop, not CORS (the mock answers
    CORS, and adds ``Origin`` to ``Vary`` itself)."""
    headers = []
    for name, value in raw:
        name = name.lower()
        if name in _NOT_RETURNED or name.startswith(b"access-control-"):
            continue
        if name == b"vary":
            value = b", ".join(part.strip() for part in value.split(b",") if part.strip().lower() != b"origin")
            if not value:
                continue
        headers.append((name, value))
    return headers


def _parsed(raw: bytes) -> Any:
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None


class _Forward:
    def __init__(self, method: str, path: str, upstream: Upstream, services: Services) -> None:
        self.method, self.path, self.upstream, self.services = method, path, upstream, services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        sent = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"] if name in FORWARDED
        ]
        status, headers, content = await self._exchange(scope, sent, body)
        state = request_state(scope)
        for name, value in headers:  # the deployment's trackingId names the request, in the log too
            if name == b"x-tracking-id" and _TRACKING_ID.fullmatch(value):
                state.tracking_id = value.decode("ascii")
        texts = dict(sent)
        request_body = _parsed(body)
        violations = self._judged(texts, request_body, bool(body), status, headers, content, state.tracking_id)
        state.violations = [{"check": found.check, "message": found.message} for found in violations]
        if violations and self.upstream.strict:
            said = "; ".join(f"{found.check} ({found.message})" for found in violations)
            raise ContractViolation(f"The deployment's {status} answer breaks the contract: {said}"[:1000])
        if violations:
            names = ", ".join(dict.fromkeys(found.check for found in violations))
            headers.append((b"x-contract-violation", names.encode()))
        if 200 <= status < 300:
            data = _parsed(content)
            organization_id = data.get("organizationId") if isinstance(data, dict) else None
            state.organization_id = organization_id if isinstance(organization_id, str) else None
            self._record(texts.get("authorization"), request_body, status, data)
        headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _exchange(
        self, scope: Scope, sent: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The deployment's status, the headers the caller gets, and the body; a 502 when it fails."""
        upstream = self.upstream
        query = scope.get("query_string", b"")
        url = upstream.base + scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        target = URL(url + ("?" + query.decode("latin-1") if query else ""), encoded=True)  # sent as the caller sent it
        try:
            async with upstream.client.request(
                self.method, target, data=body or None, headers=[*sent, _IDENTITY], allow_redirects=False
            ) as answer:
                return answer.status, _returned_headers(answer.raw_headers), await answer.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise upstream.failed(exc) from None

    def _judged(
        self,
        texts: dict[str, str],
        request_body: Any,
        body_sent: bool,
        status: int,
        headers: list[tuple[bytes, bytes]],
        content: bytes,
        tracking_id: str,
    ) -> list[Any]:
        """The verdict's violations; none, logged, when the verdict itself fails."""
        returned = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]
        try:
            return self.upstream.judge(
                self.method, self.path, texts, request_body, status, returned, content, body_sent=body_sent
            )
        except Exception:  # a bug in a check must not cost the caller the deployment's answer
            logger.exception(
                "the answer to %s %s could not be judged, trackingId=%s", self.method, self.path, tracking_id
            )
            return []

    def _record(self, authorization: str | None, request_body: Any, status: int, data: Any) -> None:
        """The answer into ``--record DIR``; a recording that fails is logged, the caller still gets the answer."""
        recording = self.services.recording
        given = credential(authorization) if recording is not None else None
        if given is None or recording is None:
            return
        try:
            recording.observe(given, f"{self.method} {self.path}", request_body, status, data)
        except Exception:
            logger.exception("could not record the answer to %s %s", self.method, self.path)


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
