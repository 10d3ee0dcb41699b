"""The OpenAPI document a run tests against, and the part of it any deployment must honour.

``--spec PATH|URL`` names the document; the default is the ``openapi.yaml`` shipped
with the package. Nothing here imports ``mock_server``: a remote target needs none of it.

What any deployment must keep of it is :class:`billing_contract.document.Document`.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from billing_contract import bounded_yaml
from billing_contract.document import METHODS, MOCK_ONLY_BODIES, BadReference, Document

from .options import redact_url
from .transport import Exchanger, IncompleteAnswer, Unreachable

__all__ = ["DEFAULT_SPEC", "METHODS", "MOCK_ONLY_BODIES", "DocumentError", "Document", "active", "fetch", "load"]

_ROOT = Path(__file__).resolve().parent.parent
# In a checkout, the openapi.yaml beside the package; installed, the copy the wheel carries as package data
# (read as a file: nothing of mock_server is imported).
_CANDIDATES = (_ROOT / "openapi.yaml", _ROOT / "mock_server" / "data" / "openapi.yaml")
DEFAULT_SPEC = next((path for path in _CANDIDATES if path.is_file()), _CANDIDATES[0])
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024


class DocumentError(RuntimeError):
    """The document cannot be read or is not an OpenAPI document; the message names it."""


def _read(source: str, timeout: float, max_bytes: int) -> str:
    if source.startswith(("http://", "https://")):
        return fetch(source, timeout, max_bytes)
    try:
        path = Path(source)
        if path.stat().st_size > max_bytes:
            raise DocumentError(f"--spec {source} is over {max_bytes} bytes")
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        what = f"--spec {source}" if source != str(DEFAULT_SPEC) else f"the default document {source} (give --spec)"
        raise DocumentError(f"cannot read {what}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DocumentError(f"--spec {source} is not UTF-8") from None


def fetch(url: str, timeout: float, max_bytes: int, what: str = "--spec") -> str:
    """The document at ``url``: one bounded exchange (connect and the whole answer within ``timeout``, at most
    ``max_bytes``); every message names it (``what``) and the URL without its secrets."""
    shown = redact_url(url)
    exchanger = Exchanger(timeout=timeout, max_bytes=max_bytes)
    try:
        answer = exchanger.exchange("GET", url, [("Accept", "application/yaml, application/json, */*")], None)
    except IncompleteAnswer as exc:
        raise DocumentError(f"cannot fetch {what} {shown}: {exc.why}") from None
    except Unreachable as exc:
        raise DocumentError(f"cannot fetch {what} {shown}: {exc}") from None
    except Exception as exc:  # an unusable URL: httpx's own refusal
        raise DocumentError(f"cannot fetch {what} {shown}: {type(exc).__name__}") from None
    finally:
        exchanger.close()
    if answer.status != 200:
        raise DocumentError(f"{what} {shown} answered {answer.status}")
    try:
        return answer.content.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentError(f"{what} {shown} is not UTF-8") from None


def load(source: str | None, *, timeout: float = 10.0, max_bytes: int = MAX_DOCUMENT_BYTES) -> dict[str, Any]:
    """The document ``source`` names (a path or an http(s) URL), as a fresh dict."""
    text = _read(source or str(DEFAULT_SPEC), timeout, max_bytes)
    return copy.deepcopy(_parsed(text, redact_url(source) if source else str(DEFAULT_SPEC)))


@functools.lru_cache(maxsize=4)
def _parsed(text: str, source: str) -> dict[str, Any]:
    """Parsed once per text: a process that runs the suite many times (the project's tests) reads it once."""
    try:
        raw = bounded_yaml.load(text)
    except yaml.YAMLError as exc:
        raise DocumentError(f"--spec {source} is not YAML or JSON: {str(exc)[:300]}") from None
    if not isinstance(raw, dict) or "openapi" not in raw or not isinstance(raw.get("paths"), dict):
        raise DocumentError(f"--spec {source} is not an OpenAPI 3 document")
    try:
        Document(raw, mock=True).operations()  # every operation's answers reachable: no $ref cycle, none dangling
    except BadReference as exc:
        raise DocumentError(f"--spec {source}: {exc}") from None
    return raw


# Schemathesis parametrizes test_operations at import, which pytest does after the session starts:
# the plugin puts the run's document here first (each run replaces it).
_ACTIVE: dict[str, Document] = {}


def active(document: Document | None = None) -> Document:
    if document is not None:
        _ACTIVE["document"] = document
    return _ACTIVE["document"]
