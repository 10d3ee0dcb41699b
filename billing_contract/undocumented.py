"""What one answer carries that the document does not name: fields, enum values, statuses, media types, headers.

:class:`Undocumented` reads the document once (the whole of it: the mock's own promises
included, as a change to it is what :mod:`.drift_patch` suggests) and, per answer,
:meth:`Undocumented.facts` walks the body against the schema of its status and media type,
through ``$ref``, ``allOf`` (the properties of every part), ``oneOf``/``anyOf`` (the part
that fits best), array items and ``additionalProperties`` (a schema there documents any
key). An object schema without ``properties`` is free-form: its keys are not facts, nor is
anything under an undocumented field. Each fact says where in the document it belongs
(a JSON Pointer), so a patch can add it there. Bounded: at most :data:`MAX_KEYS` keys of an
object and :data:`MAX_ITEMS` items of an array are read, :data:`MAX_DEPTH` levels deep.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from .document import METHODS, pointed
from .media import is_json, media_type

__all__ = ["STANDARD_HEADERS", "Fact", "Undocumented", "json_type", "pointer_to"]

MAX_KEYS = 200
MAX_ITEMS = 20
MAX_DEPTH = 32
MAX_NAME = 100  # characters of a field name or enum value kept
STANDARD_HEADERS = frozenset(
    {
        "age", "allow", "cache-control", "connection", "content-disposition", "content-encoding",
        "content-language", "content-length", "content-location", "content-security-policy", "content-type",
        "date", "etag", "expires", "keep-alive", "last-modified", "link", "location", "pragma",
        "proxy-authenticate", "referrer-policy", "retry-after", "server", "set-cookie",
        "strict-transport-security", "te", "trailer", "transfer-encoding", "upgrade", "vary", "via",
        "www-authenticate", "x-content-type-options", "x-frame-options", "x-xss-protection",
    }
)  # fmt: skip
"""Headers HTTP (RFC 9110 and its kin) or any web server sends: never reported as undocumented."""


class Fact(NamedTuple):
    """One thing the document does not name. ``kind``: field, enum, status, mediaType or header; ``where``:
    the JSON Pointer of the document node it belongs in; ``name``: the field's path (``$.a.b``, ``$.list[]``),
    the header's name, the enum value (as JSON text), or the media type."""

    kind: str
    status: str
    media_type: str
    name: str
    where: str


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def pointer_to(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


class Undocumented:
    """The document's responses per operation, read once; :meth:`facts` of one answer."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.responses: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for path, item in (raw.get("paths") or {}).items():
            for method, operation in (item or {}).items():
                if method in METHODS and isinstance(operation, dict):
                    where = pointer_to("paths", path, method, "responses")
                    self.responses[(method.upper(), path)] = (operation.get("responses") or {}, where)

    def deref(self, node: Any, where: str) -> tuple[Any, str]:
        """``node`` with its ``$ref`` chain followed (local references only), and where it is."""
        for _ in range(MAX_DEPTH):
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#/"):
                break
            node, where = pointed(self.raw, ref), ref[1:]
        return node, where

    def response(self, method: str, path: str, status: int) -> tuple[dict[str, Any], str] | None:
        """The response the document gives ``status`` (or its range, or ``default``), and where it is."""
        found = self.responses.get((method, path))
        if found is None:
            return None
        responses, where = found
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in responses:
                node, at = self.deref(responses[key], where + pointer_to(key))
                return (node if isinstance(node, dict) else {}), at
        return None

    def facts(
        self, method: str, path: str, status: int, headers: Iterable[tuple[str, str]], data: Any, has_body: bool
    ) -> dict[Fact, Any]:
        """The facts of one answer, each with the value it was seen with (a field's or an enum's), else None.
        ``data``: the body parsed as JSON (``has_body`` false: none, or not read)."""
        found = self.responses.get((method, path))
        if found is None:
            return {}
        kind = ""
        names = []
        for name, value in headers:
            name = name.lower()
            if name == "content-type":
                kind = media_type(value)[0]
            names.append(name)
        code = str(status)
        facts: dict[Fact, Any] = {}
        response: dict[str, Any]
        answer = self.response(method, path, status)
        if answer is None:  # the status, and its headers, under the status the patch adds
            facts[Fact("status", code, kind if has_body else "", code, found[1])] = data
            response, where = {}, found[1] + pointer_to(code)
        else:
            response, where = answer
        declared = {str(name).lower() for name in response.get("headers") or {}}
        for name in names:
            if name not in STANDARD_HEADERS and name not in declared and not name.startswith("access-control-"):
                facts[Fact("header", code, "", name[:MAX_NAME], where)] = None
        content = response.get("content") or {}
        if answer is None or not has_body or not kind:
            return facts
        media = next((m for m in content if media_type(m)[0] in (kind, "*/*", kind.partition("/")[0] + "/*")), None)
        if media is None:
            facts[Fact("mediaType", code, kind, kind, where)] = None
            return facts
        schema = content[media].get("schema") if isinstance(content[media], dict) else None
        if schema is not None and is_json(kind) and data is not None:
            _Walk(self, code, kind, facts).walk(schema, where + pointer_to("content", media, "schema"), data, "$", 0)
        return facts

    def error_schema(self, method: str, path: str) -> tuple[Any, str] | None:
        """The schema of the operation's first 4xx/5xx JSON answer (its ``$ref`` kept), and where it is."""
        responses, where = self.responses.get((method, path), ({}, ""))
        for code in sorted(str(code) for code in responses):
            response, at = self.deref(responses[code], where + pointer_to(code))
            for media, body in ((response or {}).get("content") or {}).items() if code[0] in "45" else ():
                if is_json(media_type(media)[0]) and isinstance(body, dict) and "schema" in body:
                    return body["schema"], at + pointer_to("content", media, "schema")
        return None

    def fits(self, schema: Any, where: str, data: Any) -> bool:
        """Whether ``data`` is an object with the keys ``schema`` requires and none it does not name."""
        node, where = self.deref(schema, where)
        if not isinstance(data, dict) or not isinstance(node, dict):
            return False
        facts: dict[Fact, Any] = {}
        _Walk(self, "", "", facts).walk(node, where, data, "$", 0)
        return not facts and all(name in data for name in node.get("required") or ())


class _Walk:
    def __init__(self, doc: Undocumented, status: str, kind: str, facts: dict[Fact, Any]) -> None:
        self.doc, self.status, self.kind, self.facts = doc, status, kind, facts

    def walk(self, node: Any, where: str, value: Any, path: str, depth: int) -> None:
        node, where = self.doc.deref(node, where)
        if not isinstance(node, dict) or depth > MAX_DEPTH:
            return
        for key in ("oneOf", "anyOf"):
            if isinstance(node.get(key), list) and node[key]:
                part, at = self._best(node[key], where + "/" + key, value)
                self.walk(part, at, value, path, depth + 1)
                return
        enum = node.get("enum")
        if isinstance(enum, list) and value is not None and not isinstance(value, dict | list):
            if not any(type(known) is type(value) and known == value for known in enum):
                text = value if isinstance(value, str) else repr(value).lower()
                self.facts[Fact("enum", self.status, self.kind, f"{path}={text[:MAX_NAME]}", where)] = value
        if isinstance(value, dict):
            self._object(node, where, value, path, depth)
        elif isinstance(value, list):
            items = node.get("items")
            for item in value[:MAX_ITEMS]:
                self.walk(items, where + "/items", item, path + "[]", depth + 1)

    def _object(self, node: dict[str, Any], where: str, value: dict[str, Any], path: str, depth: int) -> None:
        properties: dict[str, tuple[Any, str]] = {}
        extra: tuple[Any, str] | None = None
        closed = False
        for part, at in self._parts(node, where, 0):
            for name, schema in (part.get("properties") or {}).items():
                properties.setdefault(name, (schema, at + pointer_to("properties", name)))
            more = part.get("additionalProperties")
            if isinstance(more, dict) and extra is None:
                extra = (more, at + "/additionalProperties")
            closed |= more is False
        if not properties and not closed and extra is None:
            return  # free-form
        for name, item in list(value.items())[:MAX_KEYS]:
            inner = f"{path}.{name[:MAX_NAME]}"
            if name in properties:
                self.walk(*properties[name], item, inner, depth + 1)
            elif extra is not None:
                self.walk(extra[0], extra[1], item, inner, depth + 1)
            else:
                self.facts[Fact("field", self.status, self.kind, inner, where)] = item

    def _parts(self, node: dict[str, Any], where: str, depth: int) -> list[tuple[dict[str, Any], str]]:
        """``node`` and, through ``allOf``, every part it is made of."""
        found = [(node, where)]
        for index, part in enumerate(node.get("allOf") or [] if depth < MAX_DEPTH else []):
            part, at = self.doc.deref(part, f"{where}/allOf/{index}")
            if isinstance(part, dict):
                found += self._parts(part, at, depth + 1)
        return found

    def _best(self, parts: list[Any], where: str, value: Any) -> tuple[Any, str]:
        """The part of a ``oneOf``/``anyOf`` that fits ``value`` best: of its type, naming most of its keys."""
        scored = []
        for index, part in enumerate(parts):
            part, at = self.doc.deref(part, f"{where}/{index}")
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            fits = kind is None or kind == json_type(value) or (kind == "number" and json_type(value) == "integer")
            known = sum(
                name in value for p, _ in self._parts(part, at, 0) for name in p.get("properties") or {}
            ) if isinstance(value, dict) else 0  # fmt: skip
            scored.append((fits, known, -index, part, at))
        if not scored:
            return None, where
        best = max(scored, key=lambda score: score[:3])
        return best[3], best[4]
