"""The target under test: the mock in-process, or any server at a base URL.

One :class:`Target` serves both the Schemathesis tests (``call_kwargs``) and the
stateful properties (``request``); every request to a remote target goes
through one rate-limited session.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shlex
import threading
import time
from typing import Any

import requests

from .options import RunSettings

__all__ = ["Answer", "PreflightError", "Target", "preflight"]

ORGANIZATION_PATH = "/account/organization"


class PreflightError(RuntimeError):
    """The target cannot be tested: unreachable, or the credentials are refused."""


class RateLimiter:
    """At most ``rps`` requests per second, across threads."""

    def __init__(self, rps: float | None) -> None:
        self.interval = 1.0 / rps if rps else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


class LimitedSession(requests.Session):
    """A requests session that waits for the rate limiter before each request."""

    def __init__(self, limiter: RateLimiter, timeout: float) -> None:
        super().__init__()
        self.limiter = limiter
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.limiter.wait()
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().send(request, **kwargs)


def bearer(key: str) -> str:
    return f"Bearer {key}"


def basic(pair: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{pair[0]}:{pair[1]}".encode()).decode()


@dataclasses.dataclass(frozen=True)
class Answer:
    """One request and its answer, as the stateful properties see it."""

    method: str
    url: str
    request_body: Any
    status: int
    headers: dict[str, str]
    text: str
    credentials: str = ""  # e.g. "Bearer $CONTRACT_API_KEY": where the secret is, never the secret

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def curl(self) -> str:
        """The request as curl; the secret stays in the environment variable it came from."""
        parts = ["curl", "-X", self.method]
        if self.request_body is not None:
            parts += ["-H", "Content-Type: application/json", "-d", json.dumps(self.request_body)]
        command = " ".join(shlex.quote(part) for part in parts)
        if self.credentials:
            command += f' -H "Authorization: {self.credentials}"'
        return f"{command} {shlex.quote(self.url)}"

    def describe(self) -> str:
        body = self.text if len(self.text) < 2000 else self.text[:2000] + "..."
        sent = "" if self.request_body is None else f" {json.dumps(self.request_body)}"
        return f"{self.method} {self.url}{sent}\n[{self.status}] {body}\nReproduce with:\n    {self.curl()}"


class Target:
    """Where requests go, and with which credentials."""

    def __init__(self, settings: RunSettings, app: Any = None, *, share: int = 1) -> None:
        """``share``: how many processes split ``--max-rps`` (the xdist workers)."""
        self.settings = settings
        self.app = app
        self.limiter = RateLimiter(settings.max_rps / share if settings.max_rps else None)
        self.session = LimitedSession(self.limiter, settings.timeout)
        # In-process, requests are addressed as to `mock-server` on its default port, so a printed curl
        # command reproduces a failure against `mock-server` started in another terminal.
        self.base_url = settings.base_url or "http://127.0.0.1:8080"
        self._client: Any = None
        if app is not None:
            from starlette.testclient import TestClient

            # Entered once: one event loop for the whole run instead of one per request.
            self._client = TestClient(app, base_url=self.base_url, raise_server_exceptions=False).__enter__()
        self.auth = bearer(settings.api_key) if settings.api_key else basic(settings.basic or ("", ""))
        self.other_auth = bearer(settings.other_api_key) if settings.other_api_key else None

    @property
    def is_mock(self) -> bool:
        """The in-process mock itself (not another app given in its place)."""
        from mock_server.asgi import MockServer

        return isinstance(self.app, MockServer)

    def call_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Case.call`` / ``validate_response``'s transport."""
        headers = {"Authorization": self.auth}
        if self.app is not None:
            return {"app": self.app, "base_url": self.base_url, "headers": headers}
        return {
            "base_url": self.base_url,
            "session": self.session,
            "headers": headers,
            "timeout": self.settings.timeout,
        }

    def _credentials(self, auth: str | None) -> str:
        if not auth:
            return ""
        if auth == self.other_auth:
            return "Bearer $CONTRACT_OTHER_API_KEY"
        if auth.startswith("Basic "):
            return 'Basic $(printf %s "$CONTRACT_BASIC" | base64)'
        return "Bearer $CONTRACT_API_KEY"

    def request(self, method: str, path: str, *, auth: str | None, body: Any = None) -> Answer:
        headers = {"Authorization": auth} if auth else {}
        url = self.base_url + path
        sent = (method, url, body)
        client = self._client or self.session  # the in-process TestClient, or the rate-limited session
        response = client.request(method, url, headers=headers, json=body)
        return Answer(*sent, response.status_code, dict(response.headers), response.text, self._credentials(auth))

    def close(self) -> None:
        self.session.close()
        if self._client is not None:
            self._client.__exit__(None, None, None)
            self._client = None


def _why(exc: requests.RequestException, timeout: float) -> str:
    """The cause a person can act on (``Connection refused``), not urllib3's chain of wrappers."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s (--timeout)"
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
    return found.group(1).strip() if found else f"{type(exc).__name__}: {exc}"


def _check_credentials(target: Target, auth: str, what: str) -> str:
    try:
        answer = target.request("GET", ORGANIZATION_PATH, auth=auth)
    except requests.RequestException as exc:
        raise PreflightError(f"cannot reach {target.base_url}: {_why(exc, target.settings.timeout)}") from None
    if answer.status in (401, 403):
        raise PreflightError(
            f"the target refused {what} (GET {ORGANIZATION_PATH} answered {answer.status}): "
            "check the key or the client id and secret; nothing was tested"
        )
    if answer.status != 200:
        raise PreflightError(
            f"GET {ORGANIZATION_PATH} with {what} answered {answer.status}, not 200: {answer.text[:300]}"
        )
    body = answer.json
    if not isinstance(body, dict) or not body.get("organizationId"):
        raise PreflightError(f"GET {ORGANIZATION_PATH} answered 200 without an organizationId: {answer.text[:300]}")
    return str(body["organizationId"])


def preflight(target: Target) -> None:
    """Fail loudly before generating anything: a wrong key must never pass as a documented 401."""
    settings = target.settings
    account = {
        what: _check_credentials(target, auth, what)
        for what, auth in (
            ("--api-key", settings.api_key and bearer(settings.api_key)),
            ("--basic", settings.basic and basic(settings.basic)),
        )
        if auth
    }
    if len(set(account.values())) > 1:
        raise PreflightError(f"--api-key and --basic belong to different organizations: {account}")
    if settings.other_api_key:
        # Whether it names another organization is the tenant-isolation property, not a preflight matter:
        # a deployment that ignores credentials answers both keys with one organization.
        _check_credentials(target, bearer(settings.other_api_key), "--other-api-key")
