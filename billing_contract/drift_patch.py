"""The undocumented facts of a drift report as a change to the document: a unified diff that only adds.

:func:`drift_patch` reads the facts' pointers (:mod:`.undocumented`) and adds, where each
belongs: a field to its object's ``properties`` with the JSON types seen (``nullable`` in
OpenAPI 3.0, a ``"null"`` type in 3.1), an enum value to its ``enum``, a status to the
operation's ``responses`` (with the documented error schema when its body fits it, else a
schema of the JSON type seen), a media type to the response's ``content``, a header to its
``headers``. Nothing is removed or rewritten: each addition is text inserted after the last
line of the mapping or list it extends, at that mapping's indentation (inside the brackets
of one written in flow style), so the rest of the document keeps its formatting, comments
included. Applying the diff makes those answers conform.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .media import is_json

__all__ = ["drift_patch"]

SEEN = "Seen from the deployment (mock-server drift-patch): describe it."
_ORDER = ("status", "mediaType", "header", "field", "enum")


def _parts(pointer: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]


def _schema(types: list[str], v31: bool) -> dict[str, Any]:
    kinds = [kind for kind in types if kind != "null"]
    if "integer" in kinds and "number" in kinds:
        kinds.remove("integer")
    schema: dict[str, Any] = {"type": kinds[0]} if len(kinds) == 1 else {}
    if "null" in types:
        if v31:
            schema["type"] = [*kinds[:1], "null"] if len(kinds) <= 1 else schema.get("type")
        else:
            schema["nullable"] = True
    return {key: value for key, value in schema.items() if value is not None}


def _addition(fact: dict[str, Any], data: Any, v31: bool) -> tuple[list[str], Any] | None:
    """Where (the pointer's parts and the key added) and what: a mapping entry, or ``[value]`` for a list."""
    kind, where = fact["kind"], _parts(fact["where"])
    if kind == "field":
        name = fact["path"].rpartition(".")[2].removesuffix("[]")
        return [*where, "properties", name], _schema(fact["types"], v31)
    if kind == "enum":
        return [*where, "enum"], [json.loads(fact["value"])]
    if kind == "header":
        name = "-".join(word.capitalize() for word in fact["name"].split("-"))
        return [*where, "headers", name], {"description": SEEN, "schema": {"type": "string"}}
    if kind == "mediaType":
        documented = [body for media, body in _content(data, where).items() if is_json(media.lower())]
        json_schema = documented[0].get("schema") if documented and is_json(fact["mediaType"]) else None
        return [*where, "content", fact["mediaType"]], {"schema": json_schema or {"type": "string"}}
    if kind == "status":
        entry: dict[str, Any] = {"description": SEEN}
        if fact.get("mediaType"):
            schema = {"$ref": fact["errorSchema"]} if fact.get("errorSchema") else _schema([fact["bodyType"]], v31)
            entry["content"] = {fact["mediaType"]: {"schema": schema}}
        return [*where, fact["status"]], entry
    return None


def _content(data: Any, where: list[str]) -> dict[str, Any]:
    for part in where:
        data = data.get(part) if isinstance(data, dict) else None
    content = data.get("content") if isinstance(data, dict) else None
    return content if isinstance(content, dict) else {}


def _merge(into: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        into = into.setdefault(part, {})
    key = path[-1]
    if isinstance(value, dict) and isinstance(into.get(key), dict):
        for name, item in value.items():
            _merge(into[key], [name], item)
    else:
        into.setdefault(key, value)


def _child(node: Node, part: str) -> Node | None:
    if isinstance(node, MappingNode):
        return next((value for key, value in node.value if isinstance(key, ScalarNode) and key.value == part), None)
    if isinstance(node, SequenceNode) and part.isdigit() and int(part) < len(node.value):
        found: Node = node.value[int(part)]
        return found
    return None


def _line_after(text: str, node: Node) -> int:
    """Where the line after ``node``'s last line starts."""
    while isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        node = node.value[-1][1] if isinstance(node, MappingNode) else node.value[-1]
    at = node.end_mark.index
    if at and text[at - 1] == "\n":
        return at
    newline = text.find("\n", at)
    return len(text) if newline < 0 else newline + 1


def _dump(value: Any, flow: bool) -> str:
    return yaml.safe_dump(value, default_flow_style=True if flow else None, sort_keys=False, width=10**6).strip()


def _insertion(text: str, node: MappingNode | SequenceNode, added: Any) -> tuple[int, int, str]:
    """(offset, indentation, text) that adds ``added`` (a mapping's entries, or a list's items) to ``node``."""
    if node.flow_style or not node.value:
        inner = _dump(added, flow=True)[1:-1]
        close = node.end_mark.index - 1
        return close, 1000, (", " if node.value else "") + inner
    if isinstance(node, MappingNode):
        indent = node.value[0][0].start_mark.column
        lines = _dump(added, flow=False).splitlines()
    else:
        indent = node.start_mark.column
        lines = [f"- {_dump([item], flow=True)[1:-1]}" for item in added]
    at = _line_after(text, node)
    head = "" if at == 0 or text[at - 1] == "\n" else "\n"
    return at, indent, head + "".join(" " * indent + line + "\n" for line in lines)


def drift_patch(text: str, data: Any, report: dict[str, Any], label: str) -> tuple[str, list[str]]:
    """The unified diff (``label`` both sides) of ``text`` (the document; ``data``, as loaded) with the report's
    undocumented facts added, and what could not be placed (the document is not the one reported on)."""
    v31 = str(data.get("openapi", "")).startswith("3.1") if isinstance(data, dict) else False
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    additions: dict[int, tuple[MappingNode | SequenceNode, Any]] = {}
    skipped = []
    facts = [fact for operation in report.get("operations", []) for fact in operation.get("undocumented", [])]
    for fact in sorted(facts, key=lambda found: _ORDER.index(found["kind"]) if found["kind"] in _ORDER else 9):
        found = _addition(fact, data, v31)
        node: Node | None = root
        path = found[0] if found else []
        depth = 0
        while node is not None and depth < len(path) and _child(node, path[depth]) is not None:
            node, depth = _child(node, path[depth]), depth + 1
        if found is None or node is None or (depth == len(path) and not isinstance(found[1], list)):
            continue  # there already
        if isinstance(node, SequenceNode) and isinstance(found[1], list):
            known = [item.value for item in node.value if isinstance(item, ScalarNode)]
            new = [value for value in found[1] if str(value) not in known]
            _, before = additions.get(id(node), (node, []))
            additions[id(node)] = (node, before + [value for value in new if value not in before])
        elif isinstance(node, MappingNode):
            _, tree = additions.get(id(node), (node, {}))
            _merge(tree, path[depth:], found[1])
            additions[id(node)] = (node, tree)
        else:
            skipped.append(f"{fact['kind']} at {fact['where']}: not a place in this document")
    insertions = [_insertion(text, node, added) for node, added in additions.values() if added]
    changed = text
    # From the end; where two meet, the deeper is inserted last, so that it comes first.
    for offset, _, inserted in sorted(insertions, key=lambda insertion: (-insertion[0], insertion[1])):
        changed = changed[:offset] + inserted + changed[offset:]
    diff = difflib.unified_diff(_lines(text), _lines(changed), label, label)
    return "".join(diff), skipped


def _lines(text: str) -> list[str]:
    lines = text.splitlines(True)
    if lines and not lines[-1].endswith("\n"):  # as diff says it, which difflib does not
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines
