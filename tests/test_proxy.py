"""``mock-server --proxy``: the project's faulty deployment on a real socket, behind the mock."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from mock_server import ConfigError, Settings, create_app
from mock_server.asgi import replay
from tests.faulty_app import FAULTS, create_faulty_app
from tests.servers import read_banner, run_mock

pytestmark = pytest.mark.socket

ALPHA = {"Authorization": "Bearer sk_live_alpha"}
ALPHA_BASIC = {"Authorization": "Basic " + base64.b64encode(b"cli_alpha:pw_alpha").decode()}
URLS = {"successUrl": "https://app.alpha.test/done", "cancelUrl": "https://app.alpha.test/back"}
MOCK = "http://127.0.0.1:8080"


@contextmanager
def serving(app: Any, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, until the block ends: its base URL.

    ``tls``: a certificate and its key, for https.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP: asyncio sets NODELAY
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    certificate, key = (str(tls[0]), str(tls[1])) if tls else (None, None)
    config = uvicorn.Config(
        app,
        loop="asyncio",
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
        ssl_certfile=certificate,
        ssl_keyfile=key,
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(sockets=[sock]),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        loop.close()


@contextmanager
def proxy_to(upstream: str, **settings: Any) -> Iterator[TestClient]:
    app = create_app(Settings(proxy=upstream, **settings))
    with TestClient(app, base_url=MOCK, raise_server_exceptions=False) as client:
        yield client


@contextmanager
def proxied(fault: str | None = None, variant: str | None = None, **settings: Any) -> Iterator[TestClient]:
    """The mock proxying to the faulty deployment with ``fault``."""
    with serving(create_faulty_app(fault, variant=variant)) as upstream, proxy_to(upstream, **settings) as client:
        yield client


def last_entry(client: TestClient) -> dict[str, Any]:
    """The newest entry of the request log but the log's own."""
    entries: list[dict[str, Any]] = client.get("/__mock__/requests").json()["requests"]
    return next(entry for entry in entries if not entry["path"].startswith("/__mock__"))


@pytest.mark.parametrize("variant", [None, "extra_fields", "charset", "optional_fields_left_out"])
def test_a_correct_deployment_passes_through_unjudged(variant: str | None) -> None:
    with proxied(variant=variant) as client:
        got = client.get("/account/organization", headers=ALPHA)
        posted = client.post("/billing", headers=ALPHA, json={**URLS, "messagePriceId": "plan_msgs_10k"})
        refused = client.get("/account/organization", headers={"Authorization": "Bearer sk_nobody"})
        entry = last_entry(client)
        client_log = client.get("/__mock__/requests").json()["requests"][::-1]
    assert got.status_code == 200 and got.json()["organizationId"] == "acct_alpha", "the deployment's own data"
    assert posted.json()["url"].startswith("https://pay.alpha.test/")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "bad_key", "its own error codes"
    for answer in (got, posted, refused):
        assert "x-contract-violation" not in answer.headers
        assert answer.headers["x-tracking-id"]
    assert entry["violations"] == [] and entry["status"] == 401
    api = [entry["organizationId"] for entry in client_log if not entry["path"].startswith("/__mock__")]
    assert api == ["acct_alpha", "acct_alpha", None], "the organization the deployment answered for"


GET_ORGANIZATION = ("GET", "/account/organization", None)
# Each fault of the faulty deployment one answer shows, the request that shows it, and the check that names it.
SHOWN_BY_ONE_ANSWER = {
    "missing_field": (GET_ORGANIZATION, "response_schema_conformance"),
    "wrong_type": (GET_ORGANIZATION, "response_schema_conformance"),
    "unknown_enum": (GET_ORGANIZATION, "response_schema_conformance"),
    "null_field": (("POST", "/billing", URLS), "response_schema_conformance"),
    "malformed_date": (GET_ORGANIZATION, "anniversary_date_is_a_date"),
    "wrong_content_type": (GET_ORGANIZATION, "content_type_conformance"),
    "undocumented_status": (("POST", "/billing", URLS), "status_code_conformance"),
    "error_without_tracking": (("POST", "/billing", {"successUrl": 1}), "error_body_documented"),
    "session_without_price": (("POST", "/billing", URLS), "session_exactly_with_a_price"),
    "session_needs_both_prices": (
        ("POST", "/billing", {**URLS, "messagePriceId": "plan_msgs_10k"}),
        "session_exactly_with_a_price",
    ),
}
# Faults that only requests the proxy does not choose, or several answers compared, show (docs/proxy.md):
# contract-tests against the deployment catches them.
NOT_JUDGED = {
    "server_error",  # a documented 500 keeps the contract
    "ignore_credentials",
    "wrong_key_403",
    "new_customer_each_call",
    "post_other_org",
    "other_tier_accepted",
    "post_changes_organization",
}


def test_every_fault_is_either_judged_or_said_not_to_be() -> None:
    assert set(SHOWN_BY_ONE_ANSWER) | NOT_JUDGED == set(FAULTS)


@pytest.mark.parametrize("fault", sorted(SHOWN_BY_ONE_ANSWER))
def test_each_fault_is_named_in_the_header_and_the_log(fault: str) -> None:
    (method, path, body), check = SHOWN_BY_ONE_ANSWER[fault]
    with proxied(fault) as client:
        answer = client.request(method, path, headers=ALPHA, json=body)
        entry = last_entry(client)
    assert answer.status_code < 500, "the deployment's answer comes back as it was"
    assert check in answer.headers["x-contract-violation"].split(", ")
    assert check in [violation["check"] for violation in entry["violations"]]
    assert all(violation["message"] for violation in entry["violations"])


# The first loop's pooled connection cannot be closed once its loop is gone: the collector closes it.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning")
def test_a_test_client_without_a_lifespan_can_proxy_twice() -> None:
    """Starlette's TestClient outside ``with`` runs each request in an event loop of its own."""
    with serving(create_faulty_app()) as upstream:
        client = TestClient(create_app(Settings(proxy=upstream)), base_url=MOCK)
        statuses = [client.get("/account/organization", headers=ALPHA).status_code for _ in range(2)]
    del client
    gc.collect()  # here, where the warnings are ignored
    assert statuses == [200, 200]


def test_the_answer_comes_back_unchanged() -> None:
    with serving(create_faulty_app("wrong_type")) as upstream:
        direct = httpx.get(upstream + "/account/organization", headers=ALPHA)
        with proxy_to(upstream) as client:
            answer = client.get("/account/organization", headers=ALPHA)
    assert (answer.status_code, answer.content) == (direct.status_code, direct.content)
    assert answer.headers["content-type"] == direct.headers["content-type"]
    assert answer.headers["x-contract-violation"] == "response_schema_conformance"


def test_the_deployments_tracking_id_names_the_request_once() -> None:
    with serving(create_app(Settings())) as upstream:  # the mock as the deployment: it gives X-Tracking-Id
        with proxy_to(upstream) as client:
            answer = client.get("/account/organization", headers={"Authorization": "Bearer sk_test_paid_org"})
            entry = last_entry(client)
        upstream_log = httpx.get(upstream + "/__mock__/requests", timeout=10).json()["requests"]
    (given,) = answer.headers.get_list("x-tracking-id")
    assert given == entry["trackingId"] == upstream_log[0]["trackingId"]


def test_strict_mode_turns_a_violation_into_502_naming_the_check() -> None:
    with proxied("unknown_enum", proxy_strict=True) as client:
        answer = client.get("/account/organization", headers=ALPHA)
        refused = last_entry(client)
        fine = client.get("/account/organization", headers={"Authorization": "Bearer sk_nobody"})
        entry = last_entry(client)
    assert refused["status"] == 502 and refused["violations"][0]["check"] == "response_schema_conformance"
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "contract_violation" and "response_schema_conformance" in error["message"]
    assert answer.json()["trackingId"] == answer.headers["x-tracking-id"]
    assert fine.status_code == 401, "an answer that keeps the contract passes in strict mode too"
    assert entry["violations"] == []


def test_credentials_reach_the_deployment_and_never_the_log() -> None:
    seen: list[str] = []
    faulty = create_faulty_app()

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        seen.extend(value.decode() for name, value in scope.get("headers", []) if name == b"authorization")
        await faulty(scope, receive, send)

    with serving(spy) as upstream, proxy_to(upstream) as client:
        by_key = client.get("/account/organization", headers=ALPHA)
        by_pair = client.post("/billing", headers=ALPHA_BASIC, json=URLS)
        log = client.get("/__mock__/requests").text
        dashboard = client.get("/__mock__/").text
    assert (by_key.status_code, by_pair.status_code) == (200, 200), "the deployment knows both"
    assert seen == [ALPHA["Authorization"], ALPHA_BASIC["Authorization"]]
    for secret in ("sk_live_alpha", "pw_alpha", ALPHA_BASIC["Authorization"].split()[1]):
        assert secret not in log and secret not in dashboard


def test_the_path_query_body_and_chosen_headers_reach_the_deployment_under_its_prefix() -> None:
    seen: list[dict[str, Any]] = []
    faulty = create_faulty_app()

    async def under_a_prefix(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            body = (await receive())["body"]
            seen.append({"path": scope["raw_path"], "query": scope["query_string"], "body": body})
            seen[-1]["headers"] = {name for name, _ in scope["headers"]}
            scope = {**scope, "path": scope["path"].removeprefix("/api/v1"), "raw_path": None}
            await faulty(scope, replay(body, receive), send)

    headers = {**ALPHA, "Content-Type": "application/json", "Cookie": "session=mine", "X-Admin-Token": "t"}
    with serving(under_a_prefix) as upstream, proxy_to(upstream + "/api/v1") as client:
        answer = client.post("/billing?source=app%20one", headers=headers, content=json.dumps(URLS).encode())
    assert answer.status_code == 200
    (sent,) = seen
    assert (sent["path"], sent["query"], json.loads(sent["body"])) == (b"/api/v1/billing", b"source=app%20one", URLS)
    assert {b"authorization", b"content-type"} <= sent["headers"]
    assert not {b"cookie", b"x-admin-token", b"origin"} & sent["headers"]


def test_a_body_without_a_content_type_reaches_the_deployment_without_one() -> None:
    """The proxy adds no header of its own: a deployment judges the request its caller sent."""
    seen: list[set[bytes]] = []
    faulty = create_faulty_app()

    async def watching(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append({name for name, _ in scope["headers"]})
        await faulty(scope, receive, send)

    with serving(watching) as upstream, proxy_to(upstream) as client:
        client.post("/billing", headers=ALPHA, content=b"{}")
    assert b"content-type" not in seen[0]


def test_an_unreachable_deployment_is_a_502_naming_it() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with proxy_to(f"http://127.0.0.1:{port}") as client:
        answer = client.get("/account/organization", headers=ALPHA)
        entry = last_entry(client)
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert (error["provider"], error["providerCode"]) == ("127.0.0.1", "connection_error")
    assert error["message"] == f"The deployment at 127.0.0.1 refused the connection: nothing accepts it on port {port}."
    assert entry["status"] == 502


def test_a_tls_failure_is_a_502_naming_the_deployment() -> None:
    with serving(create_faulty_app()) as upstream, proxy_to(upstream.replace("http://", "https://")) as client:
        answer = client.get("/account/organization", headers=ALPHA)
    assert answer.status_code == 502
    assert (answer.json()["error"]["provider"], answer.json()["error"]["providerCode"]) == ("127.0.0.1", "tls_error")
    assert answer.json()["error"]["message"] == (
        "The deployment at 127.0.0.1 failed the TLS handshake (does it speak https on that port?)."
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (what an internal CA gives a staging deployment) and its key."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is missing: `make openssl` installs Debian's")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=staging.test",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_an_https_deployment_is_proxied_when_its_certificate_is_trusted(certificate: tuple[Path, Path]) -> None:
    with serving(create_faulty_app(), tls=certificate) as upstream:
        with proxy_to(upstream) as client:
            untrusted = client.get("/account/organization", headers=ALPHA)
        with proxy_to(upstream, proxy_ca_file=certificate[0]) as client:
            trusted = client.get("/account/organization", headers=ALPHA)
    assert untrusted.status_code == 502 and untrusted.json()["error"]["providerCode"] == "tls_error"
    assert "certificate this machine does not trust (self-signed certificate)" in untrusted.json()["error"]["message"]
    assert trusted.status_code == 200 and "x-contract-violation" not in trusted.headers


@pytest.mark.parametrize("content", ["", "not a certificate"])
def test_a_ca_file_that_is_not_one_stops_start_up(tmp_path: Path, content: str) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(content)
    environ = {"MOCK_SERVER_PROXY": "https://staging.test", "MOCK_SERVER_PROXY_CA_FILE": str(ca_file)}
    with pytest.raises(ConfigError, match="MOCK_SERVER_PROXY_CA_FILE must be a readable file of PEM certificates"):
        Settings.from_env(environ)


def test_a_frontend_gets_the_mocks_cors_and_can_read_the_verdict() -> None:
    faulty = create_faulty_app("wrong_type")

    async def with_own_cors(scope: Any, receive: Any, send: Any) -> None:
        async def send_cors(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"access-control-allow-origin", b"https://staging.test")]
            await send(message)

        await faulty(scope, receive, send_cors)

    with serving(with_own_cors) as upstream, proxy_to(upstream) as client:
        answer = client.get("/account/organization", headers={**ALPHA, "Origin": "http://localhost:3000"})
    assert answer.headers.get_list("access-control-allow-origin") == ["http://localhost:3000"]
    assert "X-Contract-Violation" in answer.headers["access-control-expose-headers"]
    assert answer.headers["x-contract-violation"] == "response_schema_conformance"


def test_a_deployment_that_does_not_answer_in_time_is_a_502() -> None:
    async def asleep(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(30)

    with serving(asleep) as upstream, proxy_to(upstream, proxy_timeout=1) as client:
        started = time.monotonic()
        answer = client.get("/account/organization", headers=ALPHA)
        waited = time.monotonic() - started
    assert answer.status_code == 502 and answer.json()["error"]["providerCode"] == "timeout"
    assert "--proxy-timeout" in answer.json()["error"]["message"]
    assert waited < 5


def test_the_mock_keeps_its_own_routes_in_proxy_mode() -> None:
    with proxied() as client:
        assert client.get("/__mock__/health").status_code == 200
        assert client.get("/ui/").status_code == 200
        assert client.get("/openapi.json").json()["paths"]
        unknown = client.get("/elsewhere", headers=ALPHA)
        wrong = client.delete("/billing", headers=ALPHA)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405


def test_a_verdict_that_fails_lets_the_answer_through(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> list[Any]:
        raise RuntimeError("a bug in a check")

    monkeypatch.setattr("mock_server.app.load_judge", lambda: broken)
    with proxied("missing_field") as client:
        answer = client.get("/account/organization", headers=ALPHA)
    assert answer.status_code == 200 and "x-contract-violation" not in answer.headers
    assert "could not be judged" in caplog.text and answer.headers["x-tracking-id"] in caplog.text


class FakeRecording:
    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def observe(self, credential: Any, operation: str, request_body: Any, status: int, body: Any) -> None:
        self.seen.append((credential, operation, request_body, status, body))

    def close(self) -> None:
        pass


def test_2xx_answers_are_given_to_the_recording() -> None:
    recording = FakeRecording()
    with serving(create_faulty_app()) as upstream:
        app = create_app(Settings(proxy=upstream), recording=recording)
        with TestClient(app, base_url=MOCK) as client:
            client.get("/account/organization", headers=ALPHA)
            client.post("/billing", headers=ALPHA_BASIC, json=URLS)
            client.get("/account/organization", headers={"Authorization": "Bearer sk_nobody"})
    assert [(credential, operation, status) for credential, operation, _, status, _ in recording.seen] == [
        (("bearer", "sk_live_alpha"), "GET /account/organization", 200),
        (("basic", ("cli_alpha", "pw_alpha")), "POST /billing", 200),
    ]
    assert recording.seen[1][2] == URLS and recording.seen[1][4]["organizationId"] == "acct_alpha"


def test_recorded_answers_load_and_serve_without_the_real_secrets(tmp_path: Path) -> None:
    folder = tmp_path / "recorded"
    with serving(create_faulty_app()) as upstream:
        for _ in range(2):  # recording twice updates, never duplicates
            with proxy_to(upstream, record=folder) as client:
                client.get("/account/organization", headers=ALPHA)
                client.post("/billing", headers=ALPHA_BASIC, json=URLS)
                client.get("/account/organization", headers={"Authorization": "Bearer sk_nobody"})
    written = "".join(path.read_text() for path in folder.iterdir())
    assert not any(secret in written for secret in ("sk_live_alpha", "cli_alpha", "pw_alpha"))
    app = create_app(Settings(fixtures=folder))
    (tenant,) = list(app.services.store)
    with TestClient(app, base_url=MOCK) as client:
        served = client.get("/account/organization", headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert served.status_code == 200
    assert {key: served.json()[key] for key in ("organizationId", "name", "costCap")} == {
        "organizationId": "acct_alpha",
        "name": "Alpha Works",
        "costCap": 75.5,
    }


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"proxy_strict": True}, "--proxy-strict"),
        ({"record": Path("recorded")}, "--record"),
        ({"proxy_ca_file": Path("ca.pem")}, "--proxy-ca-file"),
    ],
)
def test_proxy_settings_need_a_proxy(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings(**settings)


def test_one_process_records() -> None:
    """Workers writing one folder would lose each other's updates."""
    with pytest.raises(ConfigError, match="--record with --workers 2: one process writes a recording"):
        Settings(proxy="http://127.0.0.1:9", record=Path("recorded"), workers=2, state="sqlite:///tmp/x.db")


def test_the_cli_proxies_on_a_real_socket() -> None:
    with serving(create_faulty_app("null_field")) as upstream:
        process = run_mock("--port", "0", "--proxy", upstream, "--proxy-timeout", "5")
        try:
            banner, base = read_banner(process)
            direct = httpx.get(upstream + "/account/organization", headers=ALPHA, timeout=10)
            origin = {"Origin": "http://localhost:3000"}
            answer = httpx.get(base + "/account/organization", headers={**ALPHA, **origin}, timeout=10)
            log = httpx.get(base + "/__mock__/requests", timeout=10).json()["requests"]
        finally:
            process.terminate()
            process.communicate(timeout=10)
    assert f"Proxying to {upstream}" in banner
    assert "sk_test_" not in banner  # the demo keys mean nothing to the deployment
    assert answer.status_code == 200 and answer.headers["x-contract-violation"] == "response_schema_conformance"
    assert json.dumps(log).count("response_schema_conformance") == 1
    # Each header once: a trackingId (the mock's: this deployment gives none) that the log names, one Date,
    # Origin once in Vary.
    assert "x-tracking-id" not in direct.headers
    proxied = next(entry for entry in log if entry["path"] == "/account/organization")
    assert answer.headers.get_list("x-tracking-id") == [proxied["trackingId"]]
    assert len(answer.headers.get_list("date")) == 1
    assert [part.strip() for part in answer.headers["vary"].split(",")].count("Origin") == 1


def test_proxy_without_the_contract_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "billing_contract.verdict", raising=False)
    monkeypatch.setitem(sys.modules, "schemathesis", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"schemathesis is missing\): pip install 'org-billing-mock\[contract\]'"):
        create_app(Settings(proxy="https://staging.example.com"))


def test_the_dashboard_shows_a_violation_beside_its_request() -> None:
    with proxied("malformed_date") as client:
        broken = client.get("/account/organization", headers=ALPHA)
        kept = client.get("/account/organization", headers={"Authorization": "Bearer sk_nobody"})
        page = client.get("/__mock__/").text
    rows = {row.split("</tr>")[0] for row in page.split("<tr>")}
    broken_row = next(row for row in rows if broken.headers["x-tracking-id"] in row)
    kept_row = next(row for row in rows if kept.headers["x-tracking-id"] in row)
    assert "anniversary_date_is_a_date" in broken_row and "2027-02-30" in broken_row
    assert "anniversary_date_is_a_date" not in kept_row and "kept" in kept_row
    assert "Proxying the API to" in page
