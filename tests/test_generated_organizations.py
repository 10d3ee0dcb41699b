"""``--generate N``: the same organizations for the same seed, all valid, reachable by their keys."""

from __future__ import annotations

import datetime as dt
import random

from mock_server.clock import format_timestamp
from mock_server.generate import _Timestamps, generate_tenants
from mock_server.spec import load_spec, register_date_format
from mock_server.store import OrganizationStore


def test_the_same_seed_gives_the_same_organizations_and_another_seed_others() -> None:
    first = [tenant.organization for tenant in generate_tenants(300, seed=7)]
    assert first == [tenant.organization for tenant in generate_tenants(300, seed=7)]
    assert first != [tenant.organization for tenant in generate_tenants(300, seed=8)]
    assert generate_tenants(0, seed=7) == []


def test_every_generated_organization_is_a_valid_billing_answer() -> None:
    register_date_format()
    validator = load_spec().validator("BillingResponse")
    tenants = generate_tenants(2000, seed=3)
    for tenant in tenants:
        errors = list(validator.iter_errors(tenant.organization))
        assert not errors, (tenant.organization, errors[0].message)
    kinds = {tenant.organization["organizationType"] for tenant in tenants}
    assert kinds == {"free", "paid"}
    assert all(tenant.organization["updatedAt"] >= tenant.organization["createdAt"] for tenant in tenants)


def test_generated_keys_reach_their_organizations() -> None:
    store = OrganizationStore(generate_tenants(1000, seed=1), {})
    assert store.by_api_key("sk_test_gen_1") == "org_gen_000001"
    assert store.by_api_key("sk_test_gen_1000") == "org_gen_001000"
    assert store.by_basic("client_gen_500", "secret_gen_500") == "org_gen_000500"
    assert store.by_api_key("sk_test_gen_1001") is None


def test_timestamps_are_written_as_the_clock_writes_them() -> None:
    timestamp = _Timestamps()
    rng = random.Random(5)
    for seconds in [0, 951_782_400, *(rng.randrange(1_500_000_000, 1_900_000_000) for _ in range(2000))]:
        assert timestamp(seconds) == format_timestamp(dt.datetime.fromtimestamp(seconds, dt.UTC))
