"""The OpenAPI document as a contract: its operations, statuses and error bodies, and what any deployment must keep.

The document gives 401 and 500 the mock's error body; the reference page of the
real API gives them no body at all. So against any target but the mock, those two
answers are judged by their status only (:data:`MOCK_ONLY_BODIES`).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["METHODS", "MOCK_ONLY_BODIES", "Document"]

MOCK_ONLY_BODIES = ("401", "500")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


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
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.raw
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node


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
