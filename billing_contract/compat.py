"""Every difference between two versions of an OpenAPI document, classed as breaking or not for its clients.

:func:`compare` takes the two documents as loaded (dicts) and returns one :class:`Change` per
difference, each with the JSONPath of where it is (through the operation, references resolved):
operations, parameters, request bodies, statuses, media types, response headers, security, and
the schemas on each side (:mod:`.compat_schema`). The rule set follows oasdiff's: what a client
built on the old document sends must still be taken, and what it reads must still be what it
was told. Descriptions, summaries and examples are not compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .compat_schema import REQUEST, RESPONSE, Change, CompatError, Walk, child
from .document import METHODS

__all__ = ["Change", "CompatError", "compare"]

_SCHEME_FIELDS = ("type", "scheme", "in", "name", "bearerFormat", "openIdConnectUrl", "flows")


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The changes from ``old`` to ``new``; raises :class:`CompatError` on a document that cannot be walked."""
    walk = Walk(old, new)
    old_paths, new_paths = _mapping(old.get("paths")), _mapping(new.get("paths"))
    for path, item in old_paths.items():
        for method in _operations(item):
            if path not in new_paths or method not in _operations(new_paths[path]):
                walk.add(child(child("$.paths", path), method), True, "operation removed")
    for path, item in new_paths.items():
        for method, operation in _operations(item).items():
            where = child(child("$.paths", path), method)
            if path not in old_paths or method not in _operations(old_paths[path]):
                walk.add(where, False, "operation added")
                continue
            before = old_paths[path]
            _operation(walk, (before, _operations(before)[method]), (item, operation), where)
    _schemes(walk, old, new)
    return walk.changes


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _operations(item: Any) -> dict[str, dict[str, Any]]:
    return {method: op for method, op in _mapping(item).items() if method in METHODS and isinstance(op, dict)}


def _operation(walk: Walk, old: tuple[dict[str, Any], Any], new: tuple[dict[str, Any], Any], where: str) -> None:
    (old_item, before), (new_item, after) = old, new
    if before.get("operationId") != after.get("operationId") and before.get("operationId"):
        what = f"operationId changed from {before['operationId']} to {after.get('operationId')}"
        walk.add(child(where, "operationId"), True, what + " (generated clients name their methods after it)")
    _parameters(walk, _declared(walk, 0, old_item, before), _declared(walk, 1, new_item, after), where)
    _request_body(walk, walk.resolve(before.get("requestBody"), 0), walk.resolve(after.get("requestBody"), 1), where)
    _responses(walk, _mapping(before.get("responses")), _mapping(after.get("responses")), child(where, "responses"))
    _security(walk, _effective(walk, 0, before), _effective(walk, 1, after), child(where, "security"))


def _declared(walk: Walk, which: int, item: dict[str, Any], operation: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """The operation's parameters by (in, name), the path item's first and the operation's over them."""
    found: dict[tuple[str, str], Any] = {}
    for source in (item.get("parameters"), operation.get("parameters")):
        for parameter in source if isinstance(source, list) else []:
            parameter = walk.resolve(parameter, which)
            if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
                place = str(parameter.get("in"))
                name = parameter["name"].lower() if place == "header" else parameter["name"]
                found[(place, name)] = parameter
    return found


def _parameters(walk: Walk, before: dict[Any, Any], after: dict[Any, Any], where: str) -> None:
    for (place, name), parameter in after.items():
        at = child(child(where, "parameters"), f"{place}:{parameter['name']}")
        required = bool(parameter.get("required"))
        if (place, name) not in before:
            walk.add(at, required, f"new {'required' if required else 'optional'} {place} parameter")
            continue
        old = before[(place, name)]
        if required != bool(old.get("required")):
            walk.add(at, required, "parameter made required" if required else "parameter made optional")
        walk.compare(old.get("schema"), parameter.get("schema"), child(at, "schema"), REQUEST)
    for (place, name), parameter in before.items():
        if (place, name) not in after:
            at = child(child(where, "parameters"), f"{place}:{parameter['name']}")
            walk.add(at, False, f"{place} parameter removed (a client that sends it is not refused for it)")


def _request_body(walk: Walk, before: Any, after: Any, where: str) -> None:
    at = child(where, "requestBody")
    before, after = _mapping(before), _mapping(after)
    if not before and not after:
        return
    required = bool(after.get("required"))
    if not before:
        walk.add(at, required, f"new {'required' if required else 'optional'} request body")
        return
    if not after:
        walk.add(at, True, "request body removed: a client that sends one sends what is no longer documented")
        return
    if required and not before.get("required"):
        walk.add(at, True, "request body made required")
    elif not required and before.get("required"):
        walk.add(at, False, "request body made optional")
    _media(walk, _mapping(before.get("content")), _mapping(after.get("content")), child(at, "content"), REQUEST)


def _media(walk: Walk, before: dict[str, Any], after: dict[str, Any], where: str, side: str) -> None:
    for kind, content in after.items():
        at = child(where, kind)
        if kind not in before:
            walk.add(at, False, f"{side} media type added")
        else:
            walk.compare(
                _mapping(before[kind]).get("schema"), _mapping(content).get("schema"), child(at, "schema"), side
            )
    for kind in before:
        if kind not in after:
            walk.add(child(where, kind), True, f"{side} media type removed")


def _responses(walk: Walk, before: dict[str, Any], after: dict[str, Any], where: str) -> None:
    for status in before:
        if status not in after:
            walk.add(child(where, status), True, f"response status {status} removed")
    for status, response in after.items():
        at = child(where, status)
        if status not in before:
            walk.add(at, False, f"response status {status} added")
            continue
        old, new = _mapping(walk.resolve(before[status], 0)), _mapping(walk.resolve(response, 1))
        _media(walk, _mapping(old.get("content")), _mapping(new.get("content")), child(at, "content"), RESPONSE)
        old_headers, new_headers = _mapping(old.get("headers")), _mapping(new.get("headers"))
        for name in old_headers:
            if name.lower() not in {other.lower() for other in new_headers}:
                walk.add(child(child(at, "headers"), name), True, "response header removed")
        for name in new_headers:
            if name.lower() not in {other.lower() for other in old_headers}:
                walk.add(child(child(at, "headers"), name), False, "response header added")


def _effective(walk: Walk, which: int, operation: dict[str, Any]) -> list[dict[str, list[str]]]:
    """The security requirements of ``operation`` (its own, else the document's): a list of alternatives."""
    found = operation.get("security", walk.documents[which].get("security", []))
    alternatives = found if isinstance(found, list) else []
    return [
        {
            str(name): sorted(str(scope) for scope in scopes) if isinstance(scopes, list) else []
            for name, scopes in a.items()
        }
        for a in alternatives
        if isinstance(a, dict)
    ]


def _accepts(alternative: dict[str, list[str]], client: dict[str, list[str]]) -> bool:
    """Whether a client that meets ``client`` meets ``alternative`` too (needs nothing more)."""
    return all(name in client and set(scopes) <= set(client[name]) for name, scopes in alternative.items())


def _security(walk: Walk, before: list[dict[str, list[str]]], after: list[dict[str, list[str]]], where: str) -> None:
    if not before and not after:
        return
    refused = [client for client in before or [{}] if not any(_accepts(other, client) for other in after or [{}])]
    for client in refused:  # before or [{}]: no requirement is a client that sends no credential
        shown = " + ".join(f"{name}{list(scopes) if scopes else ''}" for name, scopes in client.items()) or "none"
        walk.add(where, True, f"a client authenticating with {shown} now needs more")
    for alternative in [] if refused else after:
        if alternative not in before:
            walk.add(where, False, f"security alternative {' + '.join(alternative) or 'none'} added")


def _schemes(walk: Walk, old: dict[str, Any], new: dict[str, Any]) -> None:
    where = "$.components.securitySchemes"
    before = _mapping(_mapping(old.get("components")).get("securitySchemes"))
    after = _mapping(_mapping(new.get("components")).get("securitySchemes"))
    for name, scheme in before.items():
        if name not in after:
            walk.add(child(where, name), True, "security scheme removed")
            continue
        old_scheme, new_scheme = _mapping(walk.resolve(scheme, 0)), _mapping(walk.resolve(after[name], 1))
        for field in _changed(old_scheme, new_scheme):
            walk.add(child(child(where, name), field), True, f"security scheme's {field} changed")
    for name in after:
        if name not in before:
            walk.add(child(where, name), False, "security scheme added")


def _changed(old: dict[str, Any], new: dict[str, Any]) -> Iterator[str]:
    for field in _SCHEME_FIELDS:
        one, other = old.get(field), new.get(field)
        if field == "scheme" and isinstance(one, str) and isinstance(other, str):
            one, other = one.lower(), other.lower()
        if one != other:
            yield field
