"""One request and its answer, and how a failure on it reads: expected, got, and a curl that runs as printed."""

from __future__ import annotations

import dataclasses
import http
import json
import shlex
import textwrap
from typing import Any

__all__ = ["Answer", "BODY_LINES"]

BODY_LINES = 6  # lines of the answer's body a failure shows
_LINE = 160  # characters of each
# Headers a client adds by itself: a reproduction leaves them to curl.
_CLIENT_HEADERS = {"accept", "accept-encoding", "connection", "content-length", "host", "user-agent", "authorization"}
_CLIENT_HEADERS.add("x-schemathesis-testcaseid")


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

    @classmethod
    def of(cls, response: Any, credentials: str) -> Answer:
        """From a Schemathesis response (its ``request`` is the prepared request that was sent)."""
        request = response.request
        body = request.body
        data = body.decode("utf-8", "backslashreplace") if isinstance(body, bytes) else body
        headers = {name.lower(): ", ".join(values) for name, values in response.headers.items()}
        text = response.content.decode(response.encoding or "utf-8", "replace")
        sent = tuple((name, value) for name, value in request.headers.items())
        return cls(str(request.method), str(request.url), data, response.status_code, headers, text, credentials, sent)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def curl(self) -> str:
        """The request as curl; the secret stays in the environment variable it came from."""
        parts = ["curl", "-sS", "-i", "-X", self.method]
        headers = dict(self.request_headers)
        if self.data is not None and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        for name, value in headers.items():
            if name.lower() not in _CLIENT_HEADERS:
                parts += ["-H", f"{name}: {value}" if value.strip() else f"{name};"]  # "Name;": curl sends it empty
        if self.data is not None:
            parts += ["--data-binary", self.data]
        command = " ".join(shlex.quote(part) for part in parts)
        if self.credentials:
            command += f' -H "Authorization: {self.credentials}"'
        return f"{command} {shlex.quote(self.url)}"

    def got(self) -> list[str]:
        """The status and the first lines of the body, each cut to a readable length."""
        reason = http.HTTPStatus(self.status).phrase if self.status in http.HTTPStatus._value2member_map_ else ""
        kind = self.headers.get("content-type", "no content type")
        lines = [f"{self.status} {reason} ({kind})".replace("  ", " ")]
        data = self.json
        if data is not None:  # compact, so the first lines hold most fields
            body = textwrap.wrap(json.dumps(data, ensure_ascii=False), _LINE, break_on_hyphens=False)
        else:
            body = [line[:_LINE] for line in self.text.splitlines()]
        lines += body[:BODY_LINES] or ["(empty body)"]
        if len(body) > BODY_LINES:
            lines.append(f"... ({len(body) - BODY_LINES} more lines)")
        return lines

    def describe(self, expected: str) -> str:
        """The body of a failure block: what was expected, what came back, and how to send it again."""
        got = self.got()
        lines = [f"  expected: {expected}", f"  got:      {got[0]}", *(f"            {line}" for line in got[1:])]
        lines += [f"  request:  {self.method} {self.url}", f"  curl:     {self.curl()}"]
        return "\n".join(lines)
