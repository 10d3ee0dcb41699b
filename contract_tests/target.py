"""The target under test: an app in-process (the mock by default), or any server at a base URL.

One :class:`Target` serves the Schemathesis tests (``call_kwargs``), the deterministic
probes, the rules and the state machine (``request``): every request goes through one
rate-limited session whose transport bounds each answer in time and size
(:mod:`contract_tests.transport`), and every answer is handed to the oracle
(:mod:`contract_tests.oracle`) before the test sees it.

The account's credentials come in every form given (``--api-key`` bearer, ``--basic``);
the run alternates them, so each operation is sent with each.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
from typing import Any
from urllib.parse import urlsplit

import requests

from .answer import Answer
from .options import RunSettings
from .throttle import Budget, LimitedSession, OutOfTime, RateLimiter, Throttled
from .transport import BoundedAdapter, Exchanger, IncompleteAnswer, Unreachable

__all__ = ["Answer", "Credential", "PreflightError", "Target", "load_app", "preflight"]

ORGANIZATION_PATH = "/account/organization"


class PreflightError(RuntimeError):
    """The target cannot be tested: unreachable, or the credentials are refused."""


def bearer(key: str) -> str:
    return f"Bearer {key}"


def basic(pair: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{pair[0]}:{pair[1]}".encode()).decode()


@dataclasses.dataclass(frozen=True)
class Credential:
    """One Authorization header, and how a printed curl sends it without showing the secret."""

    name: str  # "bearer", "basic", "the key with its last character changed", ...
    header: str
    shell: str  # "Bearer $CONTRACT_API_KEY": a shell word that rebuilds the header from the environment
    slot: str = ""  # "api-key", "basic: its secret cut short"...: the flag it comes from, how a report names it


def load_app(spec: str) -> Any:
    """The app an import string names: ``module:attribute``, or ``module:factory()`` called with no arguments."""
    module, _, attribute = spec.partition(":")
    call = attribute.endswith("()")
    attribute = attribute.removesuffix("()")
    if not module or not attribute.isidentifier():
        raise PreflightError(f"--app must be module:attribute or module:factory(), got {spec[:80]!r}")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise PreflightError(f"--app {spec[:80]}: {type(exc).__name__}: {str(exc)[:200]}") from None
    return found() if call else found


def _changed(character: str) -> str:
    """Another character of the same kind (a digit for a digit, a letter for a letter)."""
    if character.isdigit():
        return "7" if character != "7" else "3"
    if character.isalpha():
        return "q" if character.lower() != "q" else "x"
    return "x"


class Target:
    """Where requests go, and with which credentials."""

    def __init__(self, settings: RunSettings, app: Any = None, *, mock: bool = False, share: int = 1) -> None:
        """``mock``: the app is the mock itself; ``share``: how many processes split ``--max-rps`` (xdist)."""
        self.settings = settings
        self.app = app
        self.is_mock = mock
        self.limiter = RateLimiter(settings.max_rps / share if settings.max_rps else None)
        self.session = LimitedSession(self.limiter, settings.timeout, Budget(settings.max_time))
        self.session.provider_retry = not mock
        self.exchanger = Exchanger(app, timeout=settings.timeout, max_bytes=settings.max_answer_bytes)
        adapter = BoundedAdapter(self.exchanger)
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, adapter)
        # In-process, requests are addressed as to `mock-server` on its default port, so a printed curl
        # command reproduces a failure against `mock-server` started in another terminal.
        self.base_url = settings.base_url or "http://127.0.0.1:8080"
        self._base_path = urlsplit(self.base_url).path.rstrip("/")
        self.forms: list[Credential] = []
        if settings.api_key:
            self.forms.append(Credential("bearer", bearer(settings.api_key), "Bearer $CONTRACT_API_KEY", "api-key"))
        if settings.basic:
            shell = 'Basic $(printf %s "$CONTRACT_BASIC" | base64)'
            self.forms.append(Credential("basic", basic(settings.basic), shell, "basic"))
        self.auth = self.forms[0].header
        self.other: Credential | None = None
        if settings.other_api_key:
            key = settings.other_api_key
            shell = "Bearer $CONTRACT_OTHER_API_KEY"
            self.other = Credential("the other account's bearer", bearer(key), shell, "other-api-key")
        self.other_auth = self.other.header if self.other else None
        self._known = {credential.header: credential for credential in self.known()}
        self._secrets = self._derived_secrets()
        self._turn = 0

    def known(self) -> list[Credential]:
        """Every credential of the run: the account's forms, the other account's, and their near misses."""
        given = [*self.forms, *([self.other] if self.other else [])]
        return given + self.near_misses()

    def near_misses(self) -> list[Credential]:
        """For each credential given, the ones that must be refused: one character off, cut short, longer,
        the right id with a wrong secret, the right secret under another id, the wrong scheme."""
        found = []
        keys = [("api-key", self.settings.api_key), ("other-api-key", self.settings.other_api_key)]
        for flag, key in keys:
            if not key:
                continue
            variable = "CONTRACT_" + flag.replace("-", "_").upper()
            last, first = _changed(key[-1]), _changed(key[0])
            found += [
                dataclasses.replace(credential, slot=f"{flag}: {credential.name}")
                for credential in (
                    Credential(
                        "its last character changed", bearer(key[:-1] + last), f"Bearer ${{{variable}%?}}{last}"
                    ),
                    Credential(
                        "its first character changed", bearer(first + key[1:]), f"Bearer {first}${{{variable}#?}}"
                    ),
                    Credential("cut short by one character", bearer(key[:-1]), f"Bearer ${{{variable}%?}}"),
                    Credential("one character longer", bearer(key + "x"), f"Bearer ${{{variable}}}x"),
                    Credential("sent as Basic", f"Basic {key}", f"Basic ${variable}"),
                )
            ]
        if self.settings.basic:
            client, secret = self.settings.basic
            pair = 'printf %s "$CONTRACT_BASIC"'
            misses = [
                Credential(
                    "the right client id with a wrong secret",
                    basic((client, secret + "x" if secret else "x")),
                    'Basic $(printf %s "$CONTRACT_BASIC"x | base64)',
                ),
                Credential(
                    "the right secret under another client id",
                    basic(("x" + client, secret)),
                    'Basic $(printf %s x"$CONTRACT_BASIC" | base64)',
                ),
                Credential(
                    "the right client id with its secret cut short",
                    basic((client, secret[:-1])),
                    'Basic $(printf %s "${CONTRACT_BASIC%?}" | base64)',
                ),
                Credential(
                    "the pair sent as Bearer", "Bearer " + basic(self.settings.basic)[6:], f"Bearer $({pair} | base64)"
                ),
            ]
            found += [dataclasses.replace(credential, slot=f"basic: {credential.name}") for credential in misses]
        given = {credential.header for credential in [*self.forms, *([self.other] if self.other else [])]}
        return [credential for credential in found if credential.header not in given]

    def slot(self, auth: str | None) -> str:
        """How a report names the credential ``auth`` without its secret: its slot, "none", or "as sent"."""
        if not auth:
            return "none"
        known = self._known.get(auth)
        return known.slot if known is not None else "as sent"

    def by_slot(self, slot: str) -> Credential | None:
        """This run's credential in ``slot`` (a report's name for one), or None if its flag was not given."""
        return next((credential for credential in self.known() if credential.slot == slot), None)

    def secrets(self) -> tuple[str, ...]:
        """What a printed answer must never show: the run's secrets and everything derived from them."""
        return self._secrets

    def _derived_secrets(self) -> tuple[str, ...]:
        values = [self.settings.api_key, self.settings.other_api_key]
        if self.settings.basic:
            values += [self.settings.basic[1], basic(self.settings.basic)[6:]]
        for credential in self.known():
            values.append(credential.header.partition(" ")[2])
        return tuple(sorted({value for value in values if value and len(value) >= 4}, key=len, reverse=True))

    def next_auth(self) -> str:
        """The account's credential forms in turn, so the whole run sends each on each operation."""
        form = self.forms[self._turn % len(self.forms)]
        self._turn += 1
        return form.header

    def call_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Case.call``, the next credential form included."""
        return {
            "base_url": self.base_url,
            "session": self.session,
            "headers": {"Authorization": self.next_auth()},
            "timeout": self.settings.timeout,
        }

    def credentials(self, auth: str | None) -> str:
        """How a printed curl sends ``auth``: the run's own secrets by the variable that holds them."""
        if not auth:
            return ""
        known = self._known.get(auth)
        if known is not None:
            return known.shell
        return auth.replace("$", "\\$").replace('"', '\\"')  # a made-up credential: printed as sent

    def path(self, url: str) -> str:
        """The document's path of a URL this target was sent (the base URL's own path taken off)."""
        path = urlsplit(url).path
        return path[len(self._base_path) :] if self._base_path and path.startswith(self._base_path) else path

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: str | None,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """One request: ``body`` as JSON, or ``raw`` bytes as ``content_type``, and any other ``headers``;
        the oracle has judged its answer."""
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = auth
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None and content_type is not None:
            headers["Content-Type"] = content_type
        response = self.session.request(method, self.base_url + path, headers=headers, data=data)
        return Answer.of_requests(response, self.credentials(auth), self.secrets())

    def close(self) -> None:
        self.session.close()
        self.exchanger.close()


def _why(exc: BaseException) -> str:
    """The cause a person can act on (``Connection refused``), not a chain of wrappers."""
    if isinstance(exc, IncompleteAnswer):
        return exc.why
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "Temporary failure in name resolution"):
        if marker in text:
            return marker
    return text[:200] or type(exc).__name__


def _check_credentials(target: Target, auth: str, what: str) -> str:
    try:
        answer = target.request("GET", ORGANIZATION_PATH, auth=auth)
    except (Unreachable, requests.RequestException) as exc:
        raise PreflightError(f"cannot reach {target.base_url}: {_why(exc)}") from None
    except IncompleteAnswer as exc:
        raise PreflightError(f"GET {ORGANIZATION_PATH} with {what}: {exc.why}") from None
    except (Throttled, OutOfTime) as exc:
        raise PreflightError(str(exc)) from None
    if answer.status in (401, 403):
        raise PreflightError(
            f"the target refused {what} (GET {ORGANIZATION_PATH} answered {answer.status}): "
            "check the key or the client id and secret; nothing was tested"
        )
    if answer.status == 402:  # documented: the credential is good, its account has used its caps
        return ""
    if answer.status != 200:
        raise PreflightError(
            f"GET {ORGANIZATION_PATH} with {what} answered {answer.status}, not 200: {answer.excerpt()}"
        )
    body = answer.json
    if not isinstance(body, dict) or not body.get("organizationId"):
        raise PreflightError(f"GET {ORGANIZATION_PATH} answered 200 without an organizationId: {answer.excerpt()}")
    return str(body["organizationId"])


def preflight(target: Target) -> dict[str, str]:
    """Fail loudly before generating anything: a wrong key must never pass as a documented 401.

    Gives each credential's organizationId ("" for an account that answers the documented 402: over its caps,
    its organization unknown; the run goes on and judges what it answers).
    """
    settings = target.settings
    account = {
        what: _check_credentials(target, auth, what)
        for what, auth in (
            ("--api-key", settings.api_key and bearer(settings.api_key)),
            ("--basic", settings.basic and basic(settings.basic)),
        )
        if auth
    }
    if len(set(account.values()) - {""}) > 1:
        raise PreflightError(f"--api-key and --basic belong to different organizations: {account}")
    if settings.other_api_key:
        # Whether it names another organization is the tenant-isolation property, not a preflight matter:
        # a deployment that ignores credentials answers both keys with one organization.
        account["--other-api-key"] = _check_credentials(target, bearer(settings.other_api_key), "--other-api-key")
    return account
