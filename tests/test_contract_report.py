"""What a contract run tells a person: one block per failure, coverage, rules not run, --spec, remote targets."""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import uvicorn
import yaml
from schemathesis.core.failures import CustomFailure

from contract_tests.answer import Answer
from contract_tests.cli import ERROR, OK, VIOLATIONS, main
from contract_tests.document import DEFAULT_SPEC, Document, load
from contract_tests.oracle import case_finding
from contract_tests.throttle import retry_after
from tests.faulty_app import create_faulty_app
from tests.test_contract_faults import TARGET_OPTIONS

ROOT = Path(__file__).resolve().parent.parent
# Addressed as a loopback deployment, so none of the mock's demo keys or prices fill in the options left out.
QUICK = ["--base-url", "http://127.0.0.1:8080", "--profile", "quick", "--api-key", "sk_live_alpha"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start an ASGI app on a free loopback port; gives its base URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> str:
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def _block(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("FAILED POST /billing :: not_a_server_error"))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return lines[start:end]


@pytest.mark.socket
def test_a_failure_is_one_short_block_whose_curl_runs_as_printed(
    serve: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    base_url = serve(create_faulty_app("server_error"))
    assert main(["--base-url", base_url, *TARGET_OPTIONS, "--seed", "5"]) == VIOLATIONS
    out = capsys.readouterr().out
    block = _block(out)
    assert len(block) < 40
    assert "  expected: no 5xx answer" in block[1]
    assert block[2].startswith("  got:      500 Internal Server Error")
    assert block[-1] == "  replay:   --seed 5 with the same options replays it"
    assert "failed: POST /billing :: not_a_server_error" in out
    assert "[Filtered]" not in out and "Traceback" not in out and "Exception Group" not in out
    curl = next(line for line in block if line.startswith("  curl:")).removeprefix("  curl:").strip()
    assert '"Authorization: Bearer $CONTRACT_API_KEY"' in curl
    env = {**os.environ, "CONTRACT_API_KEY": "sk_live_alpha"}
    answer = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, env=env, timeout=30, check=False)
    assert answer.stdout.startswith("HTTP/1.1 500"), answer.stdout + answer.stderr


def test_a_failed_test_names_its_violations_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TARGET_OPTIONS, "--", "-q"], app=create_faulty_app("server_error")) == VIOLATIONS
    out = capsys.readouterr().out
    assert "POST /billing :: not_a_server_error (see contract violations; -v for where it was raised)" in out
    assert main([*TARGET_OPTIONS, "--", "-v"], app=create_faulty_app("server_error")) == VIOLATIONS
    assert "raise Violation(found)" in capsys.readouterr().out


def test_coverage_and_rules_not_run_in_every_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    argv = [*QUICK, "--junit-xml", str(junit), "--report", str(report)]  # no second account, no prices
    assert main(argv, app=create_faulty_app()) == OK
    out = capsys.readouterr().out
    data = json.loads(report.read_text())
    documented = data["operations"]["GET /account/organization"]["documented_statuses"]
    assert documented["200"] > 0 and documented["502"] == 0
    assert data["checks"]["response_schema_conformance"] > 0
    assert data["not_run"]["tenant_isolation"].startswith("no --other-api-key")
    assert "needs the prices of both tiers" in data["not_run"]["other_tier_price_refused"]
    assert "tenant_isolation" in out and "not run" in out and "200 x" in out and "502 -" in out
    root = ET.parse(junit).getroot()
    skipped = {case.get("name") for case in root.iter("testcase") if case.find("skipped") is not None}
    assert {"tenant_isolation", "other_tier_price_refused"} <= skipped
    coverage = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert "502 -" in coverage["coverage GET /account/organization"]


def test_only_the_mock_is_held_to_its_401_and_500_bodies() -> None:
    raw = load(None)
    mock, other = Document(raw, mock=True), Document(raw, mock=False)
    for operation in ("GET /account/organization", "POST /billing"):
        assert {401, 500} <= mock.error_bodies()[operation]
        assert other.error_bodies()[operation] == {400, 402, 502}
    assert other.statuses() == mock.statuses(), "401 and 500 stay documented statuses"
    assert "content" in raw["components"]["responses"]["Unauthorized"], "the loaded document is left as it was"


def _spec_requiring_region(path: Path) -> Path:
    raw = yaml.safe_load(DEFAULT_SPEC.read_text(encoding="utf-8"))
    organization = raw["components"]["schemas"]["Organization"]
    organization["required"].append("region")
    organization["properties"]["region"] = {"type": "string"}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_spec_from_a_path_is_the_contract(tmp_path: Path) -> None:
    spec = _spec_requiring_region(tmp_path / "next.yaml")
    report = tmp_path / "report.json"
    argv = [*TARGET_OPTIONS, "--spec", str(spec), "--report", str(report)]
    assert main(argv, app=create_faulty_app()) == VIOLATIONS
    assert "response_schema_conformance" in {f["check"] for f in json.loads(report.read_text())["failures"]}
    assert main(argv, app=create_faulty_app(variant="extra_fields")) == OK


def test_spec_from_a_url(tmp_path: Path) -> None:
    _spec_requiring_region(tmp_path / "next.yaml")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/next.yaml"
        try:
            assert main([*TARGET_OPTIONS, "--spec", url], app=create_faulty_app()) == VIOLATIONS
        finally:
            server.shutdown()


@pytest.mark.parametrize("spec", ["/no/such/openapi.yaml", "README.md"])
def test_a_spec_that_cannot_be_read_stops_with_exit_2(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TARGET_OPTIONS, "--spec", str(ROOT / spec)], app=create_faulty_app()) == ERROR
    assert "--spec" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("#/components/responses/Loop", "references chain more than 64 times"),  # a cycle: once it hung the run
        ("#/components/responses/Nowhere", "names nothing in the document"),
        ("https://example.com/openapi.yaml#/x", "is not local to the document"),
    ],
)
def test_a_spec_whose_references_go_nowhere_stops_with_exit_2(
    target: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    raw["paths"]["/account/organization"]["get"]["responses"]["402"] = {"$ref": target}
    raw["components"]["responses"]["Loop"] = {"$ref": "#/components/responses/Loop"}
    spec = tmp_path / "openapi.yaml"
    spec.write_text(yaml.safe_dump(raw))
    assert main([*TARGET_OPTIONS, "--spec", str(spec)], app=create_faulty_app()) == ERROR
    out = capsys.readouterr().out
    assert f"contract-tests: --spec {spec}: " in out and said in out


def _curls(out: str, check: str) -> list[str]:
    """The curl line of each block of ``check``."""
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("FAILED ") and line.endswith(f":: {check}")]
    return [next(line for line in lines[i:] if line.startswith("  curl:")) for i in starts]


def test_a_curl_leaves_out_the_generators_probe_headers(capsys: pytest.CaptureFixture[str]) -> None:
    """Schemathesis sends an empty Prefer and headers of its own; the answer is wrong without them too."""
    app = create_faulty_app("error_without_tracking")
    assert main([*TARGET_OPTIONS, "--seed", "1", "--", "-q"], app=app) == VIOLATIONS
    out = capsys.readouterr().out
    curls = _curls(out, "error_body_documented") + _curls(out, "response_schema_conformance")
    assert curls
    for curl in curls:
        assert "Prefer;" not in curl and "x-schemathesis" not in curl.lower(), curl


def test_a_curl_keeps_a_probe_header_that_made_the_answer_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    """A deployment that fails on an empty Prefer: the failing request without it passes, so it stays."""
    correct = create_faulty_app()

    async def fails_on_empty_prefer(scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        if headers.get(b"prefer", b"x").strip() == b"":
            await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"cannot read Prefer"})
            return
        await correct(scope, receive, send)

    assert main([*TARGET_OPTIONS, "--seed", "1", "--", "-q"], app=fails_on_empty_prefer) == VIOLATIONS
    curls = _curls(capsys.readouterr().out, "not_a_server_error")
    assert curls and all("-H 'Prefer;'" in curl for curl in curls), curls


def test_a_case_check_that_asserts_words_its_expectation_like_the_others() -> None:
    """Schemathesis titles an assert in a check "Custom check failed: `name`"; the block says what was expected."""
    failure = CustomFailure(
        operation="GET /account/organization",
        title="Custom check failed: `unsupported_method`",
        message="Got 200 for TRACE",
        exception=AssertionError("Got 200 for TRACE"),
    )
    answer = Answer("TRACE", "http://127.0.0.1:8080/account/organization", None, 200, {}, "{}")
    finding = case_finding("GET /account/organization", failure, answer)
    expected = finding.details.splitlines()[0]
    assert expected == "  expected: 405 to a method the document does not give this path (Got 200 for TRACE)"
    assert (finding.check, finding.title) == ("unsupported_method", "Got 200 for TRACE")


@pytest.mark.socket
@pytest.mark.parametrize("variant", ["connection_close", "latency"])
def test_a_remote_target_needs_nothing_from_mock_server(variant: str, serve: Any) -> None:
    """In a fresh process where importing mock_server fails, over a real socket."""
    base_url = serve(create_faulty_app(variant=variant))
    argv = ["--base-url", base_url, *TARGET_OPTIONS, "--", "-q", "-p", "no:billing_mock"]
    script = f"""
import sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "mock_server":
            raise ImportError("the suite imported " + name)

sys.meta_path.insert(0, Refuse())
from contract_tests.cli import main
status = main({argv!r})
assert not [name for name in sys.modules if name.startswith("mock_server")]
raise SystemExit(status)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert run.returncode == OK, run.stdout[-3000:] + run.stderr[-3000:]


@pytest.mark.parametrize(
    ("status", "value", "expected"),
    [
        (429, "3", 3.0),
        (503, "7", 7.0),
        (429, None, 1.0),
        (503, None, None),
        (500, "3", None),
        (200, None, None),
        (429, "²", 1.0),  # not a number: a 429 waits the default
        (503, "①", None),  # not a number: a 503 is not throttling
        (503, "9" * 5000, 1e9),  # more digits than int() reads
    ],
)
def test_retry_after_in_seconds(status: int, value: str | None, expected: float | None) -> None:
    assert retry_after(status, {"retry-after": value} if value else {}) == expected


def test_retry_after_as_an_http_date() -> None:
    import email.utils

    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after(503, {"retry-after": later}) or 0) <= 30
    earlier = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after(429, {"retry-after": earlier}) == 0
