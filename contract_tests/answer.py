"""One request and its answer, and how a failure on it reads: expected, got, and a curl that runs as printed.

Nothing printed shows a secret of the run: the credentials are sent by the
environment variable that holds them, and any secret the answer echoes is masked.
"""

from __future__ import annotations

import dataclasses
import http
import json
import shlex
import textwrap
from typing import Any

import requests

__all__ = ["Answer", "BODY_LINES", "CLIENT_HEADERS", "MASK"]

BODY_LINES = 6  # lines of the answer's body a failure shows
_LINE = 160  # characters of each
_EXCERPT = 300  # characters of an answer an error message quotes
MASK = "[secret]"
NO_ANSWER = 0  # the status of a request that got no complete answer
# Headers a client adds by itself: a reproduction leaves them to curl.
CLIENT_HEADERS = {"accept", "accept-encoding", "connection", "content-length", "host", "user-agent", "authorization"}
CLIENT_HEADERS.add("x-schemathesis-testcaseid")


def _raw(body: Any) -> bytes | None:
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return body if isinstance(body, bytes) else None


def _text(body: Any) -> str | None:
    if body is None or isinstance(body, str):
        return body
    if isinstance(body, bytes):
        return body.decode("utf-8", "backslashreplace")
    return None


@dataclasses.dataclass(frozen=True)
class Answer:
    """A request as sent (body already serialized) and the answer that came back."""

    method: str
    url: str
    data: str | None
    status: int
    headers: dict[str, str]
    text: str
    credentials: str = ""  # "Bearer $CONTRACT_API_KEY": where the secret is, never the secret
    request_headers: tuple[tuple[str, str], ...] = ()
    secrets: tuple[str, ...] = ()  # masked wherever the answer or the request is printed
    body: bytes | None = None  # the request's body as sent (``data`` is its text, for printing)

    @classmethod
    def _sent(
        cls, request: Any, status: int, headers: dict[str, str], text: str, credentials: str, secrets: tuple[str, ...]
    ) -> Answer:
        sent = tuple((name, str(value)) for name, value in request.headers.items())
        method, url, body = str(request.method), str(request.url), request.body
        return cls(method, url, _text(body), status, headers, text, credentials, sent, secrets, _raw(body))

    @classmethod
    def of(cls, response: Any, credentials: str, secrets: tuple[str, ...] = ()) -> Answer:
        """From a Schemathesis response (its ``request`` is the prepared request that was sent)."""
        headers = {name.lower(): ", ".join(values) for name, values in response.headers.items()}
        text = response.content.decode(response.encoding or "utf-8", "replace")
        return cls._sent(response.request, response.status_code, headers, text, credentials, secrets)

    @classmethod
    def of_requests(cls, response: requests.Response, credentials: str, secrets: tuple[str, ...] = ()) -> Answer:
        headers = {name.lower(): value for name, value in response.headers.items()}
        text = response.content.decode(response.encoding or "utf-8", "replace")
        return cls._sent(response.request, response.status_code, headers, text, credentials, secrets)

    @classmethod
    def unanswered(cls, request: requests.PreparedRequest, credentials: str, secrets: tuple[str, ...] = ()) -> Answer:
        """A request that got no complete answer."""
        return cls._sent(request, NO_ANSWER, {}, "", credentials, secrets)

    def without_headers(self, names: tuple[str, ...]) -> Answer:
        """The same exchange, as if the request had not carried the headers ``names``."""
        kept = tuple((name, value) for name, value in self.request_headers if name not in names)
        return dataclasses.replace(self, request_headers=kept)

    @property
    def json(self) -> Any:
        """The body as JSON, read leniently (a byte order mark is the oracle's to judge), or None."""
        try:
            return json.loads(self.text.removeprefix("\ufeff"))
        except (ValueError, RecursionError):
            return None

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def excerpt(self) -> str:
        """The start of the body, for a one-line message."""
        return self.mask(self.text[: _EXCERPT + 200])[:_EXCERPT]

    def curl(self) -> str:
        """The request as curl; the secret stays in the environment variable it came from."""
        parts = ["curl", "-sS", "-i", "-X", self.method]
        headers = dict(self.request_headers)
        if self.data is not None and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        for name, value in headers.items():
            if name.lower() not in CLIENT_HEADERS:
                parts += ["-H", f"{name}: {value}" if value.strip() else f"{name};"]  # "Name;": curl sends it empty
        if self.data is not None:
            parts += ["--data-binary", self.mask(self.data)]
        command = " ".join(shlex.quote(part) for part in parts)
        if self.credentials:
            command += f' -H "Authorization: {self.credentials}"'
        return f"{command} {shlex.quote(self.url)}"

    def got(self) -> list[str]:
        """The status and the first lines of the body, each cut to a readable length."""
        reason = http.HTTPStatus(self.status).phrase if self.status in http.HTTPStatus._value2member_map_ else ""
        kind = self.headers.get("content-type", "no content type")
        lines = [f"{self.status} {reason} ({kind[:80]})".replace("  ", " ")]
        data = self.json if len(self.text) <= 100_000 else None
        if data is not None:  # compact, so the first lines hold most fields
            text = json.dumps(data, ensure_ascii=False)[: _LINE * (BODY_LINES + 1)]
            body = textwrap.wrap(self.mask(text), _LINE, break_on_hyphens=False)
        else:
            body = [line[:_LINE] for line in self.mask(self.text[: _LINE * (BODY_LINES + 1)]).splitlines()]
        lines += body[:BODY_LINES] or ["(empty body)"]
        if len(body) > BODY_LINES or len(self.text) > _LINE * (BODY_LINES + 1):
            lines.append(f"... ({len(self.text)} characters in all)")
        return lines

    def describe(self, expected: str, got: str | None = None) -> str:
        """The body of a failure block: what was expected, what came back, and how to send it again.

        ``got``: what happened instead of an answer (a request that got no complete answer).
        """
        found = [got] if got is not None else self.got()
        lines = [f"  expected: {expected}", f"  got:      {found[0]}", *(f"            {line}" for line in found[1:])]
        lines += [f"  request:  {self.method} {self.url}", f"  curl:     {self.curl()}"]
        return "\n".join(lines)
