"""The target under test: the mock in-process, or any server at a base URL.

One :class:`Target` serves both the Schemathesis tests (``call_kwargs``) and the
stateful properties (``request``); every request to a remote target goes
through one rate-limited session.
"""

from __future__ import annotations

import base64
import json
import re
import sys
from typing import Any

import requests

from .answer import Answer
from .options import RunSettings
from .throttle import LimitedSession, RateLimiter, Throttled

__all__ = ["Answer", "PreflightError", "Target", "preflight"]

ORGANIZATION_PATH = "/account/organization"


class PreflightError(RuntimeError):
    """The target cannot be tested: unreachable, or the credentials are refused."""


def bearer(key: str) -> str:
    return f"Bearer {key}"


def basic(pair: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{pair[0]}:{pair[1]}".encode()).decode()


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
            from schemathesis.python import asgi

            # The app is reached in-process through the same session, so pacing and throttling apply
            # alike; entered once: one lifespan for the whole run.
            self._client = asgi.get_client(app).__enter__()
            for prefix in ("http://", "https://"):
                self.session.mount(prefix, self._client.adapter)
        self.auth = bearer(settings.api_key) if settings.api_key else basic(settings.basic or ("", ""))
        self.other_auth = bearer(settings.other_api_key) if settings.other_api_key else None

    @property
    def is_mock(self) -> bool:
        """The in-process mock itself (not another app given in its place)."""
        asgi = sys.modules.get("mock_server.asgi")  # never imported for another target
        return asgi is not None and isinstance(self.app, asgi.MockServer)

    def call_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Case.call`` / ``validate_response``'s transport."""
        headers = {"Authorization": self.auth}
        return {
            "base_url": self.base_url,
            "session": self.session,
            "headers": headers,
            "timeout": self.settings.timeout,
        }

    def credentials(self, auth: str | None) -> str:
        """How a printed curl sends ``auth``: the run's own secrets by the variable that holds them."""
        if not auth:
            return ""
        if auth == self.other_auth:
            return "Bearer $CONTRACT_OTHER_API_KEY"
        if auth == self.auth and auth.startswith("Basic "):
            return 'Basic $(printf %s "$CONTRACT_BASIC" | base64)'
        if auth == self.auth:
            return "Bearer $CONTRACT_API_KEY"
        return auth.replace("$", "\\$").replace('"', '\\"')  # a made-up credential: printed as sent

    def request(self, method: str, path: str, *, auth: str | None, body: Any = None) -> Answer:
        headers = {"Authorization": auth} if auth else {}
        url = self.base_url + path
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        response = self.session.request(method, url, headers=headers, data=data)
        got = {name.lower(): value for name, value in response.headers.items()}
        return Answer(method, url, data, response.status_code, got, response.text, self.credentials(auth))

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
    except Throttled as exc:
        raise PreflightError(str(exc)) from None
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
