"""The OpenAPI document a run tests against, and the part of it any deployment must honour.

``--spec PATH|URL`` names the document; the default is the ``openapi.yaml`` shipped
with the package. Nothing here imports ``mock_server``: a remote target needs none of it.

The document gives 401 and 500 the mock's error body; the reference page of the
real API gives them no body at all. So against any target but the mock in-process,
those two answers are checked for their status only (``MOCK_ONLY_BODIES``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import requests
import yaml

from billing_contract import bounded_yaml

__all__ = ["DEFAULT_SPEC", "MOCK_ONLY_BODIES", "DocumentError", "Document", "active", "load"]

_ROOT = Path(__file__).resolve().parent.parent
# In a checkout, the openapi.yaml beside the package; installed, the copy the wheel carries as package data
# (read as a file: nothing of mock_server is imported).
_CANDIDATES = (_ROOT / "openapi.yaml", _ROOT / "mock_server" / "data" / "openapi.yaml")
DEFAULT_SPEC = next((path for path in _CANDIDATES if path.is_file()), _CANDIDATES[0])
MOCK_ONLY_BODIES = ("401", "500")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class DocumentError(RuntimeError):
    """The document cannot be read or is not an OpenAPI document; the message names it."""


def _read(source: str, timeout: float) -> str:
    if source.startswith(("http://", "https://")):
        try:
            answer = requests.get(source, timeout=timeout)
        except requests.RequestException as exc:
            raise DocumentError(f"cannot fetch --spec {source}: {type(exc).__name__}") from None
        if answer.status_code != 200:
            raise DocumentError(f"--spec {source} answered {answer.status_code}")
        return answer.text
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        what = f"--spec {source}" if source != str(DEFAULT_SPEC) else f"the default document {source} (give --spec)"
        raise DocumentError(f"cannot read {what}: {exc.strerror}") from None


class Document:
    """The raw document as the run uses it: the mock's promises taken out unless the target is the mock."""

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


def load(source: str | None, *, timeout: float = 10.0) -> dict[str, Any]:
    text = _read(source or str(DEFAULT_SPEC), timeout)
    try:
        raw = bounded_yaml.load(text)
    except yaml.YAMLError as exc:
        raise DocumentError(f"--spec {source or DEFAULT_SPEC} is not YAML or JSON: {exc}") from None
    if not isinstance(raw, dict) or "openapi" not in raw or not isinstance(raw.get("paths"), dict):
        raise DocumentError(f"--spec {source or DEFAULT_SPEC} is not an OpenAPI 3 document")
    return raw


# Schemathesis parametrizes test_operations at import, which pytest does after the session starts:
# the plugin puts the run's document here first (each run replaces it).
_ACTIVE: dict[str, Document] = {}


def active(document: Document | None = None) -> Document:
    if document is not None:
        _ACTIVE["document"] = document
    return _ACTIVE["document"]
