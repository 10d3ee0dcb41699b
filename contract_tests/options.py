"""The suite's options: one table, read from flags over ``CONTRACT_*`` variables over defaults.

The same table feeds the pytest options (``pytest contract_tests --base-url ...``)
and the ``contract-tests`` console script, so both take the same names.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hypothesis

__all__ = [
    "DEFAULT_APP",
    "DEFAULT_MAX_ANSWER_BYTES",
    "OPTIONS",
    "PROFILES",
    "DEFAULT_SEED",
    "Option",
    "RunSettings",
    "UsageError",
    "hypothesis_home",
    "redact_url",
    "resolve",
    "resolve_defaults",
]

DEFAULT_SEED = 20261122
NON_LOOPBACK_MAX_RPS = 5.0
# Examples per operation for the Schemathesis tests, and runs of the stateful machine.
PROFILES: dict[str, tuple[int, int]] = {"quick": (20, 10), "ci": (100, 25), "deep": (1000, 200)}
DEFAULT_APP = "mock_server.app:create_app()"
"""The in-process target by default: the mock, named by import string (the suite imports nothing of it)."""
DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024  # the document's answers are objects of a few dozen fields
# What the in-process mock knows: its demo credentials and prices.
MOCK_DEFAULTS = {
    "api_key": "sk_test_paid_org",
    "basic": "client_paid_org:secret_paid_org",
    "other_api_key": "sk_test_free_org",
    "message_price_id": "price_message_starter",
    "budget_price_id": "price_budget_starter",
}


MAX_TIMEOUT = 3600.0
MAX_ANSWER_BYTES_LIMIT = 1024**3


def redact_url(url: str) -> str:
    """``url`` as messages may print it: without user, password, query or fragment (they may carry secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "(a URL that cannot be read)"
    if not parts.scheme or not host:
        return url[:80] if "@" not in url and "?" not in url else "(a URL that cannot be read)"
    host = f"[{host}]" if ":" in host else host
    query = "?..." if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path[:200]}{query}"


def _split(url: str, flag: str) -> Any:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError:
        raise UsageError(f"{flag} must be an absolute http(s) URL, got {redact_url(url)!r}") from None
    return parts


class UsageError(ValueError):
    """A malformed or contradictory option; the message names it."""


@dataclasses.dataclass(frozen=True)
class Option:
    name: str  # the flag without dashes, e.g. "base-url"
    help: str
    kind: str = "str"  # str | int | float | flag | choice
    choices: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        return "contract_" + self.name.replace("-", "_")

    @property
    def env(self) -> str:
        return "CONTRACT_" + self.name.replace("-", "_").upper()


OPTIONS: tuple[Option, ...] = (
    Option("base-url", "URL of a running deployment; default: the mock, in-process"),
    Option("api-key", "bearer API key of the account under test"),
    Option("basic", "HTTP basic credentials as CLIENT:SECRET"),
    Option("other-api-key", "bearer API key of a second account, for tenant-isolation checks"),
    Option("message-price-id", "a valid message-tier price of the target (enables checkout-session checks)"),
    Option("budget-price-id", "a valid budget-tier price of the target"),
    Option("spec", "the OpenAPI document to test against, a path or an http(s) URL (default: openapi.yaml)"),
    Option("profile", "examples per operation: quick ~20, ci ~100, deep ~1000", "choice", tuple(PROFILES)),
    Option("seed", f"Hypothesis seed (default {DEFAULT_SEED})", "int"),
    Option("max-rps", f"most requests per second (default {NON_LOOPBACK_MAX_RPS:g} off loopback)", "float"),
    Option("timeout", "seconds for each answer: connecting and the whole answer (default 10)", "float"),
    Option("max-answer-bytes", f"most bytes of one answer (default {DEFAULT_MAX_ANSWER_BYTES})", "int"),
    Option("max-time", "seconds for the whole run; when spent it stops (exit 2) naming what ran", "float"),
    Option("app", f"an ASGI app to test in-process, as module:attribute or module:factory() (default {DEFAULT_APP})"),
    Option("workers", "parallel workers (pytest-xdist)", "int"),
    Option("junit-xml", "write a JUnit XML report (one test per operation and check) to PATH"),
    Option("report", "write a JSON report (summary and failures) to PATH"),
    Option("allow-writes", "send POST /billing to a non-loopback target (gets or creates its Stripe customer)", "flag"),
    Option("require-coverage", "exit 1 when a documented status of an operation was never answered in the run", "flag"),
    Option("coverage-exempt", "documented statuses --require-coverage does not require, e.g. 500,502"),
    Option("export-failures", "write each failure as a plain pytest file (a regression test) to DIR"),
)


@dataclasses.dataclass(frozen=True)
class RunSettings:
    base_url: str | None = None
    api_key: str | None = None
    basic: tuple[str, str] | None = None
    other_api_key: str | None = None
    message_price_id: str | None = None
    budget_price_id: str | None = None
    spec: str | None = None
    profile: str = "ci"
    seed: int = DEFAULT_SEED
    max_rps: float | None = None
    timeout: float = 10.0
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    max_time: float | None = None
    app: str | None = None
    workers: int = 1
    junit_xml: Path | None = None
    report: Path | None = None
    allow_writes: bool = False
    require_coverage: bool = False
    coverage_exempt: tuple[str, ...] = ()
    export_failures: Path | None = None

    @property
    def in_process(self) -> bool:
        return self.base_url is None

    @property
    def loopback(self) -> bool:
        if self.base_url is None:
            return True
        host = urlsplit(self.base_url).hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def writes(self) -> bool:
        """POST /billing is sent: always to loopback, elsewhere only with --allow-writes."""
        return self.loopback or self.allow_writes

    @property
    def max_examples(self) -> int:
        return PROFILES[self.profile][0]

    @property
    def stateful_examples(self) -> int:
        return PROFILES[self.profile][1]

    def hypothesis_settings(self, max_examples: int) -> hypothesis.settings:
        """Seeded elsewhere (--seed); no example database, so a run depends on its options alone.

        ``derandomize`` is off explicitly: Hypothesis loads its "ci" profile when ``CI`` is set, and a
        derandomized run would ignore --seed.
        """
        return hypothesis.settings(
            max_examples=max_examples,
            derandomize=False,
            deadline=None,
            database=None,
            print_blob=False,
            suppress_health_check=list(hypothesis.HealthCheck),
        )

    def stateful_hypothesis_settings(self, *, steps: int) -> hypothesis.settings:
        return hypothesis.settings(self.hypothesis_settings(self.stateful_examples), stateful_step_count=steps)

    def describe(self) -> str:
        target = self.base_url or ("the mock, in-process" if self.app in (None, DEFAULT_APP) else self.app)
        auth = " and ".join(kind for kind, given in (("bearer", self.api_key), ("basic", self.basic)) if given)
        rate = f"{self.max_rps:g} rps" if self.max_rps else "unlimited"
        writes = "on" if self.writes else "off (POST /billing not sent; --allow-writes to enable)"
        return (
            f"contract-tests: target {target}; auth {auth}; profile {self.profile}; seed {self.seed} "
            f"(rerun with --seed {self.seed}); rate {rate}; writes {writes}"
        )


def _excerpt(raw: Any) -> str:
    text = str(raw)
    return repr(text[:40]) + (" ..." if len(text) > 40 else "")


_NUMBER = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?")


def _convert(option: Option, raw: Any) -> Any:
    if option.kind == "flag":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("", "0", "false", "no", "off"):
            return False
        raise UsageError(f"{option.env} must be true or false, got {_excerpt(raw)}")
    if option.kind in ("int", "float"):
        text = str(raw).strip()
        # ASCII digits only (int() takes "١٢" and 4,300 digits at most; float() takes "nan" and "inf")
        whole = option.kind == "int"
        if not _NUMBER.fullmatch(text) or (whole and "." in text):
            kind = "a whole number" if whole else "a number"
            raise UsageError(f"--{option.name} must be {kind} of at most 15 digits, got {_excerpt(raw)}")
        return int(text) if whole else float(text)
    if option.kind == "choice" and raw not in option.choices:
        raise UsageError(f"--{option.name} must be one of {', '.join(option.choices)}, got {_excerpt(raw)}")
    return str(raw)


def hypothesis_home(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where Hypothesis keeps its files during a run (the constants it collects from the code it runs; the suite
    keeps no example database): the user's cache, never the folder the run starts in. None when
    ``HYPOTHESIS_STORAGE_DIRECTORY`` says where."""
    environ = os.environ if environ is None else environ
    if environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return None
    home = environ.get("HOME")
    cache = environ.get("XDG_CACHE_HOME") or (str(Path(home) / ".cache") if home else tempfile.gettempdir())
    return Path(cache) / "contract-tests" / "hypothesis"


def _statuses(raw: str) -> tuple[str, ...]:
    statuses = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not statuses or not all(re.fullmatch(r"[1-5][0-9][0-9]", status) for status in statuses):
        raise UsageError(f"--coverage-exempt must be HTTP statuses separated by commas (500,502), got {_excerpt(raw)}")
    return statuses


def resolve(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> RunSettings:
    """Settings from ``flags`` (keyed by ``Option.dest``; None means not given), then ``CONTRACT_*``."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = flags.get(option.dest)
        if raw is None or raw is False:
            raw = environ.get(option.env) or raw
        if raw is None:
            continue
        values[option.name.replace("-", "_")] = _convert(option, raw)

    base_url = values.get("base_url")
    if base_url is not None:
        parts = _split(base_url, "--base-url")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--base-url must be an absolute http(s) URL, got {redact_url(base_url)!r}")
        if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
            raise UsageError(
                "--base-url takes no credentials, query or fragment (give the credentials with --api-key or --basic),"
                f" got {redact_url(base_url)!r}"
            )
        values["base_url"] = base_url.rstrip("/")
        if "app" in values:
            raise UsageError("--app names an app to test in-process: give it or --base-url, not both")
    elif values.get("app", DEFAULT_APP) == DEFAULT_APP:
        given = {"api_key", "basic"} & set(values)
        for key, default in MOCK_DEFAULTS.items():
            if key in ("api_key", "basic") and given:
                continue
            values.setdefault(key, default)
        if values.get("api_key") == values["other_api_key"]:
            values["other_api_key"] = MOCK_DEFAULTS["api_key"]
    basic = values.pop("basic", None)
    if basic is not None:
        client, sep, secret = basic.partition(":")
        if not sep or not client:
            raise UsageError("--basic must be CLIENT:SECRET")
        values["basic"] = (client, secret)
    if not values.get("api_key") and basic is None:
        raise UsageError("give the target's credentials: --api-key KEY or --basic CLIENT:SECRET")
    if "coverage_exempt" in values:
        values["coverage_exempt"] = _statuses(values["coverage_exempt"])
    for key in ("junit_xml", "report", "export_failures"):
        if key in values:
            values[key] = Path(values[key])
    settings = RunSettings(**values)
    if settings.workers < 1:
        raise UsageError(f"--workers must be 1 or more, got {settings.workers}")
    if not 0 < settings.timeout <= MAX_TIMEOUT:
        raise UsageError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds, got {settings.timeout:g}")
    if not 0 < settings.max_answer_bytes <= MAX_ANSWER_BYTES_LIMIT:
        raise UsageError(
            f"--max-answer-bytes must be from 1 to {MAX_ANSWER_BYTES_LIMIT}, got {settings.max_answer_bytes}"
        )
    if settings.max_time is not None and not 0 < settings.max_time <= MAX_TIMEOUT * 1000:
        raise UsageError(
            f"--max-time must be more than 0 and at most {MAX_TIMEOUT * 1000:g}, got {settings.max_time:g}"
        )
    if settings.max_rps is not None and settings.max_rps <= 0:
        raise UsageError(f"--max-rps must be more than 0, got {settings.max_rps:g}")
    if settings.max_rps is None and not settings.loopback:
        settings = dataclasses.replace(settings, max_rps=NON_LOOPBACK_MAX_RPS)
    return settings


def resolve_defaults(defaults: Mapping[str, str]) -> RunSettings:
    """Settings from the ``CONTRACT_*`` variables alone, ``defaults`` (by variable) filling those not set."""
    return resolve({}, {**defaults, **os.environ})
