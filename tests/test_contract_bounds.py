"""The suite against targets that never finish an answer: a failure block or exit 2, never a hang or MemoryError.

Real sockets on loopback: a server that answers the preflight, then drips (a byte at a
time, so no single read waits long), streams without end, or never answers; the same
for the preflight itself and for ``--spec URL``. Each run is bounded in time. Then the
run's own budget (``--max-time``), and what messages may never show: a URL's secrets,
a credential, or anything derived from one.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract_tests.cli import ERROR, OK, VIOLATIONS, main
from contract_tests.document import MAX_DOCUMENT_BYTES
from contract_tests.options import UsageError, resolve
from contract_tests.transport import Exchanger, IncompleteAnswer
from tests.faulty_app import ORGANIZATIONS, create_faulty_app
from tests.test_contract_faults import TARGET_OPTIONS
from tests.test_contract_report import serve  # noqa: F401  (the fixture)

ORGANIZATION = json.dumps(ORGANIZATIONS["acct_alpha"]).encode()
TIMEOUT = 2.0
BOUND = 20.0  # seconds any one run here may take, all in


class Misbehaving:
    """A loopback HTTP server: the first ``honest`` requests get a correct answer, the rest ``mode``."""

    def __init__(self, mode: str, honest: int = 1) -> None:
        self.mode, self.honest = mode, honest
        self.seen = 0
        self.closing = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.closing.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                self.seen += 1
                mode = "honest" if self.seen <= self.honest else self.mode
                self._send(connection, mode)
            except OSError:
                return

    def _send(self, connection: socket.socket, mode: str) -> None:
        if mode == "honest":
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(ORGANIZATION)}\r\n\r\n".encode()
                + ORGANIZATION
            )
        elif mode == "drip":  # the head at once, then the body a byte every 0.2 s
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(ORGANIZATION)}\r\n\r\n"
            connection.sendall(head.encode())
            for byte in ORGANIZATION:
                if self.closing.wait(0.2):
                    return
                connection.sendall(bytes([byte]))
        elif mode == "drip_head":  # even the status line a byte at a time
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 500:
                if self.closing.wait(0.2):
                    return
                connection.sendall(bytes([byte]))
        elif mode == "endless":  # chunked, 64 KiB chunks, for ever
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"10000\r\n" + b" " * 65536 + b"\r\n"
            while not self.closing.is_set():
                connection.sendall(chunk)
        elif mode == "silent":  # reads the request, never answers
            self.closing.wait(BOUND)

    def close(self) -> None:
        self.closing.set()
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def misbehaving() -> Iterator[Any]:
    servers: list[Misbehaving] = []

    def start(mode: str, honest: int = 1) -> Misbehaving:
        server = Misbehaving(mode, honest)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _run(argv: list[str]) -> tuple[int, float]:
    started = time.monotonic()
    status = main(argv)
    return status, time.monotonic() - started


@pytest.mark.socket
@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("drip", f"no complete answer within {TIMEOUT:g} s"),
        ("drip_head", f"no complete answer within {TIMEOUT:g} s"),
        ("silent", f"no complete answer within {TIMEOUT:g} s"),
        ("endless", "an answer over 65536 bytes"),
    ],
)
def test_an_answer_that_never_completes_is_a_failure_block(
    mode: str, why: str, misbehaving: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = misbehaving(mode)
    report = tmp_path / "report.json"
    argv = ["--base-url", server.url, "--api-key", "sk_live_alpha", "--timeout", str(TIMEOUT)]
    argv += ["--max-answer-bytes", "65536", "--profile", "quick", "--report", str(report), "--", "-q"]
    status, took = _run(argv)
    out = capsys.readouterr().out
    assert status == VIOLATIONS, out[-3000:]
    assert took < BOUND
    block = out[out.index("FAILED GET /account/organization :: complete_answer") :]
    assert f"  got:      {why}" in block
    assert f"  request:  GET {server.url}/account/organization" in block
    assert "  curl:     curl " in block
    assert "Traceback" not in out and "MemoryError" not in out
    failures = json.loads(report.read_text())["failures"]
    assert [failure["check"] for failure in failures] == ["complete_answer"], "the run stopped there"


@pytest.mark.socket
@pytest.mark.parametrize("where", ["the preflight", "--spec URL"])
@pytest.mark.parametrize("mode", ["drip", "endless", "silent"])
def test_no_complete_answer_to_the_preflight_or_the_spec_stops_with_exit_2(
    where: str, mode: str, misbehaving: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server = misbehaving(mode, honest=0)
    bounds = ["--timeout", str(TIMEOUT), "--max-answer-bytes", "65536"]
    spec = f"{server.url}/openapi.yaml?token=s3cr3t-t0ken"
    started = time.monotonic()
    if where == "the preflight":
        status = main(["--base-url", server.url, "--api-key", "k", *bounds])
    else:
        status = main([*TARGET_OPTIONS, "--spec", spec, *bounds], app=create_faulty_app())
    took = time.monotonic() - started
    out = capsys.readouterr().out
    assert status == ERROR
    assert took < BOUND
    cap = 65536 if where == "the preflight" else MAX_DOCUMENT_BYTES  # a document may be larger than any answer
    why = f"an answer over {cap} bytes" if mode == "endless" else f"no complete answer within {TIMEOUT:g} s"
    if where == "the preflight":
        assert f"preflight failed: GET /account/organization: {why}" in out
    else:
        assert f"cannot fetch --spec {server.url}/openapi.yaml?...: {why}" in out
        assert "s3cr3t" not in out


def test_the_exchange_bounds_memory_on_a_gzip_bomb() -> None:
    """A small gzip body that inflates past the cap stops at the cap, decoded a bounded piece at a time."""
    import gzip

    bomb = gzip.compress(b"0" * (64 * 1024 * 1024))  # 64 MiB in about 64 KiB

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": bomb})

    exchanger = Exchanger(app, timeout=TIMEOUT, max_bytes=1024 * 1024)
    try:
        with pytest.raises(IncompleteAnswer, match="an answer over 1048576 bytes"):
            exchanger.exchange("GET", "http://127.0.0.1:8080/account/organization", [("Accept-Encoding", "gzip")], None)
    finally:
        exchanger.close()


def test_max_time_stops_the_run_with_exit_2_naming_what_ran(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    argv = [*TARGET_OPTIONS, "--max-time", "1.5", "--report", str(report), "--", "-q"]
    started = time.monotonic()
    status = main(argv, app=create_faulty_app(variant="latency"))
    assert time.monotonic() - started < BOUND
    assert status == ERROR
    err = capsys.readouterr().err
    assert "contract-tests: no verdict: --max-time 1.5 s spent" in err
    assert "; ran " in err and " tests (test_wrong_credentials_get_401" in err
    data = json.loads(report.read_text())
    assert data["stopped"].startswith("--max-time 1.5 s spent")
    assert data["failures"] == []


@pytest.mark.parametrize(
    "url",
    [
        "https://user:hunter2@api.example.com",
        "https://api.example.com/?key=hunter2",
        "https://api.example.com/#hunter2",
    ],
)
def test_a_base_url_with_secrets_is_refused_without_showing_them(url: str) -> None:
    with pytest.raises(UsageError) as refused:
        resolve({"contract_base_url": url, "contract_api_key": "k"}, environ={})
    assert "hunter2" not in str(refused.value)
    assert "api.example.com" in str(refused.value)


def test_no_secret_of_the_run_is_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Near misses are derived from the secrets: their curl rebuilds them from the environment, never spells them."""
    for fault in ("client_id_only", "key_prefix_match", "scheme_ignored"):
        assert main([*TARGET_OPTIONS, "--", "-q"], app=create_faulty_app(fault)) == VIOLATIONS
        out = capsys.readouterr().out
        assert "credentials_refused_with_401" in out
        pair = base64.b64encode(b"cli_alpha:pw_alpha").decode()
        for secret in ("sk_live_alpha", "sk_live_alph", "pw_alpha", pair, pair[:-2], "sk_live_beta"):
            assert secret not in out, (fault, secret)


@pytest.mark.socket
def test_the_curl_of_a_near_miss_reproduces_it(serve: Any, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    base_url = serve(create_faulty_app("key_prefix_match"))
    assert main(["--base-url", base_url, *TARGET_OPTIONS]) == VIOLATIONS
    out = capsys.readouterr().out
    block = out[out.index("FAILED GET /account/organization :: credentials_refused_with_401") :]
    curl = next(line for line in block.splitlines() if line.startswith("  curl:")).removeprefix("  curl:").strip()
    assert "API_KEY" in curl and "sk_live" not in curl
    env = {**os.environ, "CONTRACT_API_KEY": "sk_live_alpha", "CONTRACT_OTHER_API_KEY": "sk_live_beta"}
    done = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, env=env, timeout=30, check=False)
    assert done.stdout.startswith("HTTP/1.1 200"), done.stdout + done.stderr


def test_a_correct_deployment_over_a_socket_is_not_held_up_by_the_bounds(serve: Any) -> None:  # noqa: F811
    base_url = serve(create_faulty_app(variant="gzip+streamed+connection_close"))
    assert main(["--base-url", base_url, *TARGET_OPTIONS, "--max-answer-bytes", "4096"]) == OK
