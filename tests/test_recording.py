"""--record DIR: answers seen through the proxy become fixtures the mock serves, without a real secret."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from mock_server import ConfigError, Settings, create_app
from mock_server.clock import Clock, format_timestamp
from mock_server.fixtures import load_prices
from mock_server.recording import Recording
from mock_server.settings import DEFAULT_FIXTURES
from mock_server.spec import ApiSpec

from .conftest import BASE_URL, START, VALID_BODY, basic, bearer

REAL_KEY = "acme-live-key-4f1d9b2c7e"
REAL_CLIENT_ID = "acme-client-0c3a"
REAL_SECRET = "correct-horse-battery-staple"
OTHER_KEY = "globex-live-key-77aa19"
SESSION_TOKEN = "cs_live_a1SessionToken9"
SECRETS = (REAL_KEY, REAL_CLIENT_ID, REAL_SECRET, OTHER_KEY, SESSION_TOKEN)

ACME = {
    "organizationId": "org_acme",
    "organizationType": "free",
    "creator": "wile@acme.example",
    "name": "Acme",
    "messagesCap": 1000,
    "costCap": 0,
    "smsCap": 0,
    "callCap": 0,
    "anniversaryDate": "2026-12-01",
    "allowOverage": False,
    "createdAt": "2025-12-01T09:00:00.000Z",
    "updatedAt": "2026-06-01T09:00:00.000Z",
}
ACME_BILLING = {
    **ACME,
    "updatedAt": "2026-06-02T10:00:00.000Z",
    "stripeCustomerId": "cus_AcmeRecorded01",
    "status": "unverified",
    "sessionId": SESSION_TOKEN,
    "url": f"https://checkout.stripe.com/c/pay/{SESSION_TOKEN}",
}
GLOBEX = {**ACME, "organizationId": "org_globex", "name": "Basic Globex", "creator": "hank@globex.example"}
NEW_PRICE = "price_acme_pro"
BASIC = ("basic", (REAL_CLIENT_ID, REAL_SECRET))
BILLING_BODY = {**VALID_BODY, "messagePriceId": NEW_PRICE, "budgetPriceId": "price_budget_starter"}


def record(folder: Path) -> Recording:
    """A bearer GET and a basic POST of one organization (a new price id), a bearer POST of another."""
    recording = Recording(folder, clock=Clock(start=START))
    extra = {"internalNotes": "upstream only", "apiKey": REAL_KEY}  # fields the document does not give
    recording.observe(("bearer", REAL_KEY), "GET /account/organization", None, 200, {**ACME, **extra})
    recording.observe(BASIC, "POST /billing", BILLING_BODY, 200, ACME_BILLING)
    recording.observe(("bearer", OTHER_KEY), "POST /billing", VALID_BODY, 200, GLOBEX)
    recording.flush()  # the writer thread has written the folder
    return recording


def entries(folder: Path) -> dict[str, dict[str, Any]]:
    listed = yaml.safe_load((folder / "organizations.yaml").read_text(encoding="utf-8"))
    return {entry["organization"]["organizationId"]: entry for entry in listed}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    record(tmp_path / "recorded")
    return tmp_path / "recorded"


@pytest.fixture
def served(folder: Path) -> Iterator[TestClient]:
    app = create_app(Settings(fixtures=folder), clock=Clock(start=START))
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        yield client


def test_recorded_organizations_are_served_with_their_demo_credentials(
    served: TestClient, folder: Path, spec: ApiSpec
) -> None:
    recorded = entries(folder)
    assert set(recorded) == {"org_acme", "org_globex"}  # a bearer key and a basic pair of Acme: one entry
    acme = recorded["org_acme"]
    assert acme["apiKey"].startswith("sk_test_rec_")
    get_fields = spec.response_fields("accountGetOrganization")
    expected = {key: value for key, value in ACME_BILLING.items() if key in get_fields}  # the latest answer wins
    by_key = served.get("/account/organization", headers=bearer(acme["apiKey"]))
    by_pair = served.get("/account/organization", headers=basic(acme["clientId"], acme["clientSecret"]))
    assert by_key.status_code == by_pair.status_code == 200
    assert by_key.json() == by_pair.json() == expected
    globex = recorded["org_globex"]
    assert served.get("/account/organization", headers=bearer(globex["apiKey"])).json()["name"] == "Basic Globex"
    assert served.get("/account/organization", headers=bearer(REAL_KEY)).status_code == 401


def test_a_recorded_price_gives_a_checkout_session_for_the_recorded_customer(served: TestClient, folder: Path) -> None:
    headers = bearer(entries(folder)["org_acme"]["apiKey"])
    answer = served.post("/billing", headers=headers, json={**VALID_BODY, "messagePriceId": NEW_PRICE})
    assert answer.status_code == 200
    body = answer.json()
    assert body["sessionId"].startswith("cs_test_") and body["url"]
    assert body["stripeCustomerId"] == "cus_AcmeRecorded01"
    assert body["status"] == "unverified"
    wrong_tier = served.post("/billing", headers=headers, json={**VALID_BODY, "budgetPriceId": NEW_PRICE})
    assert wrong_tier.status_code == 400 and wrong_tier.json()["error"]["code"] == "price_wrong_tier"


def test_the_price_catalog_is_the_shipped_one_plus_the_prices_seen(folder: Path) -> None:
    prices = load_prices(folder)
    assert set(prices) == set(load_prices(DEFAULT_FIXTURES)) | {NEW_PRICE}
    assert prices[NEW_PRICE].tier == "message" and prices[NEW_PRICE].amount > 0 and prices[NEW_PRICE].caps


def test_no_secret_reaches_the_folder_or_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    folder = tmp_path / "recorded"
    recording = record(folder)
    echoed = {**ACME, "creator": f"owner of {REAL_KEY}", "name": f"Acme {REAL_KEY}", "updatedAt": "Bearer " + "x" * 20}
    recording.observe(("bearer", REAL_KEY), "GET /account/organization", None, 200, echoed)
    recording.observe(BASIC, "POST /billing", BILLING_BODY, 200, {**ACME_BILLING, "creator": REAL_SECRET})
    recording.flush()
    assert entries(folder)["org_acme"]["organization"]["creator"] == ACME["creator"]
    pair = f"{REAL_CLIENT_ID}:{REAL_SECRET}".encode()
    derived = [base64.b64encode(pair).decode(), *(hashlib.sha256(s.encode()).hexdigest() for s in SECRETS)]
    files = sorted(folder.iterdir())
    assert {path.name for path in files} == {"organizations.yaml", "prices.yaml", "README.md"}
    texts = [path.read_text(encoding="utf-8") for path in files] + [caplog.text]
    for text in texts:
        for secret in (*SECRETS, *derived, "Authorization", "Bearer "):
            assert secret not in text


def test_a_credential_echoed_in_a_field_of_another_type_is_neither_logged_nor_written(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    digits = "420042004200421"  # a key of digits, below 2**53: a number a fixture could hold
    recording = Recording(folder, clock=Clock(start=START))
    nested = {**ACME, "name": [REAL_KEY], "creator": {"owner": {"key": REAL_KEY}}, "costCap": [7, REAL_KEY]}
    recording.observe(("bearer", REAL_KEY), "GET /account/organization", None, 200, nested)
    numbers = {**ACME, "messagesCap": int(digits), "smsCap": float(digits), "callCap": [int(digits)]}
    recording.observe(("bearer", digits), "GET /account/organization", None, 200, numbers)
    recording.flush()
    organization = entries(folder)["org_acme"]["organization"]
    assert {key: organization[key] for key in ("name", "creator", "messagesCap", "smsCap", "callCap")} == {
        key: ACME[key] for key in ("name", "creator", "messagesCap", "smsCap", "callCap")
    }
    assert "name of org_acme kept as it was" in caplog.text, "the log names the field, not its value"
    for text in [caplog.text, *(path.read_text(encoding="utf-8") for path in folder.iterdir())]:
        assert REAL_KEY not in text and digits not in text


def test_an_answer_is_recorded_without_waiting_for_the_disk(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy records on the event loop: a slow disk must hold up no request, and a burst of changes is
    written in a few writes that end with the latest."""
    writes: list[str] = []
    replace = os.replace

    def slow_replace(source: str, target: str) -> None:
        writes.append(Path(target).name)
        time.sleep(0.5)
        replace(source, target)

    monkeypatch.setattr(os, "replace", slow_replace)
    recording = Recording(folder, clock=Clock(start=START))
    waited = []
    for number in range(20):
        started = time.monotonic()
        renamed = {**ACME, "name": f"Acme {number}"}
        recording.observe(("bearer", REAL_KEY), "GET /account/organization", None, 200, renamed)
        waited.append(time.monotonic() - started)
    assert max(waited) < 0.2, f"an observation waited {max(waited):.2f} s for the disk"
    assert recording.flush(30)
    assert entries(folder)["org_acme"]["organization"]["name"] == "Acme 19"
    assert writes.count("organizations.yaml") <= 3, "the changes made while a write was under way are written once"


def test_demo_credentials_that_reached_the_upstream_are_replaced(folder: Path) -> None:
    """Proxying to a mock that serves this very folder makes its demo key a real credential."""
    demo_key = entries(folder)["org_acme"]["apiKey"]
    recording = Recording(folder, clock=Clock(start=START))
    recording.observe(("bearer", demo_key), "GET /account/organization", None, 200, ACME)
    recording.flush()
    assert entries(folder)["org_acme"]["apiKey"].startswith("sk_test_rec_")
    assert all(demo_key not in path.read_text(encoding="utf-8") for path in folder.iterdir())


def test_the_readme_lists_each_organization_with_its_demo_credentials(folder: Path) -> None:
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for organization_id, entry in entries(folder).items():
        row = next(line for line in readme.splitlines() if f"`{organization_id}`" in line)
        assert entry["organization"]["name"] in row
        assert all(f"`{entry[key]}`" in row for key in ("apiKey", "clientId", "clientSecret"))
    assert NEW_PRICE in readme


def test_each_file_says_it_was_recorded_and_when(folder: Path) -> None:
    stamp = format_timestamp(START)
    for name in ("organizations.yaml", "prices.yaml"):
        first = (folder / name).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# Recorded by mock-server --record") and stamp in first
    assert stamp in (folder / "README.md").read_text(encoding="utf-8")


def test_recording_again_gives_the_same_files(folder: Path) -> None:
    before = snapshot(folder)
    record(folder)
    assert snapshot(folder) == before


def test_recording_again_updates_the_entry_and_keeps_its_credentials(folder: Path) -> None:
    before = entries(folder)
    recording = Recording(folder, clock=Clock(start=START))
    renamed = {**ACME, "name": "Acme Corporation", "messagesCap": 5000}
    recording.observe(BASIC, "GET /account/organization", None, 200, renamed)
    recording.observe(BASIC, "POST /billing", BILLING_BODY, 200, {**ACME_BILLING, "name": "Acme Corporation"})
    recording.flush()
    after = entries(folder)
    assert set(after) == set(before)
    acme = after["org_acme"]
    assert {key: acme[key] for key in ("apiKey", "clientId", "clientSecret")} == {
        key: before["org_acme"][key] for key in ("apiKey", "clientId", "clientSecret")
    }
    assert acme["organization"]["name"] == "Acme Corporation"
    assert acme["organization"]["stripeCustomerId"] == "cus_AcmeRecorded01"  # a GET answer leaves it alone
    assert acme["organization"]["messagesCap"] == 1000  # the POST answer came last
    assert len(load_prices(folder)) == len(load_prices(DEFAULT_FIXTURES)) + 1


def test_a_field_the_latest_answer_lacks_is_dropped_where_its_schema_gives_it(folder: Path) -> None:
    recording = Recording(folder, clock=Clock(start=START))
    downgrade = {"pendingDowngradeAccountType": "free", "pendingDowngradeEffectiveDate": "2026-12-01"}
    recording.observe(BASIC, "POST /billing", VALID_BODY, 200, {**ACME_BILLING, **downgrade})
    recording.flush()
    assert downgrade.items() <= entries(folder)["org_acme"]["organization"].items()
    without_sms = {key: value for key, value in ACME.items() if key != "smsCap"}
    recording.observe(BASIC, "GET /account/organization", None, 200, without_sms)
    recording.flush()
    organization = entries(folder)["org_acme"]["organization"]
    assert "smsCap" not in organization and downgrade.items() <= organization.items()  # GET gives no pendingDowngrade*
    recording.observe(BASIC, "POST /billing", VALID_BODY, 200, ACME_BILLING)
    recording.flush()
    assert not downgrade.keys() & entries(folder)["org_acme"]["organization"].keys()


def test_a_field_of_the_wrong_type_keeps_its_value_and_the_rest_is_recorded(folder: Path) -> None:
    recording = Recording(folder, clock=Clock(start=START))
    odd = {**ACME, "name": "Acme Two", "messagesCap": "lots", "anniversaryDate": "2026-02-30"}
    recording.observe(("bearer", REAL_KEY), "GET /account/organization", None, 200, odd)
    recording.flush()
    organization = entries(folder)["org_acme"]["organization"]
    assert (organization["name"], organization["messagesCap"]) == ("Acme Two", 1000)
    assert organization["anniversaryDate"] == ACME["anniversaryDate"]
    create_app(Settings(fixtures=folder))  # still loads


UNCHANGED = {"credential": BASIC, "operation": "POST /billing", "request_body": BILLING_BODY, "status": 200}


@pytest.mark.parametrize(
    "odd",
    [
        {"body": None},
        {"body": [ACME_BILLING]},
        {"body": "ok"},
        {"body": {**ACME_BILLING, "organizationId": 7}},
        {"body": {"organizationId": "org_new", "name": "No other field"}},
        {"body": {**ACME_BILLING, "messagesCap": float("nan"), "costCap": 10**30}},
        {"body": {**ACME_BILLING, "name": {"nested": True}, "allowOverage": "yes"}},
        {"status": 401, "body": {"trackingId": "t", "error": {"code": "invalid_credentials", "message": "no"}}},
        {"status": "200"},
        {"operation": "DELETE /account/organization"},
        {"operation": None},
        {"credential": ("digest", REAL_KEY)},
        {"credential": ("basic", REAL_SECRET)},
        {"credential": None},
        {"request_body": {**VALID_BODY, "messagePriceId": ["price_x"]}},
        {"request_body": {**VALID_BODY, "messagePriceId": "price budget\nstarter"}},
        {"request_body": {**VALID_BODY, "messagePriceId": "price_budget_starter"}},
        {"request_body": [NEW_PRICE]},
    ],
    ids=lambda odd: ",".join(f"{key}={str(value)[:30]}" for key, value in odd.items()),
)
def test_odd_input_never_raises_nor_changes_what_is_there(
    folder: Path, odd: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    recording = Recording(folder, clock=Clock(start=START))
    before = snapshot(folder)
    observation = {**UNCHANGED, "body": ACME_BILLING, **odd}
    recording.observe(**observation)
    recording.flush()
    assert snapshot(folder) == before
    assert any(
        record.name == "mock_server.recording" and record.levelno >= logging.WARNING for record in caplog.records
    )
    create_app(Settings(fixtures=folder))


def test_the_unchanged_observation_itself_changes_nothing(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    before = snapshot(folder)
    recording = Recording(folder, clock=Clock(start=START))
    recording.observe(**UNCHANGED, body=ACME_BILLING)
    recording.flush()
    assert snapshot(folder) == before and not caplog.records


def test_a_failed_write_leaves_the_old_files_whole_and_is_tried_again(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(folder)
    recording = Recording(folder, clock=Clock(start=START))
    renamed = {**ACME, "name": "Acme Renamed"}

    def full_disk(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", full_disk)
        recording.observe(("bearer", REAL_KEY), "GET /account/organization", None, 200, renamed)
        recording.flush()
    assert snapshot(folder) == before  # no half file, no temporary file left behind
    recording.observe(("bearer", REAL_KEY), "GET /account/organization", None, 200, renamed)
    recording.flush()
    assert entries(folder)["org_acme"]["organization"]["name"] == "Acme Renamed"


@pytest.mark.parametrize("name", ["organizations.yaml", "prices.yaml"])
def test_a_broken_file_is_refused_at_start_naming_it(folder: Path, name: str) -> None:
    broken = "# Recorded by mock-server --record\n- organization: [unclosed\n"
    (folder / name).write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(name)):
        Recording(folder)
    assert (folder / name).read_text(encoding="utf-8") == broken


def test_a_folder_not_written_by_a_recording_is_refused(tmp_path: Path) -> None:
    hand_written = (DEFAULT_FIXTURES / "organizations.yaml").read_text(encoding="utf-8")
    (tmp_path / "organizations.yaml").write_text(hand_written, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"organizations\.yaml was not written by a recording"):
        Recording(tmp_path)
    assert (tmp_path / "organizations.yaml").read_text(encoding="utf-8") == hand_written
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="recording folder"):
        Recording(tmp_path / "file")
