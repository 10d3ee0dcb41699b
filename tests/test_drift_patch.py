"""mock-server drift-patch: a drift report as a diff that adds to the document, and the document then agrees."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from billing_contract.drift import Drift
from billing_contract.drift_patch import drift_patch
from mock_server.cli import main
from tests.test_proxy import ALPHA, URLS, proxied

ROOT = Path(__file__).resolve().parent.parent
REFUSED = {"Authorization": "Bearer sk_nobody"}


def traffic(client: TestClient) -> dict[str, Any]:
    """The same requests each time, and the drift report they make."""
    client.delete("/__mock__/drift")
    client.get("/account/organization", headers=ALPHA)
    client.get("/account/organization", headers=REFUSED)
    client.post("/billing", headers=ALPHA, json={**URLS, "messagePriceId": "plan_msgs_10k"})
    client.post("/billing", headers=ALPHA, json={"successUrl": 1})
    report: dict[str, Any] = client.get("/__mock__/drift").json()
    return report


def patched(tmp_path: Path, report: dict[str, Any]) -> dict[str, Any]:
    """The report through the command into a diff, applied with patch -p0 to a copy of openapi.yaml."""
    shutil.copy(ROOT / "openapi.yaml", tmp_path / "openapi.yaml")
    (tmp_path / "drift.json").write_text(json.dumps(report))
    argv = ["drift-patch", str(tmp_path / "drift.json"), "--spec", "openapi.yaml", "--output", "drift.diff"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        assert main(argv) == 0
    subprocess.run(["git", "apply", "--check", "drift.diff"], cwd=tmp_path, check=True)
    subprocess.run(["patch", "-p0", "-s", "-i", "drift.diff"], cwd=tmp_path, check=True)
    document: dict[str, Any] = yaml.safe_load((tmp_path / "openapi.yaml").read_text())
    assert kept(yaml.safe_load((ROOT / "openapi.yaml").read_text()), document), "nothing removed or changed"
    return document


def kept(old: Any, new: Any) -> bool:
    """Whether ``new`` holds all of ``old``: every key, every list item in its place, every value."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(key in new and kept(value, new[key]) for key, value in old.items())
    if isinstance(old, list):
        return isinstance(new, list) and len(new) >= len(old) and all(map(kept, old, new))
    return bool(old == new)


@pytest.mark.socket
@pytest.mark.parametrize(
    ("fault", "variant"),
    [
        (None, "extra_fields"),
        ("unknown_enum", "extra_fields"),
        ("wrong_content_type", None),
        ("created_201_first_post", "gateway_401"),
    ],
)
def test_the_patched_document_names_everything_the_deployment_did(
    tmp_path: Path, fault: str | None, variant: str | None
) -> None:
    with proxied(fault, variant=variant) as client:
        before = traffic(client)
        assert before["undocumented"], "the deployment does something the document does not say"
        # mock-server serves its own document only: the patched one judges the same traffic in-process
        client.app.services.drift = Drift(patched(tmp_path, before))  # type: ignore[attr-defined]
        after = traffic(client)
    assert after["exchanges"] == before["exchanges"]
    assert [fact for operation in after["operations"] for fact in operation["undocumented"]] == []


SMALL = """\
openapi: 3.1.0
paths:
  /a:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/A"}}}}
components:
  schemas:
    A:
      type: object
      properties:
        # the kind of thing
        kind:
          type: string
          enum:
            - x
        n: {type: integer}"""


def test_additions_keep_the_formatting_and_comments_of_the_rest(tmp_path: Path) -> None:
    drift = Drift(yaml.safe_load(SMALL))
    answer = {"kind": "y", "n": 1, "note": None, "size": 2}
    drift.observe(
        "GET", "/a", 200, [("content-type", "application/json"), ("x-page", "1")], json.dumps(answer).encode(), []
    )
    drift.observe("GET", "/a", 200, [("content-type", "application/json")], b'{"note": "text"}', [])
    diff, skipped = drift_patch(SMALL, yaml.safe_load(SMALL), drift.report(), "a.yaml")
    assert not skipped
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert "            - y" in added, "a block list gets a line at its own indentation"
    assert ["        note:", "          type: [string, 'null']"] == added[added.index("        note:") :][:2]
    assert "        size: {type: integer}" in added
    assert any("headers: {X-Page: {description:" in line for line in added), "inside the flow mapping"
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    lines = SMALL.splitlines()
    assert removed == ["-" + lines[5], "-" + lines[-1]], "only the flow mapping grew, and the last line got its newline"
    patched = tmp_path / "a.yaml"
    patched.write_text(SMALL)
    subprocess.run(["patch", "-p0", "-s", "-i", "-"], input=diff, text=True, cwd=tmp_path, check=True)
    assert "        # the kind of thing\n" in patched.read_text()
    assert kept(yaml.safe_load(SMALL), yaml.safe_load(patched.read_text()))
    assert diff.count("\\ No newline at end of file") == 1, "the old last line had none, the new one has"


def test_a_report_or_document_that_cannot_be_read_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"version": 99}')
    for argv in (
        [str(tmp_path / "bad.json")],
        [str(tmp_path / "other.json")],
        [str(tmp_path / "missing.json")],
        [str(tmp_path / "other.json"), "--spec", str(tmp_path / "nope.yaml")],
    ):
        with pytest.raises(SystemExit) as stopped:
            main(["drift-patch", *argv])
        assert stopped.value.code == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and error.startswith("mock-server drift-patch: error:"), error
