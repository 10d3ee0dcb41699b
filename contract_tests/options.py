"""The suite's options: one table, read from flags over ``CONTRACT_*`` variables over defaults.

The same table feeds the pytest options (``pytest contract_tests --base-url ...``)
and the ``contract-tests`` console script, so both take the same names.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hypothesis

__all__ = ["OPTIONS", "PROFILES", "DEFAULT_SEED", "Option", "RunSettings", "UsageError", "resolve"]

DEFAULT_SEED = 20261122
NON_LOOPBACK_MAX_RPS = 5.0
# Examples per operation for the Schemathesis tests, and runs of the stateful machine.
PROFILES: dict[str, tuple[int, int]] = {"quick": (20, 10), "ci": (100, 25), "deep": (1000, 200)}
# What the in-process mock knows: its demo credentials and prices.
MOCK_DEFAULTS = {
    "api_key": "sk_test_paid_org",
    "other_api_key": "sk_test_free_org",
    "message_price_id": "price_message_starter",
    "budget_price_id": "price_budget_starter",
}


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
    Option("timeout", "seconds to wait for each answer (default 10)", "float"),
    Option("workers", "parallel workers (pytest-xdist)", "int"),
    Option("junit-xml", "write a JUnit XML report (one test per operation and check) to PATH"),
    Option("report", "write a JSON report (summary and failures) to PATH"),
    Option("allow-writes", "send POST /billing to a non-loopback target (gets or creates its Stripe customer)", "flag"),
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
    workers: int = 1
    junit_xml: Path | None = None
    report: Path | None = None
    allow_writes: bool = False

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
        target = self.base_url or "the mock, in-process"
        auth = "bearer" if self.api_key else "basic"
        rate = f"{self.max_rps:g} rps" if self.max_rps else "unlimited"
        writes = "on" if self.writes else "off (POST /billing not sent; --allow-writes to enable)"
        return (
            f"contract-tests: target {target}; auth {auth}; profile {self.profile}; seed {self.seed} "
            f"(rerun with --seed {self.seed}); rate {rate}; writes {writes}"
        )


def _convert(option: Option, raw: Any) -> Any:
    if option.kind == "flag":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("", "0", "false", "no", "off"):
            return False
        raise UsageError(f"{option.env} must be true or false, got {raw!r}")
    if option.kind in ("int", "float"):
        convert: Callable[[str], Any] = int if option.kind == "int" else float
        try:
            return convert(str(raw))
        except ValueError:
            raise UsageError(f"--{option.name} must be a number, got {raw!r}") from None
    if option.kind == "choice" and raw not in option.choices:
        raise UsageError(f"--{option.name} must be one of {', '.join(option.choices)}, got {raw!r}")
    return str(raw)


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
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--base-url must be an absolute http(s) URL, got {base_url!r}")
        values["base_url"] = base_url.rstrip("/")
    else:
        for key, default in MOCK_DEFAULTS.items():
            if key == "api_key" and "basic" in values:
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
    for key in ("junit_xml", "report"):
        if key in values:
            values[key] = Path(values[key])
    settings = RunSettings(**values)
    if settings.workers < 1:
        raise UsageError(f"--workers must be 1 or more, got {settings.workers}")
    if settings.timeout <= 0:
        raise UsageError(f"--timeout must be more than 0, got {settings.timeout:g}")
    if settings.max_rps is not None and settings.max_rps <= 0:
        raise UsageError(f"--max-rps must be more than 0, got {settings.max_rps:g}")
    if settings.max_rps is None and not settings.loopback:
        settings = dataclasses.replace(settings, max_rps=NON_LOOPBACK_MAX_RPS)
    return settings
