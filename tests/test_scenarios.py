"""Scenario control: Prefer code / example / delay, and --latency."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.spec import ApiSpec, load_spec

from .conftest import VALID_BODY, bearer, organization

PAID = bearer("sk_test_paid_org")
SPEC = load_spec()
CASES = [
    (operation_id, status) for operation_id in SPEC.operations for status in SPEC.documented_statuses(operation_id)
]


def _call(client: TestClient, operation_id: str, headers: dict[str, str]) -> httpx.Response:
    if operation_id == "accountGetOrganization":
        return client.get("/account/organization", headers={**PAID, **headers})
    return client.post("/billing", headers={**PAID, **headers}, json=VALID_BODY)


@pytest.mark.parametrize(("operation_id", "status"), CASES, ids=[f"{op}-{code}" for op, code in CASES])
def test_prefer_code_forces_each_documented_status_with_a_valid_body(
    client: TestClient, spec: ApiSpec, operation_id: str, status: int
) -> None:
    answer = _call(client, operation_id, {"Prefer": f"code={status}"})
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    if status >= 400:
        assert not list(spec.validator("ErrorResponse").iter_errors(body))
        assert body["trackingId"] == answer.headers["x-tracking-id"]
    else:
        assert body["organizationId"] == "org_paid_demo", "code=200 answers the real state"


def test_prefer_example_picks_a_named_example(client: TestClient) -> None:
    answer = _call(client, "accountPrepareCheckoutSession", {"Prefer": "example=pending_downgrade"})
    assert answer.status_code == 200
    assert answer.json()["pendingDowngradeAccountType"] == "free"
    wrong_tier = _call(client, "accountPrepareCheckoutSession", {"Prefer": "code=400, example=price_wrong_tier"})
    assert wrong_tier.status_code == 400
    assert wrong_tier.json()["error"]["code"] == "price_wrong_tier"
    stripe = _call(client, "accountGetOrganization", {"Prefer": "example=stripe_error"})
    assert (stripe.status_code, stripe.json()["error"]["provider"]) == (502, "stripe")


def test_forced_answers_leave_the_state_alone(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    free = bearer("sk_test_free_org")
    answer = client.post("/billing", headers={**free, "Prefer": "code=502"}, json=VALID_BODY)
    assert answer.status_code == 502
    assert "stripeCustomerId" not in organization(app, "org_free_demo")


@pytest.mark.parametrize(
    "prefer",
    [
        "code=404",
        "code=abc",
        "code=2000",
        "example=nope",
        "code=200, example=stripe_error",
        "delay=-5",
        "delay=999999",
        "example=",
    ],
)
def test_an_impossible_preference_is_a_400_that_says_why(client: TestClient, prefer: str) -> None:
    answer = _call(client, "accountGetOrganization", {"Prefer": prefer})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_prefer"
    assert error["message"]


def test_other_preferences_are_ignored(client: TestClient) -> None:
    assert _call(client, "accountGetOrganization", {"Prefer": "return=minimal"}).status_code == 200


def test_credentials_are_still_required_with_a_preference(client: TestClient) -> None:
    answer = client.get("/account/organization", headers={"Prefer": "code=200"})
    assert answer.status_code == 401


def test_delay_and_latency_do_not_block_other_requests() -> None:
    app = create_app(Settings(latency=50))

    async def race() -> tuple[float, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as http:
            started = time.perf_counter()

            async def timed(headers: dict[str, str]) -> float:
                answer = await http.get("/account/organization", headers={**PAID, **headers})
                assert answer.status_code == 200
                return time.perf_counter() - started

            slow, fast = await asyncio.gather(timed({"Prefer": "delay=600"}), timed({}))
            return slow, fast

    slow, fast = asyncio.run(race())
    assert slow >= 0.65, "delay adds to --latency"
    assert 0.05 <= fast < 0.6, "latency applies, and the delayed request does not hold up the other"
