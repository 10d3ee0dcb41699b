"""What the mock promises beyond the contract: its own error codes and demo data.

Marked ``mock_only``: skipped unless the target is the mock in-process.
"""

from __future__ import annotations

from typing import Any

import pytest

from .oracle import Oracle
from .report import Recorder
from .target import Target, bearer

pytestmark = pytest.mark.mock_only

VALID = {"successUrl": "https://app.example.com/ok", "cancelUrl": "https://app.example.com/cancel"}


def _post(target: Target, body: dict[str, Any], key: str = "sk_test_paid_org") -> tuple[int, Any, dict[str, str]]:
    answer = target.request("POST", "/billing", auth=bearer(key), body=body)
    return answer.status, answer.json, answer.headers


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**VALID, "messagePriceId": "price_does_not_exist"}, "price_not_found"),
        ({**VALID, "messagePriceId": "price_budget_starter"}, "price_wrong_tier"),
        ({**VALID, "successUrl": "/relative"}, "invalid_url"),
    ],
)
def test_mock_error_codes(target: Target, body: dict[str, Any], code: str) -> None:
    status, data, headers = _post(target, body)
    assert (status, data["error"]["code"]) == (400, code)
    assert headers["x-tracking-id"] == data["trackingId"]


def test_stripe_failure_org_gets_the_provider_error(target: Target, oracle: Oracle) -> None:
    with oracle.allowing("not_a_server_error"):  # the documented 502, provoked on purpose
        status, data, _ = _post(target, VALID, key="sk_test_stripe_error_org")
    assert (status, data["error"]["code"], data["error"].get("provider")) == (502, "provider_error", "stripe")


def test_free_demo_org_gets_a_stripe_customer(target: Target) -> None:
    status, data, _ = _post(target, VALID, key="sk_test_free_org")
    assert status == 200
    assert data["organizationId"] == "org_free_demo"
    assert data["stripeCustomerId"].startswith("cus_")


def test_every_documented_status_is_answered(target: Target, oracle: Oracle, recorder: Recorder) -> None:
    """``Prefer: code=NNN`` makes the mock answer each status the document gives, each answer judged by the oracle:
    in-process, --require-coverage holds for every documented status."""
    for operation, statuses in sorted(recorder.documented.items()):
        method, _, path = operation.partition(" ")
        body = VALID if method == "POST" else None
        for status in statuses:
            with oracle.allowing("not_a_server_error"):  # the documented 500 and 502, asked for
                answer = target.request(method, path, auth=target.auth, body=body, headers={"Prefer": f"code={status}"})
            assert answer.status == int(status), f"{operation} with Prefer: code={status}"
