"""openapi.yaml is a valid OpenAPI 3.0.3 document that the mock fully implements."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from mock_server.api import OPERATIONS
from mock_server.spec import SPEC_PATH, ApiSpec


def test_document_is_valid_openapi_3_0() -> None:
    document, _ = read_from_filename(str(SPEC_PATH))
    assert document["openapi"] == "3.0.3"
    validate(document)


def test_every_operation_has_a_handler(spec: ApiSpec) -> None:
    assert set(spec.operations) == set(OPERATIONS) == {"accountGetOrganization", "accountPrepareCheckoutSession"}


def test_either_credential_satisfies_every_operation(spec: ApiSpec) -> None:
    assert spec.resolved["security"] == [{"bearerAuth": []}, {"basicAuth": []}]
    schemes = spec.resolved["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["basicAuth"] == {**schemes["basicAuth"], "type": "http", "scheme": "basic"}


def test_every_error_status_uses_the_one_error_schema(spec: ApiSpec) -> None:
    error_schema = spec.schema("ErrorResponse")
    for operation in spec.operations.values():
        for status in ("400", "401", "402", "500", "502"):
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == error_schema, (operation["operationId"], status)


@pytest.mark.parametrize("operation_id", ["accountGetOrganization", "accountPrepareCheckoutSession"])
def test_every_response_has_valid_named_examples(spec: ApiSpec, operation_id: str) -> None:
    statuses = set(spec.documented_statuses(operation_id))
    examples = spec.examples(operation_id)
    assert {status for status, _ in examples.values()} == statuses
    for name, (status, body) in examples.items():
        schema_name = "ErrorResponse" if status >= 400 else None
        if schema_name is None:
            schema_name = "Organization" if operation_id == "accountGetOrganization" else "BillingResponse"
        errors = list(spec.validator(schema_name).iter_errors(body))
        assert not errors, (name, errors[0].message if errors else None)


def test_anniversary_date_is_a_date_and_seed_fields_are_kept(spec: ApiSpec) -> None:
    for name in ("Organization", "BillingResponse"):
        properties = spec.schema(name)["properties"]
        assert properties["anniversaryDate"]["format"] == "date"
        # Where the seed pages say only "string", the document adds nothing a deployment might not enforce.
        assert properties["createdAt"] == {"type": "string"}
    billing = spec.schema("BillingResponse")["properties"]
    assert billing["stripeCustomerId"]["description"] == "Stripe customer ID."
    # nullable in the real API's document (its SDK: `SubscriptionStatusEnum | null`); OpenAPI 3.0 lists the null.
    assert billing["subscriptionStatus"]["enum"] == ["active", "canceled", "past_due", "paused", None]
    assert billing["subscriptionStatus"]["nullable"] is True
    assert billing["status"]["enum"] == ["verified", "unverified", "blocked"]
    assert billing["pendingDowngradeAccountType"]["enum"] == ["free"]


def test_billing_links_to_get_organization(spec: ApiSpec) -> None:
    links = spec.operations["accountPrepareCheckoutSession"]["responses"]["200"]["links"]
    assert links["GetOrganization"]["operationId"] == "accountGetOrganization"


def test_date_format_rejects_impossible_dates(spec: ApiSpec) -> None:
    validator = spec.validator("Organization")
    example = spec.examples("accountGetOrganization")["free"][1]
    assert not list(validator.iter_errors(example))
    for bad in ("2026-02-30", "2026-1-01", "20261201", "tomorrow"):
        assert list(validator.iter_errors({**example, "anniversaryDate": bad})), bad
