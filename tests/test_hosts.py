"""The Host allowlist: a name pointed at the mock by DNS rebinding gets 421, on every route."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server import ConfigError, Settings, create_app
from mock_server.cli import parse_args
from mock_server.origins import HostAllowlist

from .conftest import BASE_URL, bearer

FREE = bearer("sk_test_free_org")
ROUTES = ["/account/organization", "/__mock__/", "/__mock__/health", "/openapi.json", "/ui/", "/nope"]


def status(settings: Settings, host: str, path: str = "/account/organization") -> int:
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        return client.get(path, headers={**FREE, "Host": host}).status_code


@pytest.mark.parametrize("path", ROUTES)
def test_a_rebound_name_is_refused_on_every_route(path: str) -> None:
    with TestClient(create_app(Settings()), base_url=BASE_URL) as client:
        refused = client.get(path, headers={**FREE, "Host": "attacker.example:8080"})
        assert refused.status_code == 421
        body = refused.json()
        assert body["error"]["code"] == "host_not_allowed"
        assert "attacker.example" in body["error"]["message"]
        assert "--allowed-hosts" in body["error"]["fix"]
        assert body["trackingId"] == refused.headers["x-tracking-id"]
        assert "sk_test_" not in refused.text
        logged = client.get("/__mock__/requests?limit=1").json()["requests"][0]
        assert (logged["path"], logged["status"]) == (path, 421)


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:5173", "LocalHost:8080", "127.0.0.1", "127.0.0.1:1", "[::1]", "[::1]:8080"]
)
def test_loopback_names_are_served_on_any_port(host: str) -> None:
    assert status(Settings(), host) == 200


@pytest.mark.parametrize("host", ["127.0.0.1.attacker.example", "localhost.attacker.example", "[::2]", "::1", ""])
def test_names_that_only_look_local_are_refused(host: str) -> None:
    assert status(Settings(), host) == 421


def test_allowed_hosts_adds_names_and_star_allows_any() -> None:
    settings = Settings(allowed_hosts=("mock.internal", "10.0.0.5"))
    assert status(settings, "mock.internal:8080") == 200
    assert status(settings, "MOCK.internal") == 200
    assert status(settings, "10.0.0.5") == 200
    assert status(settings, "other.internal") == 421
    assert status(Settings(allowed_hosts=("*",)), "anything.example") == 200


def test_the_bound_address_and_the_public_base_url_are_served() -> None:
    assert status(Settings(host="192.168.1.5"), "192.168.1.5:8080") == 200
    assert status(Settings(host="192.168.1.5"), "192.168.1.6:8080") == 421
    assert status(Settings(host="fd00::5"), "[fd00::5]:8080") == 200
    assert status(Settings(checkout_base_url="https://mock.example.com"), "mock.example.com") == 200


def test_on_every_address_any_ip_is_served_but_names_need_allowed_hosts() -> None:
    wildcard = Settings(host="0.0.0.0")
    for host in ("10.1.2.3:8080", "[fe80::1]:8080", "localhost"):
        assert status(wildcard, host) == 200, host
    assert status(wildcard, "mock:8080") == 421
    assert status(Settings(host="::", allowed_hosts=("mock",)), "mock:8080") == 200


def test_a_request_without_host_is_served() -> None:
    # HTTP/1.0 may leave Host out; a browser, and so a rebinding page, never does
    assert HostAllowlist(Settings()).allows(None)
    assert not HostAllowlist(Settings()).allows(b"attacker.example")


def test_allowed_hosts_from_the_flag_and_the_environment() -> None:
    flagged = parse_args(["--allowed-hosts", "Mock.Internal, 10.0.0.5 ,::1,"], environ={})
    assert flagged.allowed_hosts == ("mock.internal", "10.0.0.5", "[::1]")
    from_env = parse_args([], environ={"MOCK_SERVER_ALLOWED_HOSTS": "*"})
    assert from_env.allowed_hosts == ("*",)
    for bad in ("http://mock.internal", "mock.internal:8080", "mock/internal", "mo ck"):
        with pytest.raises(ConfigError, match="MOCK_SERVER_ALLOWED_HOSTS"):
            Settings.from_env({"MOCK_SERVER_ALLOWED_HOSTS": bad})
