"""A failing request as the JSON report keeps it, and the same request rebuilt for another run.

The report holds what was sent, secrets out: the method, the path and query, the headers
the suite chose (not those an HTTP client adds by itself), the body, and the credential
by its slot (``api-key``, ``basic``, ``other-api-key``, a near miss such as
``api-key: cut short by one character``, ``none``), never its value. ``contract-tests
replay`` and the exported regression tests rebuild the request from it with the
credentials they are given.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from typing import Any
from urllib.parse import urlsplit

from .answer import CLIENT_HEADERS, Answer
from .target import Target

__all__ = ["ReportError", "Sent", "authorization", "read", "record"]

MAX_HEADERS = 64
MAX_PATH = 8192
MAX_BODY = 4 * 1024 * 1024  # characters of a recorded body
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")


class ReportError(ValueError):
    """A report that cannot be replayed as it stands; the message says why."""


@dataclasses.dataclass(frozen=True)
class Sent:
    """One recorded request, checked: safe to send again."""

    method: str
    path: str  # the document's path and the query, as sent
    headers: dict[str, str]
    body: bytes | None
    credential: str  # a slot of Target.known(), "none", or "as sent"
    authorization: str | None = None  # only "as sent": a made-up header the suite sent as it is


def record(answer: Answer, target: Target) -> dict[str, Any]:
    """``answer``'s request as a report keeps it: every secret masked, the credential named by its slot."""
    query = urlsplit(answer.url).query
    headers = {name: answer.mask(value) for name, value in answer.request_headers if name.lower() not in CLIENT_HEADERS}
    auth = next((value for name, value in answer.request_headers if name.lower() == "authorization"), None)
    found: dict[str, Any] = {
        "method": answer.method,
        "path": answer.mask(target.path(answer.url) + (f"?{query}" if query else "")),
        "headers": headers,
        "credential": target.slot(auth),
    }
    if found["credential"] == "as sent":
        found["authorization"] = answer.mask(str(auth))
    if answer.body is not None:
        try:
            found["body"] = answer.mask(answer.body.decode("utf-8"))
        except UnicodeDecodeError:
            found["body_base64"] = base64.b64encode(answer.body).decode()
    return found


def _text(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ReportError(f"its {key} is not text of at most {limit} characters")
    return value


def read(data: Any) -> Sent:
    """A report's recorded request, checked; :class:`ReportError` names what is wrong with it."""
    if not isinstance(data, dict):
        raise ReportError("it carries no request (a report of an older contract-tests?)")
    method, path = _text(data, "method", 20), _text(data, "path", MAX_PATH)
    if method is None or not _TOKEN.fullmatch(method):
        raise ReportError("its method is not an HTTP method")
    if path is None or not path.startswith("/") or any(ord(c) < 33 or ord(c) == 127 for c in path):
        raise ReportError("its path is not a path")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or len(headers) > MAX_HEADERS:
        raise ReportError(f"its headers are not a mapping of at most {MAX_HEADERS}")
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or not isinstance(value, str) or len(value) > MAX_PATH or "\n" in value:
            raise ReportError(f"its header {str(name)[:40]!r} cannot be sent")
    body: bytes | None = None
    text, coded = _text(data, "body", MAX_BODY), _text(data, "body_base64", MAX_BODY)
    if text is not None:
        body = text.encode("utf-8", "surrogatepass")
    elif coded is not None:
        try:
            body = base64.b64decode(coded, validate=True)
        except binascii.Error:
            raise ReportError("its body_base64 is not base64") from None
    credential = _text(data, "credential", 200) or "none"
    auth = _text(data, "authorization", MAX_PATH)
    if auth is not None and ("\n" in auth or "\r" in auth):
        raise ReportError("its authorization cannot be sent")
    return Sent(method, path, dict(headers), body, credential, auth)


def authorization(sent: Sent, target: Target) -> str | None:
    """The Authorization header to send ``sent`` with, rebuilt from ``target``'s credentials."""
    if sent.credential == "none":
        return None
    if sent.credential == "as sent":
        return sent.authorization
    credential = target.by_slot(sent.credential)
    if credential is None:
        flag = sent.credential.partition(":")[0]
        raise ReportError(f"it was sent with --{flag} ({sent.credential}): give --{flag}")
    return credential.header
