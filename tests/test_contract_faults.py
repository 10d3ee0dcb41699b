"""The contract suite passes against a correct deployment it was not written for, and catches each fault.

Variants are habits of real deployments that keep the contract: the suite must pass them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract_tests.cli import ERROR, OK, VIOLATIONS, main
from tests.faulty_app import FAULTS, UNRELENTING, VARIANTS, create_faulty_app

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
    "ignore_credentials": {"credentials_refused_with_401", "tenant_isolation"},
    "server_error": {"not_a_server_error"},
    "error_without_tracking": {"error_body_documented"},
    "wrong_content_type": {"content_type_conformance"},
    "undocumented_status": {"status_code_conformance"},
    "new_customer_each_call": {"same_stripe_customer"},
    "post_other_org": {"post_agrees_with_get", "same_organization"},
    "session_without_price": {"session_exactly_with_a_price", "no_session_without_price"},
    "session_needs_both_prices": {"session_exactly_with_a_price", "session_with_price"},
    "other_tier_accepted": {"other_tier_price_refused"},
    "post_changes_organization": {"post_without_price_changes_nothing"},
    "wrong_key_403": {"credentials_refused_with_401"},
}


def run_suite(fault: str | None, tmp_path: Path, variant: str | None = None) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "report.json"
    app = create_faulty_app(fault, variant=variant)
    status = main([*TARGET_OPTIONS, "--report", str(report), "--", "-q"], app=app)
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


@pytest.mark.parametrize("variant", [variant for variant in VARIANTS if variant not in ("rate_limited", "overloaded")])
def test_a_habit_of_real_deployments_passes(variant: str, tmp_path: Path) -> None:
    status, report = run_suite(None, tmp_path, variant)
    assert status == OK, report["failures"]
    assert report["throttling"]["answers"] == 0


@pytest.mark.parametrize("variant", ["rate_limited", "overloaded"])
def test_throttling_is_waited_out_and_reported_not_failed(variant: str, tmp_path: Path) -> None:
    status, report = run_suite(None, tmp_path, variant)
    assert status == OK, report["failures"]
    throttling = report["throttling"]
    assert throttling["answers"] > 0
    assert throttling["waited_seconds"] > 0
    assert throttling["final_rps"] is not None
    assert throttling["gave_up"] is None


def test_a_target_that_keeps_throttling_stops_the_run_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = run_suite(None, tmp_path, UNRELENTING)
    assert status == ERROR
    assert "still throttled (429) after 5 retries" in report["throttling"]["gave_up"]
    assert report["failures"] == []
    assert "no verdict: the target kept throttling" in capsys.readouterr().err


def test_a_target_that_throttles_the_preflight_stops_before_testing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_faulty_app(variant=UNRELENTING, throttle_after=0)
    assert main([*TARGET_OPTIONS, "--", "-q"], app=app) == ERROR
    assert "preflight failed: the target throttled the run" in capsys.readouterr().out
