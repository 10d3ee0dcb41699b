"""``mock-server --proxy URL``: the API's operations forwarded to a deployment, its answers judged.

:class:`Proxy` takes the place of credentials, validation, scenarios and the handler
in the pipeline (:mod:`mock_server.pipeline`). Per request it forwards the method,
path, query, body (none on a GET) and the caller's own ``Authorization``, ``Content-Type``
and ``Accept``, on a connection of its own (:mod:`mock_server.upstream`); the deployment's
status, headers (but hop-by-hop ones, those its ``Connection`` names, and its CORS headers:
the mock answers CORS) and body, decoded, come back, judged by the contract suite's checks
(``billing_contract.verdict``, the suite's oracle) when the body is within ``--proxy-max-judged-bytes``. A
violation adds ``X-Contract-Violation: check, check`` and goes into the request state,
hence the request log, with the caller's credential redacted; with ``--proxy-strict`` it
becomes a 502. Every judged exchange goes into the drift report (``services.drift``,
:mod:`billing_contract.drift`). A deployment that cannot be reached, fails TLS, does not answer in
``--proxy-timeout`` seconds, or answers what cannot be passed on gives a 502 naming it as
the ``provider``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import orjson
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.operations import AbstractOperation
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from billing_contract.excerpt import redact

from .asgi import read_body
from .drift import save_at_shutdown
from .errors import ContractViolation
from .logs import log_failure
from .services import Services
from .state import request_state
from .upstream import Upstream, credential, credential_secrets

__all__ = ["NOT_JUDGED", "Proxy"]

FORWARDED = frozenset({b"authorization", b"content-type", b"accept", b"accept-language", b"user-agent", b"prefer"})
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)
# The mock sets Content-Length again for the body it decoded (mock_server.codings), and Date, as any server does.
_NOT_RETURNED = HOP_BY_HOP | {b"content-length", b"content-encoding", b"proxy-authenticate", b"date"}
_BODILESS = frozenset({"GET", "HEAD"})
NOT_JUDGED = "answer_too_large_to_judge"
"""Said, as a violation, of an answer above ``--proxy-max-judged-bytes``: passed on (not in strict mode), unjudged."""
_TRACKING_ID = re.compile(rb"[\x21-\x7e]{1,200}")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
logger = logging.getLogger("mock_server")
_IDENTITY = ("Accept-Encoding", "identity")  # an answer in another coding is decoded (mock_server.codings)


def _returned_headers(raw: Any) -> list[tuple[bytes, bytes]]:
    """The headers of the deployment's answer the caller gets: not hop-by-hop, nor those its ``Connection``
    names (RFC 9110 7.6.1), not CORS (the mock answers CORS, and adds ``Origin`` to ``Vary`` itself)."""
    named = {
        token.strip().lower() for name, value in raw if name.lower() == b"connection" for token in value.split(b",")
    }
    headers = []
    for name, value in raw:
        name = name.lower()
        if name in _NOT_RETURNED or name in named or name.startswith(b"access-control-"):
            continue
        if not _TOKEN.fullmatch(name) or _CONTROL.search(value):  # not HTTP: the mock's server would refuse to send it
            continue
        if name == b"vary":
            value = b", ".join(part.strip() for part in value.split(b",") if part.strip().lower() != b"origin")
            if not value:
                continue
        headers.append((name, value))
    return headers


def _secrets(authorization: str | None) -> tuple[str, ...]:
    """What of the caller's ``Authorization`` no log may show: its token, and the key or pair in it."""
    token = (authorization or "").partition(" ")[2].strip()
    return tuple(filter(None, (token, *(credential_secrets(credential(authorization)) or ()))))


def _holds(text: str, hidden: tuple[str, ...]) -> bool:
    return any(secret in text for secret in hidden)


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
        if self.method in _BODILESS:  # a deployment that reads no body would take it for the next request
            body = b""
        sent = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name in FORWARDED and not (name == b"content-type" and self.method in _BODILESS)
        ]
        status, headers, content = await self._exchange(scope, sent, body)
        texts = dict(sent)
        hidden = _secrets(texts.get("authorization"))
        state = request_state(scope)
        for name, value in headers:  # the deployment's trackingId names the request, in the log too
            if name == b"x-tracking-id" and _TRACKING_ID.fullmatch(value) and not _holds(value.decode(), hidden):
                state.tracking_id = value.decode("ascii")
        request_body = _parsed(body)
        returned = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]
        violations = self._judged(texts, request_body, bool(body), status, returned, content, state.tracking_id, hidden)
        state.violations = [{"check": check, "message": message} for check, message in violations]
        self._observe(status, returned, content, violations, request_body, hidden, state.tracking_id)
        if violations and self.upstream.strict:
            said = "; ".join(f"{check} ({message})" for check, message in violations)
            raise ContractViolation(f"The deployment's {status} answer breaks the contract: {said}"[:1000])
        if violations:
            names = ", ".join(dict.fromkeys(check for check, _ in violations))
            headers.append((b"x-contract-violation", names.encode()))
        if 200 <= status < 300 and len(content) <= self.upstream.max_judged:
            data = _parsed(content)
            organization_id = data.get("organizationId") if isinstance(data, dict) else None
            if isinstance(organization_id, str) and len(organization_id) <= 200 and not _holds(organization_id, hidden):
                state.organization_id = organization_id
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
        status, raw, content = await upstream.exchange(self.method, target, [*sent, _IDENTITY], body or None)
        return status, _returned_headers(raw), content

    def _judged(
        self,
        texts: dict[str, str],
        request_body: Any,
        body_sent: bool,
        status: int,
        returned: list[tuple[str, str]],
        content: bytes,
        tracking_id: str,
        hidden: tuple[str, ...],
    ) -> list[tuple[str, str]]:
        """The verdict's violations as (check, message), the caller's secrets redacted from each message; one for
        an answer too large to judge; none, logged, when the verdict itself fails."""
        if len(content) > self.upstream.max_judged:  # the verdict's time and memory grow faster than the body
            return [(NOT_JUDGED, self.upstream.too_large_to_judge(len(content)))]
        try:
            found = self.upstream.judge(
                self.method, self.path, texts, request_body, status, returned, content, body_sent=body_sent
            )
        except Exception as error:  # a bug in a check must not cost the caller the deployment's answer
            said = "the answer to %s %s could not be judged, trackingId=%s"
            log_failure(logger, said, self.method, self.path, tracking_id, error=error)
            return []
        return [(violation.check, redact(violation.message, hidden)) for violation in found]

    def _observe(
        self,
        status: int,
        returned: list[tuple[str, str]],
        content: bytes,
        violations: list[tuple[str, str]],
        request_body: Any,
        hidden: tuple[str, ...],
        tracking_id: str,
    ) -> None:
        """The exchange into the drift report (an answer too large to judge: its body unread)."""
        drift = self.services.drift
        if drift is None:
            return
        body = content if len(content) <= self.upstream.max_judged else None
        try:
            drift.observe(
                self.method, self.path, status, returned, body, violations, request_body=request_body, hidden=hidden
            )
        except Exception as error:  # a bug in the report must not cost the caller the deployment's answer
            said = "the answer to %s %s could not be added to the drift report, trackingId=%s"
            log_failure(logger, said, self.method, self.path, tracking_id, error=error)

    def _record(self, authorization: str | None, request_body: Any, status: int, data: Any) -> None:
        """The answer into ``--record DIR``; a recording that fails is logged, the caller still gets the answer."""
        recording = self.services.recording
        given = credential(authorization) if recording is not None else None
        if given is None or recording is None:
            return
        try:
            recording.observe(given, f"{self.method} {self.path}", request_body, status, data)
        except Exception as error:
            log_failure(logger, "could not record the answer to %s %s", self.method, self.path, error=error)


class _API(RoutedAPI[Any]):
    def __init__(self, *args: Any, upstream: Upstream, services: Services, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.upstream, self.services = upstream, services
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> ASGIApp:
        return _Forward(operation.method.upper(), operation.path, self.upstream, self.services)


class Proxy(RoutedMiddleware[_API]):
    """Each operation of the document forwarded to the deployment; at shutdown the client closed, the drift
    report and the recording written."""

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
                await save_at_shutdown(self.services)
                if self.services.recording is not None:
                    await asyncio.to_thread(self.services.recording.close)
            await send(message)

        await self.app(scope, receive, closing)
