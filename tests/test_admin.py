"""/__mock__/ routes, their access rule, the docs, and CORS."""

from __future__ import annotations

from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.asgi import MockServer

from .conftest import BASE_URL, VALID_BODY, bearer

FREE = bearer("sk_test_free_org")


def test_health(client: TestClient) -> None:
    answer = client.get("/__mock__/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["organizations"] == 8


def test_reset_goes_back_to_the_fixtures(app: MockServer, client: TestClient) -> None:
    created = client.post("/billing", headers=FREE, json={**VALID_BODY, "messagePriceId": "price_message_starter"})
    assert created.json()["stripeCustomerId"]
    answer = client.post("/__mock__/reset")
    assert answer.status_code == 200
    again = client.post("/billing", headers=FREE, json=VALID_BODY).json()
    assert again["stripeCustomerId"] != created.json()["stripeCustomerId"]
    assert client.get("/account/organization", headers=FREE).json()["updatedAt"] == again["updatedAt"]
    assert client.post("/__mock__/reset").status_code == 200
    fixture = app.services.store.tenants["org_free_demo"].organization
    assert client.get("/account/organization", headers=FREE).json()["updatedAt"] == fixture["updatedAt"]


def test_recent_requests_carry_tracking_ids(client: TestClient) -> None:
    first = client.get("/account/organization", headers=FREE)
    second = client.get("/account/organization", headers={"Authorization": "Bearer nope"})
    log = client.get("/__mock__/requests?limit=5").json()["requests"]
    assert [entry["trackingId"] for entry in log[:2]] == [
        second.headers["x-tracking-id"],
        first.headers["x-tracking-id"],
    ]
    assert log[1] == {**log[1], "status": 200, "organizationId": "org_free_demo", "path": "/account/organization"}
    assert log[0]["status"] == 401
    assert client.get("/__mock__/requests?limit=0").status_code == 400
    assert client.get("/__mock__/requests?limit=²").status_code == 400
    assert client.get("/__mock__/requests?limit=x").json()["error"]["code"] == "validation_error"


def test_unknown_mock_route_and_method(client: TestClient) -> None:
    for path in ("/__mock__/nope", "/__mock__/health/", "/__mock__/checkout/", "/__mock__/checkout/cs_1/pay"):
        unknown = client.get(path)
        assert unknown.status_code == 404, path
        assert unknown.json()["error"]["code"] == "not_found"
        assert unknown.json()["trackingId"] == unknown.headers["x-tracking-id"]
    answer = client.get("/__mock__/reset")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.json()["error"]["code"] == "method_not_allowed"
    wrong = client.put("/__mock__/checkout/cs_test_anything")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, HEAD, POST"
    assert "GET, HEAD, POST" in wrong.json()["error"]["message"]
    assert client.delete("/__mock__/").headers["allow"] == "GET, HEAD"
    assert client.head("/__mock__/health").status_code == 200


def test_off_loopback_the_token_is_checked_before_the_method() -> None:
    with TestClient(create_app(Settings(host="0.0.0.0", admin_token="let-me-in")), base_url=BASE_URL) as client:
        assert client.delete("/__mock__/reset").status_code == 403
        assert client.delete("/__mock__/reset", headers={"X-Admin-Token": "let-me-in"}).status_code == 405
        assert client.get("/__mock__/nope").status_code == 404
        assert client.put("/__mock__/checkout/cs_test_anything").status_code == 405  # a public route


def test_off_loopback_the_mock_routes_need_the_admin_token() -> None:
    closed = create_app(Settings(host="0.0.0.0"))
    with TestClient(closed, base_url=BASE_URL) as client:
        answer = client.post("/__mock__/reset")
        assert answer.status_code == 403
        assert "--admin-token" in answer.json()["error"]["message"]
    guarded = create_app(Settings(host="0.0.0.0", admin_token="let-me-in"))
    with TestClient(guarded, base_url=BASE_URL) as client:
        assert client.get("/__mock__/health").status_code == 403
        assert client.get("/__mock__/health", headers={"X-Admin-Token": "wrong"}).status_code == 403
        assert client.get("/__mock__/health", headers={"X-Admin-Token": "let-me-in"}).status_code == 200
        # the API itself is unaffected
        assert client.get("/account/organization", headers=FREE).status_code == 200


def test_swagger_ui_and_the_document_are_served(client: TestClient) -> None:
    assert "swagger" in client.get("/ui/").text.lower()
    assert client.get("/openapi.json").json()["paths"].keys() == {"/account/organization", "/billing"}
    assert "accountPrepareCheckoutSession" in client.get("/openapi.yaml").text


def test_cors_preflight_from_localhost_is_allowed_and_exposes_the_tracking_id(client: TestClient) -> None:
    preflight = client.options(
        "/billing",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, prefer",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    actual = client.get("/account/organization", headers={**FREE, "Origin": "http://127.0.0.1:3000"})
    assert actual.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"
    assert "X-Tracking-Id" in actual.headers["access-control-expose-headers"]


def test_cors_refuses_other_origins_unless_configured() -> None:
    request = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}
    with TestClient(create_app(Settings()), base_url=BASE_URL) as client:
        refused = client.options("/billing", headers=request)
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        assert refused.json()["error"]["code"] == "validation_error"
        assert "--cors-origin" in refused.json()["error"]["fix"]
    with TestClient(create_app(Settings(cors_origin=("https://app.example.com",))), base_url=BASE_URL) as client:
        allowed = client.options("/billing", headers=request)
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
