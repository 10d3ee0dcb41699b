"""The shipped fixtures are valid, cover every state, and bad ones stop start-up."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server import ConfigError, Settings, create_app
from mock_server.fixtures import Tenant, load_prices, load_tenants
from mock_server.recording_files import RecordingFiles
from mock_server.settings import DEFAULT_FIXTURES
from mock_server.spec import ApiSpec, load_spec

from .conftest import outcome_within

TENANTS = load_tenants(DEFAULT_FIXTURES, load_spec())


@pytest.mark.parametrize("tenant", TENANTS, ids=lambda tenant: tenant.label)
def test_every_fixture_is_valid_against_the_document(spec: ApiSpec, tenant: Tenant) -> None:
    assert not list(spec.validator("BillingResponse").iter_errors(tenant.organization))
    fields = spec.response_fields("accountGetOrganization")
    projected = {key: value for key, value in tenant.organization.items() if key in fields}
    assert not list(spec.validator("Organization").iter_errors(projected))


def _by_label(label: str) -> dict[str, object]:
    return next(tenant.organization for tenant in TENANTS if tenant.label == label)


def test_fixtures_cover_every_state_the_api_describes() -> None:
    free = _by_label("free")
    assert (free["organizationType"], free["status"]) == ("free", "unverified")
    assert "stripeCustomerId" not in free
    paid = _by_label("paid")
    assert (paid["organizationType"], paid["status"], paid["subscriptionStatus"]) == ("paid", "verified", "active")
    assert _by_label("past_due")["subscriptionStatus"] == "past_due"
    assert _by_label("paused")["subscriptionStatus"] == "paused"
    assert _by_label("canceled")["subscriptionStatus"] == "canceled"
    assert _by_label("blocked")["status"] == "blocked"
    downgrade = _by_label("pending_downgrade")
    pending = {key for key in downgrade if key.startswith("pendingDowngrade")}
    assert pending == {
        "pendingDowngradeCostCap",
        "pendingDowngradeMessagesCap",
        "pendingDowngradeSmsCap",
        "pendingDowngradeCallCap",
        "pendingDowngradeEffectiveDate",
        "pendingDowngradeAccountType",
    }
    assert [tenant.label for tenant in TENANTS if tenant.stripe_failure] == ["stripe_failure"]


def test_demo_identifiers_stay_stable() -> None:
    keys = {tenant.label: tenant.api_key for tenant in TENANTS}
    assert keys["free"] == "sk_test_free_org"
    assert keys["paid"] == "sk_test_paid_org"
    prices = load_prices(DEFAULT_FIXTURES)
    assert prices["price_message_starter"].tier == "message"
    assert prices["price_budget_starter"].tier == "budget"


def test_every_credential_is_unique() -> None:
    secrets = [value for tenant in TENANTS for value in (tenant.api_key, tenant.client_id)]
    assert len(secrets) == len(set(secrets))


def _fixtures_with(tmp_path: Path, name: str, change: Callable[[list[Any]], None]) -> Path:
    """A copy of the shipped fixtures with ``change`` applied to the entries of ``name``."""
    target = tmp_path / "fixtures"
    shutil.copytree(DEFAULT_FIXTURES, target)
    entries = yaml.safe_load((target / name).read_text())
    change(entries)
    (target / name).write_text(yaml.safe_dump(entries))
    return target


def test_broken_yaml_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    fixtures = _fixtures_with(tmp_path, "organizations.yaml", lambda entries: None)
    (fixtures / "organizations.yaml").write_text("- organization: [unclosed\n")
    with pytest.raises(ConfigError, match=r"organizations\.yaml"):
        create_app(Settings(fixtures=fixtures))


def test_an_organization_off_the_schema_stops_start_up_naming_the_field(tmp_path: Path) -> None:
    def impossible_date(entries: list[Any]) -> None:
        entries[1]["organization"]["anniversaryDate"] = "2026-02-30"

    fixtures = _fixtures_with(tmp_path, "organizations.yaml", impossible_date)
    with pytest.raises(ConfigError, match=r"organizations\.yaml: entry 1 \(organization\.anniversaryDate\)"):
        create_app(Settings(fixtures=fixtures))


def test_a_price_of_an_unknown_tier_stops_start_up(tmp_path: Path) -> None:
    fixtures = _fixtures_with(tmp_path, "prices.yaml", lambda entries: entries[0].update(tier="gold"))
    with pytest.raises(
        ConfigError, match=r"prices\.yaml: entry 0 \(tier\): must be one of message, budget, not 'gold'"
    ):
        create_app(Settings(fixtures=fixtures))


def test_a_reused_api_key_stops_start_up_without_quoting_it(tmp_path: Path) -> None:
    fixtures = _fixtures_with(
        tmp_path, "organizations.yaml", lambda entries: entries[2].update(apiKey="sk_test_free_org")
    )
    with pytest.raises(ConfigError, match=r"entry 2 \(apiKey\): is the apiKey of entry 0 too") as caught:
        create_app(Settings(fixtures=fixtures))
    assert "sk_test_free_org" not in str(caught.value)  # a credential is never printed


def test_a_missing_fixture_folder_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        create_app(Settings(fixtures=tmp_path / "nowhere"))


# Typed fields, hostile files: one line naming the file, the entry and the field ----------------


def _edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the shipped fixtures with the first ``old`` of ``name`` written as ``new``, as a user would."""
    target = tmp_path / "fixtures"
    shutil.copytree(DEFAULT_FIXTURES, target)
    text = (target / name).read_text(encoding="utf-8")
    assert old in text, old
    (target / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


FREE_CAP = "    messagesCap: 1000\n"
TYPED = [
    ("prices.yaml", "amount: 2900", "amount: abc", 0, "amount", "must be a number, not 'abc'"),
    ("prices.yaml", "amount: 2900", "amount: 29.5", 0, "amount", "must be a whole number from 0 to"),
    ("prices.yaml", "amount: 2900", "amount: -1", 0, "amount", "must be a whole number from 0 to"),
    ("prices.yaml", "{messagesCap: 50000}", "{messagesCap: .inf}", 0, "caps.messagesCap", "must be a finite number"),
    ("prices.yaml", "{messagesCap: 50000}", "{messagesCap: 5, seats: 3}", 0, "caps", "may only set messagesCap"),
    ("prices.yaml", "{messagesCap: 50000}", "[]", 0, "caps", "must be a mapping of one or more of messagesCap"),
    ("prices.yaml", "name: Messages Starter", "name: [a, b]", 0, "name", "must be text, not a list of 2 items"),
    ("prices.yaml", "channels: [EMAIL,", "channels: [SMS,", 0, "channels", "SMS is not a message-tier channel"),
    ("prices.yaml", "channels: [EMAIL,", "channels: [FAX,", 0, r"channels\[0\]", "must be one of EMAIL, INAPP_WEB"),
    ("prices.yaml", "currency: usd", "currency: 840", 0, "currency", "must be text, not 840"),
    ("prices.yaml", "interval: month", "interval: fortnight", 0, "interval", "must be one of day, week, month, year"),
    ("prices.yaml", "id: price_message_growth", "id: price_message_starter", 1, "id", "is the id of an earlier entry"),
    ("prices.yaml", "  currency: usd\n", "", 0, "currency", "is missing"),
    ("organizations.yaml", FREE_CAP, "    messagesCap: .inf\n", 0, "organization.messagesCap", "finite number"),
    ("organizations.yaml", FREE_CAP, "    messagesCap: 1.0e+30\n", 0, "organization.messagesCap", "within ±2\\*\\*53"),
    ("organizations.yaml", FREE_CAP, f"    messagesCap: {10**30}\n", 0, "organization.messagesCap", "within ±2"),
    ("organizations.yaml", FREE_CAP, "    messagesCap: abc\n", 0, "organization.messagesCap", "'abc' is not of type"),
    ("organizations.yaml", FREE_CAP, "    messagesCap: 1\n    seats: 3\n", 0, "organization", "the field 'seats'"),
    ("organizations.yaml", "name: Lovelace Labs", 'name: "Love\\e[31mlace"', 0, "organization.name", "printable"),
    ("organizations.yaml", "name: Lovelace Labs", "name: " + "x" * 5000, 0, "organization.name", "at most 4,096"),
    ("organizations.yaml", "Date: start+P11D", "Date: start+11 days", 0, "organization", "not start, start\\+DURATION"),
    ("organizations.yaml", "Date: start+P11D", "Date: 2026-12-01", 0, "organization.anniversaryDate", "type date"),
    ("organizations.yaml", "apiKey: sk_test_free_org", "apiKey: 12345", 0, "apiKey", "must be text of printable"),
    ("organizations.yaml", "apiKey: sk_test_free_org", "apiKey: sk test", 0, "apiKey", "its character 3 is not"),
    ("organizations.yaml", "clientId: client_free_org", "clientId: a:b", 0, "clientId", "or colons: its character 2"),
    ("organizations.yaml", "clientSecret: secret_free_org", "clientSecret: ''", 0, "clientSecret", "not 0"),
    ("organizations.yaml", "- label: free\n", "- label: free\n  colour: red\n", 0, "", "has the field 'colour'"),
    ("organizations.yaml", "stripeFailure: api_connection_error", "stripeFailure: [x]", 7, "stripeFailure", "text"),
    ("organizations.yaml", "  clientSecret: secret_free_org\n", "", 0, "clientSecret", "is missing"),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "index", "field", "why"),
    TYPED,
    ids=[f"{case[4] or 'entry'}={case[2][:24]}" for case in TYPED],
)
def test_a_field_of_the_wrong_type_stops_start_up_naming_file_entry_and_field(
    tmp_path: Path, name: str, old: str, new: str, index: int, field: str, why: str
) -> None:
    fixtures = _edited(tmp_path, name, old, new)
    with pytest.raises(ConfigError) as caught:
        create_app(Settings(fixtures=fixtures))
    message = str(caught.value)
    where = rf" \({field}\)" if field else ""
    assert re.search(rf"{re.escape(str(fixtures / name))}: entry {index}{where}: .*{why}", message), message
    assert "\n" not in message and len(message) < len(str(fixtures)) + 250, message
    credential = new.partition(": ")[2].strip() if field in ("apiKey", "clientId", "clientSecret") else ""
    assert not credential or credential not in message.partition(f"({field})")[2], message  # never quoted


@pytest.mark.parametrize(
    ("name", "old", "new", "why"),
    [
        (
            "organizations.yaml",
            "  apiKey: sk_test_free_org\n",
            "  apiKey: a\n  apiKey: b\n",
            "the key 'apiKey' appears twice",
        ),
        ("prices.yaml", "  amount: 2900\n", "  amount: 2900\n  amount: 29\n", "the key 'amount' appears twice"),
        ("prices.yaml", "- id: price_message_starter\n", "- id: &a x\n  <<: {id: *a}\n  id: y\n", "'id' appears twice"),
    ],
)
def test_a_key_repeated_in_one_entry_stops_start_up(tmp_path: Path, name: str, old: str, new: str, why: str) -> None:
    fixtures = _edited(tmp_path, name, old, new)
    with pytest.raises(
        ConfigError, match=rf"fixture file .*{re.escape(name)} is not valid YAML \(line \d+, column \d+\): .*{why}"
    ):
        create_app(Settings(fixtures=fixtures))


def _bomb(levels: int = 9) -> str:
    """Nine lines of YAML that stand for 9**levels strings once the aliases are written out."""
    lines = ["- &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"- &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "\n".join(lines)


def _start(fixtures: Path, *flags: str) -> tuple[int, str, float]:
    """``mock-server --fixtures DIR``, as a user runs it, in at most 1 GiB: its exit code, stderr and seconds."""

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--fixtures", str(fixtures), "--port", "0", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=bounded,
    )
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"mock-server --fixtures {fixtures.name} did not stop start-up within 30 s:\n{err[-2000:]}")
    return process.returncode, err, time.monotonic() - started


def _one_line(err: str, *parts: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mock-server: error: "), err[-3000:]
    for part in parts:
        assert part in lines[0], lines[0]


HOSTILE_STARTS = {
    "price amount: abc": ("prices.yaml", "amount: 2900", "amount: abc", "prices.yaml: entry 0 (amount): must be"),
    "messagesCap: .inf": ("organizations.yaml", FREE_CAP, "    messagesCap: .inf\n", "(organization.messagesCap)"),
    "messagesCap: 10**30": ("organizations.yaml", FREE_CAP, f"    messagesCap: {10**30}\n", "entry 0"),
    "alias bomb in a label": (
        "organizations.yaml",
        "- label: free\n",
        "- label: &bomb\n" + "\n".join("  " + line for line in _bomb().splitlines()) + "\n  description: x\n",
        "organizations.yaml has aliases that stand for more than 100,000 nodes",
    ),
    "alias bomb in a price name": (
        "prices.yaml",
        "  name: Messages Starter\n",
        "  name:\n" + "\n".join("    " + line for line in _bomb().splitlines()) + "\n",
        "prices.yaml has aliases that stand for more than 100,000 nodes",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE_STARTS))
def test_mock_server_refuses_a_hostile_fixture_in_one_line_exit_2(tmp_path: Path, case: str) -> None:
    name, old, new, expected = HOSTILE_STARTS[case]
    code, err, _ = _start(_edited(tmp_path, name, old, new))
    assert code == 2, err[-3000:]
    _one_line(err, name, expected)


def test_a_fifo_as_organizations_yaml_is_refused_at_once(tmp_path: Path) -> None:
    fixtures = _fixtures_with(tmp_path, "prices.yaml", lambda entries: None)
    (fixtures / "organizations.yaml").unlink()
    os.mkfifo(fixtures / "organizations.yaml")
    code, err, seconds = _start(fixtures)
    assert code == 2
    _one_line(err, "organizations.yaml is not a regular file (a FIFO)")
    assert seconds < 20


def test_a_link_to_dev_zero_is_refused_unread(tmp_path: Path) -> None:
    fixtures = _fixtures_with(tmp_path, "organizations.yaml", lambda entries: None)
    (fixtures / "prices.yaml").unlink()
    (fixtures / "prices.yaml").symlink_to("/dev/zero")
    code, err, _ = _start(fixtures)
    assert code == 2
    _one_line(err, "prices.yaml is not a regular file (a character device)")


def test_a_file_over_max_fixture_bytes_is_refused_naming_the_setting(tmp_path: Path) -> None:
    fixtures = _fixtures_with(tmp_path, "organizations.yaml", lambda entries: None)
    size = (fixtures / "prices.yaml").stat().st_size
    code, err, _ = _start(fixtures, "--max-fixture-bytes", str(size - 1))
    assert code == 2
    _one_line(err, f"prices.yaml is {size:,} bytes, over the limit of {size - 1:,} (--max-fixture-bytes)")
    assert create_app(Settings(fixtures=fixtures, max_fixture_bytes=size + 10_000))


@pytest.mark.parametrize("name", ["organizations.yaml", "prices.yaml", "README.md"])
def test_a_fifo_in_a_recording_folder_is_refused_at_once(tmp_path: Path, name: str) -> None:
    os.mkfifo(tmp_path / name)
    error = outcome_within(5, lambda: RecordingFiles(tmp_path, load_spec()))
    assert isinstance(error, ConfigError) and f"{name} is not a regular file (a FIFO)" in str(error)
