"""GET /account/organization shows each fixture's state in the documented shape."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server.fixtures import load_tenants
from mock_server.settings import DEFAULT_FIXTURES
from mock_server.spec import ApiSpec, load_spec

from .conftest import bearer

TENANTS = load_tenants(DEFAULT_FIXTURES, load_spec())


@pytest.mark.parametrize("label", [tenant.label for tenant in TENANTS])
def test_each_fixture_state_is_served_in_the_get_shape(app, client: TestClient, spec: ApiSpec, label: str) -> None:  # type: ignore[no-untyped-def]
    tenant = next(tenant for tenant in app.services.store if tenant.label == label)
    answer = client.get("/account/organization", headers=bearer(tenant.api_key))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert not list(spec.validator("Organization").iter_errors(body))
    fields = set(spec.response_fields("accountGetOrganization"))
    assert set(body) <= fields
    assert body == {key: value for key, value in tenant.organization.items() if key in fields}


def test_billing_only_fields_stay_out_of_the_get_answer(client: TestClient) -> None:
    body = client.get("/account/organization", headers=bearer("sk_test_downgrade_org")).json()
    assert "stripeCustomerId" not in body
    assert not any(key.startswith("pendingDowngrade") for key in body)
