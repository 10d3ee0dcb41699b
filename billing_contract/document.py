"""The OpenAPI document as a contract: its operations, statuses and error bodies, and what any deployment must keep.

The document gives 401 and 500 the mock's error body; the reference page of the
real API gives them no body at all. So against any target but the mock, those two
answers are judged by their status only (:data:`MOCK_ONLY_BODIES`).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["MAX_REFERENCES", "METHODS", "MOCK_ONLY_BODIES", "BadReference", "Document", "follow", "pointed"]

MOCK_ONLY_BODIES = ("401", "500")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
MAX_REFERENCES = 64
"""The longest chain of ``$ref`` followed from one node: past it, a cycle or a hostile document."""


class BadReference(ValueError):
    """A ``$ref`` that is not local (``#/...``), names nothing, or chains past :data:`MAX_REFERENCES`."""


def pointed(root: Any, ref: str) -> Any:
    """The node the local reference ``ref`` (``#/components/schemas/A``, JSON Pointer escapes read) names, or
    None."""
    node = root
    for part in ref.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part) if isinstance(node, dict) else None
    return node


def follow(root: Any, node: Any) -> Any:
    """``node`` with its chain of local ``$ref`` followed in the document ``root``. Raises :class:`BadReference`."""
    for _ in range(MAX_REFERENCES):
        if not isinstance(node, dict) or "$ref" not in node:
            return node
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise BadReference(f"the reference {str(ref)[:80]!r} is not local to the document (#/...)")
        node = pointed(root, ref)
        if node is None:
            raise BadReference(f"the reference {ref[:80]!r} names nothing in the document")
    raise BadReference(f"references chain more than {MAX_REFERENCES} times")


class Document:
    """The raw document as a run uses it: the mock's promises taken out unless the target is the mock."""

    def __init__(self, raw: dict[str, Any], *, mock: bool) -> None:
        self.raw = raw if mock else _without_mock_bodies(raw)
        self.mock = mock

    def operations(self) -> dict[str, dict[str, Any]]:
        """``"GET /path"`` -> the operation's responses, with ``$ref`` resolved one level."""
        found = {}
        for path, item in self.raw.get("paths", {}).items():
            for method, operation in item.items():
                if method in METHODS and isinstance(operation, dict):
                    responses = {str(code): self._resolve(r) for code, r in operation.get("responses", {}).items()}
                    found[f"{method.upper()} {path}"] = responses
        return found

    def statuses(self) -> dict[str, list[str]]:
        return {name: sorted(responses) for name, responses in self.operations().items()}

    def error_bodies(self) -> dict[str, set[int]]:
        """Per operation, the 4xx/5xx statuses whose answer the document gives a JSON body."""
        return {
            name: {int(code) for code, response in responses.items() if code[0] in "45" and response.get("content")}
            for name, responses in self.operations().items()
        }

    def _resolve(self, node: Any) -> Any:
        return follow(self.raw, node)


def _without_mock_bodies(raw: dict[str, Any]) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    document = Document(raw, mock=True)
    for item in raw.get("paths", {}).values():
        for method, operation in item.items():
            if method not in METHODS or not isinstance(operation, dict):
                continue
            for code in MOCK_ONLY_BODIES:
                if code in operation.get("responses", {}):
                    response = document._resolve(operation["responses"][code])
                    operation["responses"][code] = {"description": response.get("description", code)}
    return raw
