"""``mock-server --proxy`` in front of a hostile deployment (scripts/hostile_upstream.py, on a raw socket).

Each misbehaviour of the deployment gets the answer docs/proxy.md promises: its own answer to each
caller, a 502 naming the deployment, never a 500, a hang or a credential in the log.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server import ConfigError, Settings, create_app

from .modules import load_script
from .test_proxy import ALPHA, MOCK, FakeRecording, last_entry, proxy_to

pytestmark = pytest.mark.socket

KEY = ALPHA["Authorization"].split()[1]


hostile = load_script("scripts/hostile_upstream.py")


@contextmanager
def behind_proxy(*acts: Any, **settings: Any) -> Iterator[tuple[TestClient, Any]]:
    """The mock proxying to a deployment that plays ``acts[N]`` for ``?case=N`` (the last one past the end)."""
    deployment = hostile.Deployment(lambda request: acts[min(request.case or 0, len(acts) - 1)])
    with deployment as upstream, proxy_to(upstream, **settings) as client:
        yield client, deployment


def organization_of(answer: Any) -> Any:
    return json.loads(answer.content).get("organizationId")


def test_a_stray_answer_never_reaches_the_next_caller() -> None:
    """A deployment that answers twice: the second answer waits on the connection for whoever comes next."""
    recording = FakeRecording()
    deployment = hostile.Deployment(lambda request: hostile.stray(0.05) if request.case == 0 else hostile.fine())
    with deployment as upstream:
        with TestClient(create_app(Settings(proxy=upstream), recording=recording), base_url=MOCK) as client:
            answers = []
            for case in range(4):
                answers.append(client.get(f"/account/organization?case={case}", headers=ALPHA))
                time.sleep(0.2)  # the stray answer is on the wire before the next call
            log = client.get("/__mock__/requests").json()["requests"][::-1]
    assert [organization_of(answer) for answer in answers] == [f"case-{case}" for case in range(4)]
    logged = [entry["organizationId"] for entry in log if not entry["path"].startswith("/__mock__")]
    assert logged == [f"case-{case}" for case in range(4)], "the request log names each request's own answer"
    assert [seen[4]["organizationId"] for seen in recording.seen] == logged, "and so does --record"


def test_each_call_has_a_connection_of_its_own_that_says_it_closes() -> None:
    seen: list[bytes | None] = []

    def act(request: Any) -> Any:
        seen.append(request.header(b"connection"))
        return hostile.fine()

    deployment = hostile.Deployment(act)
    with deployment as upstream, proxy_to(upstream) as client:
        for _ in range(3):
            assert client.get("/account/organization?case=1", headers=ALPHA).status_code == 200
    assert seen == [b"close"] * 3


def test_a_get_reaches_the_deployment_without_the_body_its_caller_sent() -> None:
    """A body on a GET would be read as the next request by a deployment that reads none."""
    with behind_proxy(hostile.fine()) as (client, deployment):
        smuggled = b"GET /admin HTTP/1.1\r\nHost: staging\r\n\r\n"
        answer = client.request("GET", "/account/organization?case=0", headers=ALPHA, content=smuggled)
    assert answer.status_code == 200 and deployment.requests == 1
    assert deployment.problems == []


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_an_answer_over_the_cap_is_a_502_naming_the_cap(framing: str) -> None:
    cap = 64 * 1024
    acts = (hostile.oversized(cap, framing, cap), hostile.oversized(cap + 1, framing, cap))
    with behind_proxy(*acts, proxy_max_answer_bytes=cap) as (client, _):
        at_the_cap = client.get("/account/organization?case=0", headers=ALPHA)
        over = client.get("/account/organization?case=1", headers=ALPHA)
        entry = last_entry(client)
    assert at_the_cap.status_code == 200 and len(at_the_cap.content) == cap
    assert over.status_code == 502 and entry["status"] == 502
    error = over.json()["error"]
    assert (error["code"], error["provider"], error["providerCode"]) == ("provider_error", "127.0.0.1", "too_large")
    assert "65,536 bytes" in error["message"] and "--proxy-max-answer-bytes" in error["message"]


def test_an_endless_answer_stops_at_the_cap_not_at_the_timeout() -> None:
    with behind_proxy(hostile.endless(), proxy_max_answer_bytes=256 * 1024, proxy_timeout=30) as (client, _):
        started = time.monotonic()
        answer = client.get("/account/organization?case=0", headers=ALPHA)
    assert answer.status_code == 502 and answer.json()["error"]["providerCode"] == "too_large"
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("line", [b"HTTP/1.1 600 Beyond", b"HTTP/1.1 999 Beyond", b"HTTP/1.1 101 Switching Protocols"])
def test_a_status_http_does_not_have_as_an_answer_is_a_502(line: bytes) -> None:
    with behind_proxy(hostile.status_line(line)) as (client, _):
        answer = client.get("/account/organization?case=0", headers=ALPHA)
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["providerCode"] == "bad_status" and line.split()[1].decode() in error["message"]


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "GZIP", "deflate", "gzip, gzip", "gzip, identity"])
def test_an_encoded_answer_is_decoded_judged_and_returned_decoded(coding: str) -> None:
    with behind_proxy(hostile.coded(coding, "good", 16 * 1024 * 1024)) as (client, _):
        answer = client.get("/account/organization?case=0", headers=ALPHA)
    assert answer.status_code == 200 and organization_of(answer) == "case-0"
    assert "content-encoding" not in answer.headers
    assert "x-contract-violation" not in answer.headers, "the decoded body is what was judged"


def test_raw_deflate_is_decoded_too() -> None:
    """Some servers send ``deflate`` without its zlib wrapper; clients read both."""

    async def play(request: Any, reader: Any, writer: Any) -> None:
        squeezer = zlib.compressobj(wbits=-15)
        body = squeezer.compress(hostile.organization("case-0")) + squeezer.flush()
        writer.write(hostile.answer(200, body, [("Content-Encoding", "deflate")]))

    with behind_proxy(hostile.Act("raw deflate", play)) as (client, _):
        answer = client.get("/account/organization?case=0", headers=ALPHA)
    assert answer.status_code == 200 and organization_of(answer) == "case-0"


@pytest.mark.parametrize(
    ("coding", "how", "code"),
    [
        ("br", "good", "bad_encoding"),
        ("gzip, foo", "good", "bad_encoding"),
        ("gzip", "corrupt", "bad_encoding"),
        ("gzip", "truncated", "bad_encoding"),
        ("gzip", "bomb", "too_large"),
        ("deflate", "corrupt", "bad_encoding"),
    ],
)
def test_an_answer_that_cannot_be_decoded_is_a_502(coding: str, how: str, code: str) -> None:
    cap = 1024 * 1024
    with behind_proxy(hostile.coded(coding, how, cap), proxy_max_answer_bytes=cap) as (client, _):
        answer = client.get("/account/organization?case=0", headers=ALPHA)
    assert answer.status_code == 502 and answer.json()["error"]["providerCode"] == code


def test_a_gzip_bomb_is_never_inflated_past_the_cap() -> None:
    """16 MiB of gzip that would inflate to 16 GiB: refused once the cap is passed."""
    bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)

    async def play(request: Any, reader: Any, writer: Any) -> None:
        writer.write(hostile.answer(200, bomb, [("Content-Encoding", "gzip")]))

    with behind_proxy(hostile.Act("bomb", play), proxy_max_answer_bytes=1024 * 1024) as (client, _):
        answer = client.get("/account/organization?case=0", headers=ALPHA)
    assert answer.status_code == 502 and answer.json()["error"]["providerCode"] == "too_large"
    assert "1,048,576 bytes" in answer.json()["error"]["message"]


def test_hop_by_hop_headers_and_those_connection_names_stay_behind() -> None:
    act = hostile.hop_by_hop()
    with behind_proxy(act) as (client, _):
        answer = client.get("/account/organization?case=0", headers=ALPHA)
    assert answer.status_code == 200
    assert not set(act.hidden) & set(answer.headers), answer.headers


@pytest.mark.parametrize("form", hostile.ECHOES)
def test_a_credential_the_deployment_echoes_never_reaches_the_log(
    form: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with behind_proxy(hostile.echo(form), record=tmp_path / "recorded", log_format="json") as (client, _):
        answer = client.get("/account/organization?case=0", headers=ALPHA)
        log = client.get("/__mock__/requests").text
        dashboard = client.get("/__mock__/").text
    assert answer.status_code in (200, 401)
    recorded = "".join(path.read_text() for path in (tmp_path / "recorded").iterdir())
    for where, text in {"log": caplog.text, "request log": log, "dashboard": dashboard, "recording": recorded}.items():
        assert KEY not in text, f"the credential is in the {where}"


def test_a_credential_echoed_as_a_number_is_neither_logged_nor_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    digits = "420042004200421"
    with behind_proxy(hostile.echo("a number"), record=tmp_path / "recorded", log_format="json") as (client, _):
        answer = client.get("/account/organization?case=0", headers={"Authorization": f"Bearer {digits}"})
        log = client.get("/__mock__/requests").text
    assert answer.status_code == 200 and json.loads(answer.content)["messagesCap"] == int(digits)
    recorded = "".join(path.read_text() for path in (tmp_path / "recorded").iterdir())
    assert digits not in caplog.text and digits not in log and digits not in recorded


@pytest.mark.parametrize(
    "name", ["closed at once", "garbage", "an HTTP/2 preface", "half a head", "half a body", "no status line"]
)
@pytest.mark.parametrize("end", ["close", "reset"])
def test_broken_http_is_a_502_in_the_mocks_own_words(name: str, end: str) -> None:
    with behind_proxy(hostile.broken(name, end)) as (client, _):
        answer = client.get("/account/organization?case=0", headers=ALPHA)
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["providerCode"] == "protocol_error" and error["provider"] == "127.0.0.1"
    assert "aiohttp" not in error["message"] and "Error" not in error["message"]


def test_the_deployments_error_status_passes_through_unchanged() -> None:
    with behind_proxy(hostile.fine(503), hostile.fine(500)) as (client, _):
        statuses = [client.get(f"/account/organization?case={case}", headers=ALPHA).status_code for case in (0, 1)]
    assert statuses == [503, 500]


def test_a_deployment_that_drips_is_cut_off_at_the_timeout() -> None:
    with behind_proxy(hostile.dripping(0.2), proxy_timeout=1) as (client, _):
        started = time.monotonic()
        answer = client.get("/account/organization?case=0", headers=ALPHA)
    assert answer.status_code == 502 and answer.json()["error"]["providerCode"] == "timeout"
    assert time.monotonic() - started < 5


def test_an_answer_http_1_1_does_not_have_is_a_502() -> None:
    with behind_proxy(hostile.status_line(b"HTTP/2.0 200 OK")) as (client, _):
        answer = client.get("/account/organization?case=0", headers=ALPHA)
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert (error["providerCode"], error["message"]) == (
        "protocol_error",
        "The deployment at 127.0.0.1 answered in HTTP/2.0 on an HTTP/1.1 connection.",
    )


def test_a_header_that_is_not_http_is_dropped_not_a_dead_connection() -> None:
    """A control character in a value: the mock's own server would refuse to send it, mid-answer."""
    with behind_proxy(hostile.bad_header("a bogus tracking id")) as (client, _):
        answer = client.get("/account/organization?case=0", headers=ALPHA)
        entry = last_entry(client)
    assert answer.status_code == 200 and organization_of(answer) == "case-0"
    assert answer.headers["x-tracking-id"] == entry["trackingId"] and "\x01" not in entry["trackingId"]


def test_an_answer_too_large_to_judge_passes_unjudged_and_says_so(tmp_path: Path) -> None:
    large = hostile.oversized(8 * 1024, "length", 1 << 30)
    settings = {"proxy_max_judged_bytes": 4096, "record": tmp_path / "recorded"}
    with behind_proxy(hostile.fine(), large, **settings) as (client, _):
        small = client.get("/account/organization?case=0", headers=ALPHA)
        answer = client.get("/account/organization?case=1", headers=ALPHA)
        entry = last_entry(client)
    assert small.status_code == 200 and "x-contract-violation" not in small.headers
    assert answer.status_code == 200 and len(answer.content) == 8 * 1024
    assert answer.headers["x-contract-violation"] == "answer_too_large_to_judge"
    (violation,) = entry["violations"]
    assert "8,192 bytes" in violation["message"] and "--proxy-max-judged-bytes" in violation["message"]
    assert entry["organizationId"] is None
    recorded = (tmp_path / "recorded" / "organizations.yaml").read_text()
    assert "case-0" in recorded and "case-1" not in recorded
    with behind_proxy(large, proxy_max_judged_bytes=4096, proxy_strict=True) as (client, _):
        strict = client.get("/account/organization?case=0", headers=ALPHA)
    assert strict.status_code == 502 and strict.json()["error"]["code"] == "contract_violation"


@pytest.mark.parametrize("setting", ["MOCK_SERVER_PROXY_MAX_ANSWER_BYTES", "MOCK_SERVER_PROXY_MAX_JUDGED_BYTES"])
@pytest.mark.parametrize("raw", ["1023", "-1", "\u00b2"])
def test_a_cap_below_a_kilobyte_stops_start_up_naming_it(setting: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=f"{setting} must be a whole number of bytes from 1024 to "):
        Settings.from_env({"MOCK_SERVER_PROXY": "https://staging.test", setting: raw})
