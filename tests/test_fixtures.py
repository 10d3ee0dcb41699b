"""The shipped fixtures are valid, cover every state, and bad ones stop start-up."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server import ConfigError, Settings, create_app
from mock_server.fixtures import Tenant, load_prices, load_tenants
from mock_server.settings import DEFAULT_FIXTURES
from mock_server.spec import ApiSpec, load_spec

TENANTS = load_tenants(DEFAULT_FIXTURES, load_spec())


@pytest.mark.parametrize("tenant", TENANTS, ids=lambda tenant: tenant.label)
def test_every_fixture_is_valid_against_the_document(spec: ApiSpec, tenant: Tenant) -> None:
    assert not list(spec.validator("BillingResponse").iter_errors(tenant.organization))
    fields = spec.response_fields("accountGetOrganization")
    projected = {key: value for key, value in tenant.organization.items() if key in fields}
    assert not list(spec.validator("Organization").iter_errors(projected))


def _by_label(label: str) -> dict[str, object]:
    return next(tenant.organization for tenant in TENANTS if tenant.label == label)


def test_fixtures_cover_every_state_the_api_describes() -> None:
    free = _by_label("free")
    assert (free["organizationType"], free["status"]) == ("free", "unverified")
    assert "stripeCustomerId" not in free
    paid = _by_label("paid")
    assert (paid["organizationType"], paid["status"], paid["subscriptionStatus"]) == ("paid", "verified", "active")
    assert _by_label("past_due")["subscriptionStatus"] == "past_due"
    assert _by_label("paused")["subscriptionStatus"] == "paused"
    assert _by_label("canceled")["subscriptionStatus"] == "canceled"
    assert _by_label("blocked")["status"] == "blocked"
    downgrade = _by_label("pending_downgrade")
    pending = {key for key in downgrade if key.startswith("pendingDowngrade")}
    assert pending == {
        "pendingDowngradeCostCap",
        "pendingDowngradeMessagesCap",
        "pendingDowngradeSmsCap",
        "pendingDowngradeCallCap",
        "pendingDowngradeEffectiveDate",
        "pendingDowngradeAccountType",
    }
    assert [tenant.label for tenant in TENANTS if tenant.stripe_failure] == ["stripe_failure"]


def test_demo_identifiers_stay_stable() -> None:
    keys = {tenant.label: tenant.api_key for tenant in TENANTS}
    assert keys["free"] == "sk_test_free_org"
    assert keys["paid"] == "sk_test_paid_org"
    prices = load_prices(DEFAULT_FIXTURES)
    assert prices["price_message_starter"].tier == "message"
    assert prices["price_budget_starter"].tier == "budget"


def test_every_credential_is_unique() -> None:
    secrets = [value for tenant in TENANTS for value in (tenant.api_key, tenant.client_id)]
    assert len(secrets) == len(set(secrets))


def _fixtures_with(tmp_path: Path, name: str, change: Callable[[list[Any]], None]) -> Path:
    """A copy of the shipped fixtures with ``change`` applied to the entries of ``name``."""
    target = tmp_path / "fixtures"
    shutil.copytree(DEFAULT_FIXTURES, target)
    entries = yaml.safe_load((target / name).read_text())
    change(entries)
    (target / name).write_text(yaml.safe_dump(entries))
    return target


def test_broken_yaml_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    fixtures = _fixtures_with(tmp_path, "organizations.yaml", lambda entries: None)
    (fixtures / "organizations.yaml").write_text("- organization: [unclosed\n")
    with pytest.raises(ConfigError, match=r"organizations\.yaml"):
        create_app(Settings(fixtures=fixtures))


def test_an_organization_off_the_schema_stops_start_up_naming_the_field(tmp_path: Path) -> None:
    def impossible_date(entries: list[Any]) -> None:
        entries[1]["organization"]["anniversaryDate"] = "2026-02-30"

    fixtures = _fixtures_with(tmp_path, "organizations.yaml", impossible_date)
    with pytest.raises(ConfigError, match=r"organizations\.yaml: entry 1 \(anniversaryDate\)"):
        create_app(Settings(fixtures=fixtures))


def test_a_price_of_an_unknown_tier_stops_start_up(tmp_path: Path) -> None:
    fixtures = _fixtures_with(tmp_path, "prices.yaml", lambda entries: entries[0].update(tier="gold"))
    with pytest.raises(ConfigError, match=r"prices\.yaml: price 'price_message_starter' has tier 'gold'"):
        create_app(Settings(fixtures=fixtures))


def test_a_reused_api_key_stops_start_up(tmp_path: Path) -> None:
    fixtures = _fixtures_with(
        tmp_path, "organizations.yaml", lambda entries: entries[2].update(apiKey="sk_test_free_org")
    )
    with pytest.raises(ConfigError, match="reuses 'sk_test_free_org'"):
        create_app(Settings(fixtures=fixtures))


def test_a_missing_fixture_folder_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        create_app(Settings(fixtures=tmp_path / "nowhere"))
