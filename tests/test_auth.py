"""Bearer and basic credentials, every way to get 401, tenant isolation."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from mock_server.fixtures import load_tenants
from mock_server.settings import DEFAULT_FIXTURES
from mock_server.spec import load_spec

from .conftest import VALID_BODY, basic, bearer

TENANTS = load_tenants(DEFAULT_FIXTURES, load_spec())


@pytest.mark.parametrize("tenant", TENANTS, ids=lambda tenant: tenant.label)
def test_each_bearer_key_and_basic_pair_reaches_its_own_organization(client: TestClient, tenant) -> None:  # type: ignore[no-untyped-def]
    for headers in (bearer(tenant.api_key), basic(tenant.client_id, tenant.client_secret)):
        answer = client.get("/account/organization", headers=headers)
        assert answer.status_code == 200
        assert answer.json()["organizationId"] == tenant.organization_id


def test_tenants_are_isolated_on_both_operations(client: TestClient) -> None:
    seen = set()
    for tenant in TENANTS:
        got = client.get("/account/organization", headers=bearer(tenant.api_key)).json()
        seen.add(got["organizationId"])
        if tenant.stripe_failure is None:
            posted = client.post("/billing", headers=bearer(tenant.api_key), json=VALID_BODY).json()
            assert posted["organizationId"] == tenant.organization_id
    assert len(seen) == len(TENANTS)
    # The free organization's new Stripe customer is its own, not another's.
    free = client.post("/billing", headers=bearer("sk_test_free_org"), json=VALID_BODY).json()
    paid = client.post("/billing", headers=bearer("sk_test_paid_org"), json=VALID_BODY).json()
    assert free["stripeCustomerId"] != paid["stripeCustomerId"]


UNAUTHORIZED = [
    ({}, "missing_credentials"),
    (bearer("sk_test_unknown"), "invalid_credentials"),
    (bearer("sk_test_free_or"), "invalid_credentials"),
    (bearer("SK_TEST_FREE_ORG"), "invalid_credentials"),
    ({"Authorization": "Bearer"}, "malformed_credentials"),
    ({"Authorization": "Bearer "}, "malformed_credentials"),
    ({"Authorization": "Basic not-base64!"}, "malformed_credentials"),
    ({"Authorization": "Basic Y2xpZW50X2ZyZWVfb3Jn"}, "malformed_credentials"),  # no colon
    (basic("client_free_org", "wrong"), "invalid_credentials"),
    (basic("client_free_org", "secret_paid_org"), "invalid_credentials"),
    (basic("nobody", "secret_free_org"), "invalid_credentials"),
    ({"Authorization": "Token sk_test_free_org"}, "malformed_credentials"),
    ({"Authorization": "sk_test_free_org"}, "malformed_credentials"),
]


@pytest.mark.parametrize(
    ("headers", "code"), UNAUTHORIZED, ids=[code + str(i) for i, (_, code) in enumerate(UNAUTHORIZED)]
)
def test_every_way_to_be_refused_is_a_401_in_the_error_body(
    client: TestClient, headers: dict[str, str], code: str
) -> None:
    for answer in (
        client.get("/account/organization", headers=headers),
        client.post("/billing", headers=headers, json=VALID_BODY),
    ):
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body["error"]["code"] == code
        assert body["error"]["fix"]
        assert body["trackingId"] == answer.headers["x-tracking-id"]


def test_credentials_are_checked_before_the_body(client: TestClient) -> None:
    answer = client.post(
        "/billing",
        headers=bearer("sk_test_unknown"),
        content=b"{not json",
    )
    assert answer.status_code == 401


def test_secrets_never_reach_the_log(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        client.get("/account/organization", headers=bearer("sk_test_paid_org"))
        client.get("/account/organization", headers=basic("client_paid_org", "secret_paid_org"))
        client.get("/account/organization", headers=bearer("sk_test_guessed_secret"))
    assert caplog.records, "the access log line is missing"
    logged = caplog.text
    for secret in ("sk_test_paid_org", "secret_paid_org", "sk_test_guessed_secret"):
        assert secret not in logged
