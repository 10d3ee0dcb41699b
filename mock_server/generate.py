"""``--generate N``: more organizations, made with Faker, deterministic per seed.

Dates are computed from a fixed anchor, never from "now", so the same
``(count, seed)`` gives the same organizations on every machine and every day.
Credentials follow the index: ``sk_test_gen_<n>``, ``client_gen_<n>`` /
``secret_gen_<n>`` for n = 1..N.

Faker makes a pool of names, users and domains; each organization draws from the
pool and from a seeded PRNG, one column at a time (``random.choices``), so 100,000
organizations take a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from .fixtures import Tenant
from .settings import MAX_GENERATE, ConfigError

__all__ = ["ANCHOR", "generate_tenants"]

ANCHOR = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_POOL = 500
_DAY = 86400
_FREE_CAPS = {"messagesCap": 1000, "costCap": 0, "smsCap": 0, "callCap": 0}
_PAID_CAPS = (
    {"messagesCap": 50000, "costCap": 50, "smsCap": 2000, "callCap": 200},
    {"messagesCap": 250000, "costCap": 200, "smsCap": 10000, "callCap": 1000},
)
_SUBSCRIPTION = ("active", "active", "active", "past_due", "paused")


class _Timestamps:
    """Seconds since the epoch as the API writes them (``format_timestamp`` for whole seconds)."""

    def __init__(self) -> None:
        self._dates: dict[int, str] = {}

    def __call__(self, seconds: int) -> str:
        day, rest = divmod(seconds, _DAY)
        date = self._dates.get(day)
        if date is None:
            date = self._dates[day] = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + day).isoformat()
        hours, rest = divmod(rest, 3600)
        return f"{date}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.000Z"


def generate_tenants(count: int, seed: int) -> list[Tenant]:
    """``count`` organizations (at most :data:`~mock_server.settings.MAX_GENERATE`); the same arguments
    always give the same list."""
    if count > MAX_GENERATE:
        raise ConfigError(f"--generate must be a whole number of organizations from 0 to {MAX_GENERATE}, got {count}")
    if count <= 0:
        return []
    from faker import Faker  # a tenth of a second to import: only when asked for

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)  # noqa: S311 - demo data, deterministic on purpose
    pool = min(count, _POOL)
    companies = [fake.company() for _ in range(pool)]
    users = [fake.user_name() for _ in range(pool)]
    domains = [fake.domain_name() for _ in range(pool)]
    anchor = int(ANCHOR.timestamp())
    anniversaries = [(ANCHOR.date() + dt.timedelta(days=day)).isoformat() for day in range(365)]

    def draws(population: Any) -> list[Any]:
        return rng.choices(population, k=count)

    created = [
        anchor - days * _DAY - seconds for days, seconds in zip(draws(range(30, 900)), draws(range(_DAY)), strict=True)
    ]
    later = [days * _DAY + seconds for days, seconds in zip(draws(range(30)), draws(range(_DAY)), strict=True)]
    paid = [rng.random() < 0.4 for _ in range(count)]
    timestamp = _Timestamps()
    columns = zip(
        range(1, count + 1),
        paid,
        draws(users),
        draws(domains),
        draws(companies),
        draws(_PAID_CAPS),
        draws(anniversaries),
        draws((True, False)),
        created,
        later,
        draws((True, False)),
        draws(_SUBSCRIPTION),
        strict=True,
    )
    tenants = []
    for number, is_paid, user, domain, name, caps, anniversary, overage, born, changed, verified, status in columns:
        organization: dict[str, object] = {
            "organizationId": f"org_gen_{number:06d}",
            "organizationType": "paid" if is_paid else "free",
            "creator": f"{user}@{domain}",
            "name": name,
            **(caps if is_paid else _FREE_CAPS),
            "anniversaryDate": anniversary,
            "allowOverage": is_paid and overage,
            "createdAt": timestamp(born),
            "updatedAt": timestamp(born + changed),
            "status": "verified" if is_paid or verified else "unverified",
        }
        if is_paid:
            organization.update(
                stripeCustomerId=f"cus_gen{number:011d}",
                stripeSubscriptionId=f"sub_gen{number:011d}",
                subscriptionStatus=status,
            )
        tenants.append(
            Tenant(
                organization=organization,
                api_key=f"sk_test_gen_{number}",
                client_id=f"client_gen_{number}",
                client_secret=f"secret_gen_{number}",
                label="generated",
                description=f"Generated with seed {seed}",
            )
        )
    return tenants
