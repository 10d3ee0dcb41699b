"""``--generate N``: more organizations, made with Faker, deterministic per seed.

Dates are computed from a fixed anchor, never from "now", so the same
``(count, seed)`` gives the same organizations on every machine and every day.
Credentials follow the index: ``sk_test_gen_<n>``, ``client_gen_<n>`` /
``secret_gen_<n>`` for n = 1..N.
"""

from __future__ import annotations

import datetime as dt
import random

from faker import Faker

from .clock import format_timestamp
from .fixtures import Tenant

__all__ = ["ANCHOR", "generate_tenants"]

ANCHOR = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_POOL = 500
_FREE_CAPS = {"messagesCap": 1000, "costCap": 0, "smsCap": 0, "callCap": 0}
_PAID_CAPS = (
    {"messagesCap": 50000, "costCap": 50, "smsCap": 2000, "callCap": 200},
    {"messagesCap": 250000, "costCap": 200, "smsCap": 10000, "callCap": 1000},
)
_SUBSCRIPTION = ("active", "active", "active", "past_due", "paused")


def generate_tenants(count: int, seed: int) -> list[Tenant]:
    """``count`` organizations; the same arguments always give the same list."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)  # noqa: S311 - demo data, deterministic on purpose
    pool = min(count, _POOL)
    companies = [fake.company() for _ in range(pool)]
    users = [fake.user_name() for _ in range(pool)]
    domains = [fake.domain_name() for _ in range(pool)]
    tenants = []
    for number in range(1, count + 1):
        created = ANCHOR - dt.timedelta(days=rng.randrange(30, 900), seconds=rng.randrange(86400))
        updated = created + dt.timedelta(days=rng.randrange(0, 30), seconds=rng.randrange(86400))
        anniversary = ANCHOR.date() + dt.timedelta(days=rng.randrange(365))
        paid = rng.random() < 0.4
        organization: dict[str, object] = {
            "organizationId": f"org_gen_{number:06d}",
            "organizationType": "paid" if paid else "free",
            "creator": f"{rng.choice(users)}@{rng.choice(domains)}",
            "name": rng.choice(companies),
            **(rng.choice(_PAID_CAPS) if paid else _FREE_CAPS),
            "anniversaryDate": anniversary.isoformat(),
            "allowOverage": paid and rng.random() < 0.5,
            "createdAt": format_timestamp(created),
            "updatedAt": format_timestamp(updated),
            "status": "verified" if paid or rng.random() < 0.5 else "unverified",
        }
        if paid:
            organization.update(
                stripeCustomerId=f"cus_gen{number:011d}",
                stripeSubscriptionId=f"sub_gen{number:011d}",
                subscriptionStatus=rng.choice(_SUBSCRIPTION),
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
