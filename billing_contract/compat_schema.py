"""How one schema changed between two documents, judged by the side that sends what it describes.

A client sends a request and reads an answer, so the same change breaks it on one side and not
on the other: a request schema that accepts less (a value left out of an enum, a lower
``maxLength``, a field made required) refuses what a client sent yesterday; an answer schema
that allows more (an enum value added, a field made optional or nullable) hands a client what it
was never told to read. Each rule is one small function ``(old, new, side)`` yielding
``(breaking, what)``; :func:`compare` walks properties, items and the combined schemas, with both
documents' ``$ref`` resolved, and stops on a cycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from .document import BadReference, follow

__all__ = ["REQUEST", "RESPONSE", "SCHEMA_RULES", "Change", "CompatError", "Walk", "child"]

REQUEST, RESPONSE = "request", "response"
Finding = tuple[bool, str]
Rule = Callable[[dict[str, Any], dict[str, Any], str], Iterator[Finding]]
_UPPER = ("maximum", "maxLength", "maxItems", "maxProperties")
_LOWER = ("minimum", "minLength", "minItems", "minProperties")
_IDENTIFIER = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
MAX_SCHEMAS = 100_000
"""Schema pairs one comparison may visit (references shared in a diamond repeat their targets)."""
MAX_DEPTH = 64


class Change(NamedTuple):
    breaking: bool
    path: str
    what: str


class CompatError(ValueError):
    """A document that cannot be compared (a reference to nothing, too many schemas): one line."""


def child(path: str, key: object) -> str:
    """``path`` one key down, as JSONPath writes it: ``$.paths["/billing"].post``."""
    text = str(key)
    if text and set(text) <= _IDENTIFIER and not text[0].isdigit():
        return f"{path}.{text}"
    return f"{path}[{json.dumps(text)}]"


def _shown(values: Any) -> str:
    return ", ".join(json.dumps(value, default=str) for value in values)


def _widened(before: Any, after: Any, side: str) -> bool:
    """integer -> number takes more in a request; number -> integer sends less in an answer."""
    return (before, after) == (("integer", "number") if side == REQUEST else ("number", "integer"))


def type_format_or_pattern_changed(old: dict[str, Any], new: dict[str, Any], side: str) -> Iterator[Finding]:
    """A type, format or pattern added narrows what a request may be; removed, widens what an answer may be;
    changed, both (but a type widened on its side)."""
    for name in ("type", "format", "pattern"):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if before is None:
            yield side == REQUEST, f"{name} {after} added"
        elif after is None:
            yield side == RESPONSE, f"{name} {before} removed"
        else:
            yield not (name == "type" and _widened(before, after, side)), f"{name} changed from {before} to {after}"


def nullable_changed(old: dict[str, Any], new: dict[str, Any], side: str) -> Iterator[Finding]:
    before, after = bool(old.get("nullable")), bool(new.get("nullable"))
    if before != after:
        yield (side == RESPONSE) == after, "made nullable" if after else "no longer nullable"


def enum_changed(old: dict[str, Any], new: dict[str, Any], side: str) -> Iterator[Finding]:
    before, after = old.get("enum"), new.get("enum")
    if before == after:
        return
    if not isinstance(before, list) or not isinstance(after, list):
        if isinstance(after, list):
            yield side == REQUEST, f"now limited to the enum {_shown(after)}"
        else:
            yield side == RESPONSE, "enum removed: any value may come"
        return
    removed = [value for value in before if value not in after]
    added = [value for value in after if value not in before]
    if removed:
        yield side == REQUEST, f"enum value {_shown(removed)} removed"
    if added:
        yield side == RESPONSE, f"enum value {_shown(added)} added"


def bounds_changed(old: dict[str, Any], new: dict[str, Any], side: str) -> Iterator[Finding]:
    """A bound the request must meet made stricter, or a bound the answer kept made looser."""
    for names, upper in ((_UPPER, True), (_LOWER, False)):
        for name in names:
            before, after = old.get(name), new.get(name)
            if before == after or not all(isinstance(v, int | float | None) for v in (before, after)):
                continue
            if before is None:
                what = f"{name} {after} added"
            elif after is None:
                what = f"{name} {before} removed"
            else:
                what = f"{name} changed from {before} to {after}"
            narrowed = before is None or (after is not None and (after < before if upper else after > before))
            yield narrowed == (side == REQUEST), what


def closed(old: dict[str, Any], new: dict[str, Any], side: str) -> Iterator[Finding]:
    """A request object that took other fields and no longer does."""
    if side == REQUEST and old.get("additionalProperties", True) is not False:
        if new.get("additionalProperties", True) is False:
            yield True, "additionalProperties: false: fields beyond the listed ones are refused"


SCHEMA_RULES: tuple[Rule, ...] = (
    type_format_or_pattern_changed,
    nullable_changed,
    enum_changed,
    bounds_changed,
    closed,
)


def property_changes(old: dict[str, Any], new: dict[str, Any], side: str) -> Iterator[tuple[str, Finding]]:
    """Per field name: a field removed or added, made required or optional."""
    old_required, new_required = _required(old), _required(new)
    before = [*_properties(old), *sorted(old_required - set(_properties(old)))]  # required, yet not described
    after = [*_properties(new), *sorted(new_required - set(_properties(new)))]
    for name in before:
        if name not in after:
            yield name, (side == RESPONSE, f"{side} field removed")
    for name in after:
        required = name in new_required
        if name not in before:
            what = f"new {'required' if required else 'optional'} {side} field"
            yield name, (side == REQUEST and required, what)
        elif required and name not in old_required:
            yield name, (side == REQUEST, f"{side} field made required")
        elif not required and name in old_required:
            yield name, (side == RESPONSE, f"{side} field made optional")


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    found = schema.get("properties")
    return found if isinstance(found, dict) else {}


def _required(schema: dict[str, Any]) -> set[str]:
    found = schema.get("required")
    return {name for name in found if isinstance(name, str)} if isinstance(found, list) else set()


class Walk:
    """One comparison of two documents: their references, the changes found, a bound on the work."""

    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.documents = (old, new)
        self.changes: list[Change] = []
        self._visited = 0

    def add(self, path: str, breaking: bool, what: str) -> None:
        self.changes.append(Change(breaking, path, what))

    def resolve(self, node: Any, which: int) -> Any:
        """``node`` with its local ``$ref`` followed (in the old document: 0, the new: 1)."""
        try:
            return follow(self.documents[which], node)
        except BadReference as exc:
            raise CompatError(str(exc)) from None

    def compare(self, old: Any, new: Any, path: str, side: str, stack: tuple[tuple[int, int], ...] = ()) -> None:
        """Every change from the schema ``old`` to ``new`` at ``path``, read as ``side`` sends it."""
        old, new = self.resolve(old, 0), self.resolve(new, 1)
        if not isinstance(old, dict) or not isinstance(new, dict) or (id(old), id(new)) in stack:
            return
        self._visited += 1
        if self._visited > MAX_SCHEMAS or len(stack) > MAX_DEPTH:
            raise CompatError(f"the documents hold more than {MAX_SCHEMAS:,} schemas to compare, or nest too deep")
        stack = (*stack, (id(old), id(new)))
        for rule in SCHEMA_RULES:
            for breaking, what in rule(old, new, side):
                self.add(path, breaking, what)
        for name, (breaking, what) in property_changes(old, new, side):
            self.add(child(child(path, "properties"), name), breaking, what)
        for name, schema in _properties(old).items():
            if name in _properties(new):
                self.compare(schema, _properties(new)[name], child(child(path, "properties"), name), side, stack)
        for key in ("items", "additionalProperties", "not"):
            if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
                self.compare(old[key], new[key], child(path, key), side, stack)
        self._combined(old, new, path, side, stack)

    def _combined(self, old: dict[str, Any], new: dict[str, Any], path: str, side: str, stack: Any) -> None:
        """allOf / anyOf / oneOf, member by member; more alternatives widen, fewer narrow."""
        for key in ("allOf", "anyOf", "oneOf"):
            before, after = old.get(key) or [], new.get(key) or []
            if not isinstance(before, list) or not isinstance(after, list):
                continue
            where = child(path, key)
            if len(before) != len(after):
                if key == "allOf":
                    self.add(where, True, f"allOf went from {len(before)} to {len(after)} schemas")
                else:
                    wider = len(after) > len(before)
                    self.add(where, wider == (side == RESPONSE), f"{len(before)} -> {len(after)} alternatives")
            for index, (one, other) in enumerate(zip(before, after, strict=False)):
                self.compare(one, other, f"{where}[{index}]", side, stack)
