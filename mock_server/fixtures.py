"""Loading the data in ``fixtures/``: demo organizations and the price catalog.

Each file is read by the bounded YAML reader (:mod:`billing_contract.bounded_yaml`: regular
files only, at most ``--max-fixture-bytes``, limited depth and aliases, no repeated key) and
each entry is checked field by field (:mod:`mock_server.fixture_fields`), the organization
against ``openapi.yaml``. A file that cannot be read, or an entry that does not pass, raises
:class:`FixtureError`: one line naming the file, the entry and the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from billing_contract.bounded_yaml import YamlLimits, YamlRefused, load_file
from billing_contract.excerpt import excerpt

from .fixture_fields import CAP_FIELDS, PRICE_FIELDS, TIER_CHANNELS, Field, check_entry, tenant_fields
from .lifecycle import resolve_dates
from .settings import MAX_FIXTURE_BYTES, ConfigError
from .spec import ApiSpec

__all__ = [
    "CAP_FIELDS",
    "FixtureError",
    "Price",
    "Tenant",
    "TIER_CHANNELS",
    "load_prices",
    "load_tenants",
    "read_entries",
]


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


def read_entries(path: Path, max_bytes: int = MAX_FIXTURE_BYTES) -> list[Any]:
    """The entries of a fixture file: a YAML list (:class:`FixtureError` naming the file otherwise)."""
    try:
        data = load_file(path, YamlLimits(max_bytes=max_bytes))
    except FileNotFoundError:
        raise FixtureError(f"fixture file {path} does not exist") from None
    except YamlRefused as error:
        hint = " (--max-fixture-bytes)" if error.limit == "max_bytes" else ""
        raise FixtureError(f"fixture file {path} {error}{hint}") from None
    if not isinstance(data, list):
        raise FixtureError(f"fixture file {path} must hold a list of entries, not {excerpt(data)}")
    return data


def _refused(path: Path, index: int, where: str, why: str) -> FixtureError:
    return FixtureError(f"{path}: entry {index}{f' ({where})' if where else ''}: {why}")


def _checked(
    path: Path,
    max_bytes: int,
    fields: Mapping[str, Field],
    prepare: Callable[[Any], tuple[str, str] | None] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each entry of the file, once ``prepare`` (in place) and its fields' checks passed."""
    for index, entry in enumerate(read_entries(path, max_bytes)):
        problem = prepare(entry) if prepare is not None else None
        problem = problem or check_entry(entry, fields)
        if problem is not None:
            raise _refused(path, index, *problem)
        yield index, entry


def load_prices(directory: Path, max_bytes: int = MAX_FIXTURE_BYTES) -> dict[str, Price]:
    path = directory / "prices.yaml"
    prices: dict[str, Price] = {}
    for index, entry in _checked(path, max_bytes, PRICE_FIELDS):
        tier = entry["tier"]
        channels = tuple(entry.get("channels", TIER_CHANNELS[tier]))
        other = next((channel for channel in channels if channel not in TIER_CHANNELS[tier]), None)
        if other is not None:
            raise _refused(
                path, index, "channels", f"{other} is not a {tier}-tier channel ({', '.join(TIER_CHANNELS[tier])})"
            )
        if entry["id"] in prices:
            raise _refused(path, index, "id", f"{excerpt(entry['id'])} is the id of an earlier entry too")
        prices[entry["id"]] = Price(
            id=entry["id"],
            tier=tier,
            name=entry["name"],
            channels=channels,
            amount=entry["amount"],
            currency=entry["currency"],
            interval=entry.get("interval", "month"),
            caps=dict(entry["caps"]),
        )
    return prices


def _absolute(entry: Any, start: dt.datetime) -> tuple[str, str] | None:
    """Make the dates of ``entry``'s organization given relative to the clock's start (``start+P12D``)
    absolute, in place; what is wrong with one, or None."""
    if not isinstance(entry, dict) or not isinstance(entry.get("organization"), dict):
        return None
    try:
        entry["organization"] = resolve_dates(entry["organization"], start)
    except (ValueError, OverflowError) as error:
        return "organization", str(error)
    return None


def load_tenants(
    directory: Path, spec: ApiSpec, start: dt.datetime | None = None, max_bytes: int = MAX_FIXTURE_BYTES
) -> list[Tenant]:
    """The organizations of ``directory``; dates given relative to the clock's start are made absolute
    against ``start`` (now when None; docs/guide.md, "Billing time")."""
    moment = start or dt.datetime.now(dt.UTC).replace(microsecond=0)
    path = directory / "organizations.yaml"
    tenants: list[Tenant] = []
    owners: dict[str, tuple[int, str]] = {}  # each credential and organizationId: its entry and field
    for index, entry in _checked(path, max_bytes, tenant_fields(spec), prepare=lambda entry: _absolute(entry, moment)):
        organization = entry["organization"]
        unique = {"apiKey": entry["apiKey"], "clientId": entry["clientId"]}
        unique["organization.organizationId"] = organization["organizationId"]
        for field, value in unique.items():
            if value in owners:
                first, first_field = owners[value]
                raise _refused(path, index, field, f"is the {first_field} of entry {first} too: each must be unique")
            owners[value] = (index, field)
        tenants.append(
            Tenant(
                organization=organization,
                api_key=entry["apiKey"],
                client_id=entry["clientId"],
                client_secret=entry["clientSecret"],
                label=entry.get("label", ""),
                description=entry.get("description", ""),
                stripe_failure=entry.get("stripeFailure"),
            )
        )
    return tenants
