"""The OpenAPI document a run tests against, and the part of it any deployment must honour.

``--spec PATH|URL`` names the document; the default is the ``openapi.yaml`` shipped
with the package. Nothing here imports ``mock_server``: a remote target needs none of it.

What any deployment must keep of it is :class:`billing_contract.document.Document`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
import yaml

from billing_contract.document import METHODS, MOCK_ONLY_BODIES, Document

__all__ = ["DEFAULT_SPEC", "METHODS", "MOCK_ONLY_BODIES", "DocumentError", "Document", "active", "load"]

_ROOT = Path(__file__).resolve().parent.parent
# In a checkout, the openapi.yaml beside the package; installed, the copy the wheel carries as package data
# (read as a file: nothing of mock_server is imported).
_CANDIDATES = (_ROOT / "openapi.yaml", _ROOT / "mock_server" / "data" / "openapi.yaml")
DEFAULT_SPEC = next((path for path in _CANDIDATES if path.is_file()), _CANDIDATES[0])


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


def load(source: str | None, *, timeout: float = 10.0) -> dict[str, Any]:
    text = _read(source or str(DEFAULT_SPEC), timeout)
    try:
        raw = yaml.safe_load(text)
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
