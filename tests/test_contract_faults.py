"""The contract suite passes against a correct deployment it was not written for, and catches each fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract_tests.cli import OK, VIOLATIONS, main
from tests.faulty_app import FAULTS, create_faulty_app

TARGET_OPTIONS = [
    "--profile",
    "quick",
    "--api-key",
    "sk_live_alpha",
    "--other-api-key",
    "sk_live_beta",
    "--message-price-id",
    "plan_msgs_10k",
    "--budget-price-id",
    "plan_sms_100",
]
# The check that must report each fault (others may report it too).
CAUGHT_BY = {
    "missing_field": {"response_schema_conformance"},
    "wrong_type": {"response_schema_conformance"},
    "unknown_enum": {"response_schema_conformance"},
    "malformed_date": {"anniversary_date_is_a_date"},
    "null_field": {"response_schema_conformance"},
    "ignore_credentials": {"ignored_auth"},
    "server_error": {"not_a_server_error"},
    "error_without_tracking": {"error_body_documented"},
    "wrong_content_type": {"content_type_conformance"},
    "undocumented_status": {"status_code_conformance"},
    "new_customer_each_call": {"same_stripe_customer"},
    "post_other_org": {"post_agrees_with_get", "same_organization"},
}


def run_suite(fault: str | None, tmp_path: Path) -> tuple[int, dict[str, object]]:
    report = tmp_path / "report.json"
    status = main([*TARGET_OPTIONS, "--report", str(report), "--", "-q"], app=create_faulty_app(fault))
    return status, json.loads(report.read_text())


def test_every_fault_has_an_expected_check() -> None:
    assert set(CAUGHT_BY) == set(FAULTS)


def test_a_correct_deployment_with_other_data_passes(tmp_path: Path) -> None:
    status, report = run_suite(None, tmp_path)
    assert status == OK
    assert report["passed"] is True
    operations = report["operations"]
    assert isinstance(operations, dict)
    assert operations["POST /billing"]["statuses"]["200"] > 0


@pytest.mark.parametrize("fault", FAULTS)
def test_the_suite_catches(fault: str, tmp_path: Path) -> None:
    status, report = run_suite(fault, tmp_path)
    assert status == VIOLATIONS
    failures = report["failures"]
    assert isinstance(failures, list)
    checks = {failure["check"] for failure in failures}
    assert checks & CAUGHT_BY[fault], f"{fault} was reported only by {sorted(checks)}"
    assert all(failure["details"] for failure in failures)
