"""The fast path: a request that is exactly what ``openapi.yaml`` describes, answered in one step.

Connexion's middleware stack (error handling, Swagger UI routing, routing, security,
request validation, response validation, context) costs about 100 microseconds per
request before any validation, and jsonschema takes another 60 to check one answer.
At start-up this module compiles each simple operation of ``openapi.yaml`` into one
function that does the same work with the same pieces:

- the credential checks Connexion is given (:func:`mock_server.auth.credential_checks`),
  tried in the order of the operation's ``security`` alternatives;
- the request body parsed as JSON and checked against its schema, compiled once;
- the handler the resolver gives Connexion, called with ``user`` and ``body`` (and
  ``token_info`` if it takes it), with ``connexion.context`` ``scope``, ``receive``,
  ``request`` and ``context`` set (``operation`` is not);
- the answer serialized, parsed back and checked against the schema of its status,
  compiled once; a failure is confirmed and worded by Connexion's own validator;
- errors rendered by :func:`mock_server.errors.to_api_error` and ``render``.

Anything the fast path is not sure about goes to Connexion untouched, body included:
an unknown route, a query string, missing or unknown credentials, a body that is
not JSON or fails its schema, another content type. So every error answer about a
request still comes from Connexion and the app's error handlers. An operation whose
schemas use a keyword outside :data:`SCHEMA_KEYWORDS` (or parameters, or required
response headers) is not compiled at all.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import fastjsonschema
import orjson
from connexion.context import _context, _receive, _scope
from connexion.jsonifier import Jsonifier
from connexion.validators import JSONResponseBodyValidator
from starlette.types import ASGIApp, Receive, Scope, Send

from .asgi import _replay
from .errors import render, to_api_error
from .ids import new_tracking_id
from .spec import ApiSpec, is_date

__all__ = ["JSONIFIER", "SCHEMA_KEYWORDS", "FastPath", "compile_schema", "compile_operations"]

Validator = Callable[[Any], bool]
Handler = Callable[..., Awaitable[Any]]
CredentialCheck = Callable[..., "dict[str, Any] | None"]

_DRAFT4 = "http://json-schema.org/draft-04/schema#"
_FORMATS: dict[str, Callable[[Any], bool]] = {"date": is_date}
_ANNOTATIONS = frozenset({"description", "title", "example", "nullable"})
SCHEMA_KEYWORDS = frozenset(
    {"type", "properties", "required", "enum", "format", "items", "additionalProperties"}
    | {"minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"}
    | _ANNOTATIONS
)
"""Keywords that fastjsonschema reads exactly as Connexion's Draft 4 validators do."""
_JSON = b"application/json"
_JSON_TYPES = (b"application/json", b"application/json; charset=utf-8", b"application/json;charset=utf-8")
_HEADERS = [(b"content-type", _JSON)]


class _Orjson:
    """What Connexion's ``Jsonifier`` needs of a json module, with orjson underneath.

    Dates and anything else orjson does not know go to Connexion's encoder (``cls``), so
    they come out as before; the rest comes out compact, as the fast path writes it.
    """

    loads = staticmethod(json.loads)

    @staticmethod
    def dumps(data: Any, cls: type[json.JSONEncoder] = json.JSONEncoder, **_: Any) -> str:
        options = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
        return orjson.dumps(data, default=cls().default, option=options).decode()


JSONIFIER = Jsonifier(_Orjson)
"""Connexion's serializer for the answers it writes: the same bytes as the fast path's."""


def _draft4(schema: Any) -> dict[str, Any] | None:
    """An OpenAPI 3.0 schema as plain Draft 4 (``nullable`` spelt out), or None if unsure."""
    if not isinstance(schema, dict) or not set(schema) <= SCHEMA_KEYWORDS:
        return None
    if "format" in schema and schema["format"] not in _FORMATS:
        return None
    result = {key: value for key, value in schema.items() if key not in _ANNOTATIONS}
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            converted = _draft4(schema[key])
            if converted is None:
                return None
            result[key] = converted
    if "properties" in schema:
        properties = {name: _draft4(sub) for name, sub in schema["properties"].items()}
        if any(sub is None for sub in properties.values()):
            return None
        result["properties"] = properties
    if schema.get("nullable"):  # as Connexion's allow_nullable: null passes `type` and `enum`
        if "type" in result:
            types = result["type"] if isinstance(result["type"], list) else [result["type"]]
            result["type"] = [*types, "null"]
        if "enum" in result:
            result["enum"] = [*result["enum"], None]
    return result


def compile_schema(schema: Any) -> Validator | None:
    """A compiled ``is_valid(instance)`` for an OpenAPI 3.0 schema, or None if it cannot be sure."""
    converted = _draft4(schema)
    if converted is None:
        return None
    return _compiled(json.dumps(converted, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _compiled(schema: str) -> Validator:
    """One compiled validator per distinct schema (compiling takes milliseconds)."""
    validate = fastjsonschema.compile({"$schema": _DRAFT4, **json.loads(schema)}, formats=_FORMATS)

    def is_valid(instance: Any) -> bool:
        try:
            validate(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return is_valid


@dataclasses.dataclass(frozen=True)
class _Response:
    schema: dict[str, Any] | None
    """The JSON schema of the answer; None: nothing to check (as Connexion)."""
    is_valid: Validator | None


@dataclasses.dataclass(frozen=True)
class Operation:
    operation_id: str
    handler: Handler
    schemes: tuple[tuple[str, CredentialCheck], ...]
    """(HTTP scheme, check) per ``security`` alternative, in order; empty: no security."""
    body: Validator | None
    """The request body's validator; None: the operation takes no body."""
    responses: Mapping[str, _Response]
    arguments: frozenset[str]
    """What the handler accepts of ``user``, ``token_info`` and ``body``."""


def _response_schemas(operation: dict[str, Any]) -> dict[str, _Response] | None:
    responses: dict[str, _Response] = {}
    for status, response in operation["responses"].items():
        if any(header.get("required") for header in response.get("headers", {}).values()):
            return None
        content = response.get("content")
        if not content:
            responses[str(status)] = _Response(None, None)
            continue
        if set(content) != {"application/json"}:
            return None
        schema = content["application/json"].get("schema")
        validator = compile_schema(schema) if schema else None
        if schema and validator is None:
            return None
        responses[str(status)] = _Response(schema, validator)
    return responses


def _security(
    spec: ApiSpec, operation: dict[str, Any], checks: Mapping[str, CredentialCheck]
) -> tuple[tuple[str, CredentialCheck], ...] | None:
    """The operation's security alternatives as (HTTP scheme, check), or None if one is not HTTP basic/bearer."""
    schemes = spec.resolved.get("components", {}).get("securitySchemes", {})
    alternatives = []
    for requirement in operation.get("security", spec.resolved.get("security", [])):
        scheme = schemes.get(next(iter(requirement)), {}) if len(requirement) == 1 else {}
        kind = str(scheme.get("scheme", "")).lower()
        if scheme.get("type") != "http" or kind not in checks:
            return None
        alternatives.append((kind, checks[kind]))
    return tuple(alternatives)


def _request_body(operation: dict[str, Any]) -> Validator | Literal[False] | None:
    """The body's validator; None: no body; False: a body the fast path leaves to Connexion."""
    request_body = operation.get("requestBody")
    if request_body is None:
        return None
    content = request_body.get("content", {})
    if set(content) != {"application/json"} or not request_body.get("required") or "x-body-name" in request_body:
        return False
    return compile_schema(content["application/json"].get("schema")) or False


def compile_operations(
    spec: ApiSpec,
    handlers: Callable[[str], Handler],
    checks: Mapping[str, CredentialCheck],
) -> dict[tuple[str, str], Operation]:
    """(method, path) -> the compiled operation, for each operation simple enough to compile."""
    servers = spec.resolved.get("servers") or [{"url": "/"}]
    base_path = urlsplit(servers[0]["url"]).path.rstrip("/")
    compiled: dict[tuple[str, str], Operation] = {}
    for operation_id, operation in spec.operations.items():
        if operation.get("parameters") or spec.resolved["paths"][operation["path"]].get("parameters"):
            continue
        schemes = _security(spec, operation, checks)
        body = _request_body(operation)
        responses = _response_schemas(operation)
        if schemes is None or body is False or responses is None:
            continue
        handler = handlers(operation_id)
        accepted = inspect.signature(handler).parameters
        compiled[(operation["method"], base_path + operation["path"])] = Operation(
            operation_id=operation_id,
            handler=handler,
            schemes=schemes,
            body=body,
            responses=responses,
            arguments=frozenset({"user", "token_info", "body"} & set(accepted)),
        )
    return compiled


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _token_info(operation: Operation, authorization: bytes | None) -> dict[str, Any] | None:
    """Token info for a credential one of the alternatives knows; None for anything else."""
    if not operation.schemes:
        return {}
    parts = authorization.decode("latin-1").split(maxsplit=1) if authorization else []
    if len(parts) != 2:
        return None
    kind, value = parts[0].lower(), parts[1]  # parsed as Connexion parses it
    for scheme, check in operation.schemes:
        if scheme != kind:
            continue
        if scheme == "bearer":
            return check(value)
        try:
            username, password = base64.b64decode(value).decode("latin-1").split(":", 1)
        except ValueError:
            return None
        return check(username, password)
    return None


class FastPath:
    """ASGI: compiled operations first, Connexion (``app``) for everything else."""

    def __init__(self, app: ASGIApp, operations: dict[tuple[str, str], Operation]) -> None:
        self.app = app
        self.operations = operations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation = None
        if scope["type"] == "http" and not scope.get("query_string"):
            operation = self.operations.get((scope["method"], scope["path"]))
        if operation is None:
            await self.app(scope, receive, send)
            return
        authorization = _header(scope, b"authorization")
        token_info = _token_info(operation, authorization)
        if token_info is None:
            await self.app(scope, receive, send)
            return
        arguments: dict[str, Any] = {}
        if operation.body is not None:
            raw = b""
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                raw += message.get("body", b"")
                more = message.get("more_body", False)
            body = None
            if (_header(scope, b"content-type") or b"").lower() in _JSON_TYPES:
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    body = None
            if body is None or not operation.body(body):
                await self.app(scope, _replay(raw, receive), send)
                return
            arguments["body"] = body
        arguments["user"] = token_info.get("sub", token_info.get("uid"))  # as Connexion's security does
        arguments["token_info"] = token_info
        await self._answer(operation, scope, receive, send, arguments, authorization)

    async def _answer(
        self,
        operation: Operation,
        scope: Scope,
        receive: Receive,
        send: Send,
        arguments: dict[str, Any],
        authorization: bytes | None,
    ) -> None:
        _scope.set(scope)
        _receive.set(receive)
        _context.set({"user": arguments["user"], "token_info": arguments["token_info"]})
        try:
            answer, status = await operation.handler(
                **{name: value for name, value in arguments.items() if name in operation.arguments}
            )
            payload = orjson.dumps(answer) + b"\n"
            response = operation.responses.get(str(status)) or operation.responses.get("default")
            if response is not None and response.schema is not None and response.is_valid is not None:
                sent = orjson.loads(payload)
                if not response.is_valid(sent):  # Connexion's validator decides, and words the error
                    JSONResponseBodyValidator(scope, schema=response.schema, encoding="utf-8")._validate(sent)
        except Exception as exc:  # as the app's error handlers do for Connexion
            tracking_id = scope.get("state", {}).get("mock_server", None)
            tracking_id = tracking_id.tracking_id if tracking_id is not None else new_tracking_id()
            error = to_api_error(exc, authorization.decode("latin-1") if authorization else None, tracking_id)
            status, payload = error.status_code, render(error, tracking_id)
        headers = [*_HEADERS, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
