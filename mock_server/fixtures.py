"""Loading the data in ``fixtures/``: demo organizations and the price catalog.

A file that cannot be read, or that does not match ``openapi.yaml``, raises
:class:`FixtureError` naming the file and the entry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from .lifecycle import resolve_dates
from .settings import ConfigError
from .spec import ApiSpec

__all__ = ["FixtureError", "Price", "Tenant", "load_prices", "load_tenants", "read_entries", "TIER_CHANNELS"]

TIER_CHANNELS = {
    "message": ("EMAIL", "INAPP_WEB", "WEB_PUSH", "PUSH", "SLACK"),
    "budget": ("SMS", "CALL"),
}
CAP_FIELDS = ("messagesCap", "costCap", "smsCap", "callCap")


class FixtureError(ConfigError):
    """A fixture file is missing, unreadable or invalid."""


@dataclasses.dataclass(frozen=True)
class Price:
    id: str
    tier: str
    name: str
    channels: tuple[str, ...]
    amount: int
    currency: str
    interval: str
    caps: dict[str, float]


@dataclasses.dataclass(frozen=True)
class Tenant:
    """An organization with the credentials that reach it."""

    organization: dict[str, Any]
    api_key: str
    client_id: str
    client_secret: str
    label: str = ""
    description: str = ""
    stripe_failure: str | None = None

    @property
    def organization_id(self) -> str:
        return str(self.organization["organizationId"])


def read_entries(path: Path) -> list[Any]:
    """The entries of a fixture file: a YAML list (:class:`FixtureError` naming the file otherwise)."""
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except FileNotFoundError:
        raise FixtureError(f"fixture file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FixtureError(f"fixture file {path} cannot be read: {exc}") from None
    if not isinstance(data, list):
        raise FixtureError(f"fixture file {path} must hold a list of entries")
    return data


def _require(path: Path, index: int, entry: Any, keys: tuple[str, ...]) -> None:
    if not isinstance(entry, dict):
        raise FixtureError(f"{path}: entry {index} must be a mapping")
    missing = [key for key in keys if not entry.get(key)]
    if missing:
        raise FixtureError(f"{path}: entry {index} lacks {', '.join(missing)}")


def load_prices(directory: Path) -> dict[str, Price]:
    path = directory / "prices.yaml"
    prices: dict[str, Price] = {}
    for index, entry in enumerate(read_entries(path)):
        _require(path, index, entry, ("id", "tier", "name", "amount", "currency", "caps"))
        if entry["tier"] not in TIER_CHANNELS:
            raise FixtureError(f"{path}: price {entry['id']!r} has tier {entry['tier']!r}; use message or budget")
        caps = entry["caps"]
        if not isinstance(caps, dict) or set(caps) - set(CAP_FIELDS):
            raise FixtureError(f"{path}: price {entry['id']!r} caps may only set {', '.join(CAP_FIELDS)}")
        if entry["id"] in prices:
            raise FixtureError(f"{path}: price id {entry['id']!r} appears twice")
        prices[entry["id"]] = Price(
            id=entry["id"],
            tier=entry["tier"],
            name=entry["name"],
            channels=tuple(entry.get("channels") or TIER_CHANNELS[entry["tier"]]),
            amount=int(entry["amount"]),
            currency=entry["currency"],
            interval=entry.get("interval", "month"),
            caps=dict(caps),
        )
    return prices


def _absolute(path: Path, index: int, organization: Any, start: dt.datetime) -> Any:
    """``organization`` with dates relative to the clock's start (``start+P12D``) made absolute."""
    if not isinstance(organization, dict):
        return organization
    try:
        return resolve_dates(organization, start)
    except (ValueError, OverflowError) as error:
        raise FixtureError(f"{path}: entry {index}: {error}") from None


def load_tenants(directory: Path, spec: ApiSpec, start: dt.datetime | None = None) -> list[Tenant]:
    """The organizations of ``directory``; dates given relative to the clock's start are made absolute
    against ``start`` (now when None; docs/guide.md, "Billing time")."""
    start = start or dt.datetime.now(dt.UTC).replace(microsecond=0)
    path = directory / "organizations.yaml"
    validator = spec.validator("BillingResponse")
    tenants: list[Tenant] = []
    seen: set[str] = set()
    for index, entry in enumerate(read_entries(path)):
        _require(path, index, entry, ("apiKey", "clientId", "clientSecret", "organization"))
        organization = entry["organization"] = _absolute(path, index, entry["organization"], start)
        errors = sorted(validator.iter_errors(organization), key=lambda error: list(error.path))
        if errors:
            where = "/".join(str(part) for part in errors[0].path) or "organization"
            raise FixtureError(f"{path}: entry {index} ({where}): {errors[0].message}")
        for credential in (entry["apiKey"], entry["clientId"], organization["organizationId"]):
            if credential in seen:
                raise FixtureError(f"{path}: entry {index} reuses {credential!r}")
            seen.add(credential)
        tenants.append(
            Tenant(
                organization=organization,
                api_key=str(entry["apiKey"]),
                client_id=str(entry["clientId"]),
                client_secret=str(entry["clientSecret"]),
                label=str(entry.get("label", "")),
                description=str(entry.get("description", "")),
                stripe_failure=entry.get("stripeFailure"),
            )
        )
    return tenants
