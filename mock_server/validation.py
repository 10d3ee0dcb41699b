"""Request and answer validation, per operation, with the schemas compiled at start-up.

:class:`RequestValidation` checks the media type (compared as RFC 9110 says: type,
subtype and parameter names without regard to case), reads the body, parses it as
strict JSON (orjson: no NaN, no byte order mark, no lone surrogate, at most 1,024
levels deep) and checks it against the operation's schema. The parsed body is kept
in the request state for the handler. :class:`ResponseValidation` holds each answer
until its body is checked against the schema of its status; an answer that does
not conform raises Connexion's ``NonConformingResponseBody`` (a 500, logged).
"""

from __future__ import annotations

from typing import Any

import orjson
from connexion.exceptions import NonConformingResponseBody, NonConformingResponseHeaders
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.operations import AbstractOperation
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billing_contract.excerpt import excerpt
from billing_contract.media import media_type

from .asgi import header_text, read_body, replay
from .errors import InvalidJson, UnsupportedMediaType, ValidationFailed
from .schemas import Check, compile_schema
from .state import request_state

__all__ = ["RequestValidation", "ResponseValidation"]


class _Body:
    def __init__(self, operation: AbstractOperation, next_app: ASGIApp) -> None:
        self.next_app = next_app
        self.media_types = [kind.lower() for kind in operation.consumes]
        self.required = bool(operation.request_body.get("required", False))
        self.checks = {kind: compile_schema(operation.body_schema(kind), request=True) for kind in self.media_types}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind, parameters = media_type(header_text(scope, b"content-type"))
        kind = kind or self.media_types[0]  # no Content-Type: the one the operation takes
        check = self.checks.get(kind)
        if check is None:
            expected = " or ".join(self.media_types)
            raise UnsupportedMediaType(f"The request body must be {expected}, not {excerpt(kind)}.")
        if parameters.get("charset", "utf-8").lower() != "utf-8":
            raise UnsupportedMediaType(f"The request body must be UTF-8, not {excerpt(parameters['charset'])}.")
        raw = await read_body(receive)
        if not raw:
            if self.required:
                raise ValidationFailed("The request body is required: send a JSON object.")
            await self.next_app(scope, receive, send)
            return
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise InvalidJson(f"The request body is not valid UTF-8 JSON: {error}.") from None
        if body is None:
            raise ValidationFailed("The request body must be a JSON object, not null.")
        reason = check(body)
        if reason is not None:
            raise ValidationFailed(reason)  # short: the schema's reason, clipped (mock_server.schemas)
        request_state(scope).body = body
        await self.next_app(scope, replay(raw, receive), send)


class _RequestAPI(RoutedAPI[Any]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> ASGIApp:
        return _Body(operation, self.next_app) if operation.request_body else self.next_app


class RequestValidation(RoutedMiddleware[_RequestAPI]):
    """The request body, for each operation that takes one."""

    api_cls = _RequestAPI


class _Answers:
    def __init__(self, operation: AbstractOperation, next_app: ASGIApp) -> None:
        self.next_app = next_app
        self.produces = {kind.lower() for kind in operation.produces}
        self.checks: dict[str, Check] = {}
        for status, response in operation.responses.items():
            for kind, media in (response.get("content") or {}).items():
                if media.get("schema"):
                    self.checks[f"{status} {kind.lower()}"] = compile_schema(operation.response_schema(status, kind))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def held_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message  # held until the body is checked
                return
            if message["type"] != "http.response.body" or not start:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            self.check(start, body)
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.next_app(scope, receive, held_send)

    def check(self, start: Message, body: bytes) -> None:
        status = start["status"]
        content_type = next((value.decode("latin-1") for key, value in start["headers"] if key == b"content-type"), "")
        kind = media_type(content_type)[0]
        if status < 400 and self.produces and kind not in self.produces:
            raise NonConformingResponseHeaders(detail=f"answer {status} in {kind or 'no media type'}")
        check = self.checks.get(f"{status} {kind}") or self.checks.get(f"default {kind}")
        if check is None:
            return
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise NonConformingResponseBody(detail=f"answer {status} is not JSON: {error}") from None
        reason = check(answer)
        if reason is not None:
            raise NonConformingResponseBody(detail=f"answer {status}: {reason}")


class _ResponseAPI(RoutedAPI[Any]):
    def __init__(self, *args: Any, validate_responses: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.validate_responses = validate_responses
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> ASGIApp:
        return _Answers(operation, self.next_app) if self.validate_responses else self.next_app


class ResponseValidation(RoutedMiddleware[_ResponseAPI]):
    """Each answer against the schema of its status (with ``validate_responses=True``)."""

    api_cls = _ResponseAPI
