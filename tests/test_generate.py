"""--generate N: more organizations, deterministic for a seed, each with its own key."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from starlette.testclient import TestClient

from mock_server import ConfigError, Settings, create_app
from mock_server.clock import format_timestamp
from mock_server.generate import ANCHOR, _Timestamps, generate_tenants
from mock_server.settings import MAX_GENERATE
from mock_server.spec import ApiSpec

from .conftest import BASE_URL, basic, bearer


def test_the_same_seed_gives_the_same_organizations() -> None:
    first = generate_tenants(50, seed=7)
    assert first == generate_tenants(50, seed=7)
    assert [tenant.organization for tenant in first] != [tenant.organization for tenant in generate_tenants(50, seed=8)]


def test_generated_organizations_are_valid_and_anchored(spec: ApiSpec) -> None:
    validator = spec.validator("BillingResponse")
    tenants = generate_tenants(300, seed=3)
    for tenant in tenants:
        assert not list(validator.iter_errors(tenant.organization)), tenant.organization
        assert tenant.organization["createdAt"] < ANCHOR.isoformat()
    assert {tenant.organization["organizationType"] for tenant in tenants} == {"free", "paid"}
    assert len({tenant.organization_id for tenant in tenants}) == 300
    assert len({tenant.api_key for tenant in tenants}) == 300


def test_generated_keys_and_basic_pairs_work_through_the_api() -> None:
    app = create_app(Settings(generate=25, seed=11))
    with TestClient(app, base_url=BASE_URL) as client:
        assert client.get("/__mock__/health").json()["organizations"] == 8 + 25
        by_key = client.get("/account/organization", headers=bearer("sk_test_gen_25"))
        by_pair = client.get("/account/organization", headers=basic("client_gen_25", "secret_gen_25"))
        assert by_key.status_code == by_pair.status_code == 200
        assert by_key.json() == by_pair.json()
        assert by_key.json()["organizationId"] == "org_gen_000025"
        assert client.get("/account/organization", headers=bearer("sk_test_gen_26")).status_code == 401


def test_no_organizations_asked_for_none_made() -> None:
    assert generate_tenants(0, seed=7) == []


def test_generated_timestamps_are_written_as_the_clock_writes_them() -> None:
    timestamp = _Timestamps()
    rng = random.Random(5)
    for seconds in [0, 951_782_400, *(rng.randrange(1_500_000_000, 1_900_000_000) for _ in range(2000))]:
        assert timestamp(seconds) == format_timestamp(dt.datetime.fromtimestamp(seconds, dt.UTC))
    for tenant in generate_tenants(500, seed=2):
        assert tenant.organization["createdAt"] <= tenant.organization["updatedAt"]


def test_more_than_the_limit_is_refused_before_anything_is_made() -> None:
    """A count past MAX_GENERATE (1,000,000: about 15 s and 1.6 GiB) stops start-up, however it was given."""
    assert MAX_GENERATE == 1_000_000
    with pytest.raises(
        ConfigError, match="--generate must be a whole number of organizations from 0 to 1000000, got 9"
    ):
        create_app(Settings(generate=999_999_999_999))
