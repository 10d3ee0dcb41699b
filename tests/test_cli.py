"""The CLI: flags over environment over defaults, loud failures, a real start and stop."""

from __future__ import annotations

import dataclasses
import re
import signal
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import create_app
from mock_server.cli import parse_args
from mock_server.settings import DEFAULT_FIXTURES, SETTINGS, Settings

from .conftest import BASE_URL
from .servers import read_banner, run_mock


def test_defaults() -> None:
    settings = parse_args([], environ={})
    assert (settings.host, settings.port, settings.fixtures) == ("127.0.0.1", 8080, DEFAULT_FIXTURES)
    assert (settings.seed, settings.generate, settings.latency, settings.log_format) == (1, 0, 0, "text")


def test_flags_win_over_environment_which_wins_over_defaults() -> None:
    environ = {"MOCK_SERVER_PORT": "9000", "MOCK_SERVER_LATENCY": "25", "MOCK_SERVER_CORS_ORIGIN": "https://a.example"}
    settings = parse_args(["--port", "9100", "--log-format", "json"], environ=environ)
    assert (settings.port, settings.latency, settings.log_format) == (9100, 25, "json")
    assert settings.cors_origin == ("https://a.example",)


@pytest.mark.parametrize(
    ("argv", "environ", "named"),
    [
        (["--port", "eighty"], {}, "--port"),
        (["--port", "70000"], {}, "--port"),
        (["--latency", "-1"], {}, "--latency"),
        (["--log-format", "xml"], {}, "--log-format"),
        (["--cors-origin", "localhost:3000"], {}, "--cors-origin"),
        ([], {"MOCK_SERVER_GENERATE": "many"}, "MOCK_SERVER_GENERATE"),
        ([], {"MOCK_SERVER_CHECKOUT_BASE_URL": "mock.local"}, "MOCK_SERVER_CHECKOUT_BASE_URL"),
        (["--unknown-flag"], {}, "--unknown-flag"),
        (["--port", "8²"], {}, "--port"),  # str.isdigit() says yes to ²
        (["--seed", "\u0661"], {}, "--seed"),  # ARABIC-INDIC DIGIT ONE
        (["--latency", " 5"], {}, "--latency"),
        (["--generate", "+5"], {}, "--generate"),
        ([], {"MOCK_SERVER_MAX_BODY_BYTES": "9" * 5000}, "MOCK_SERVER_MAX_BODY_BYTES"),
        ([], {"MOCK_SERVER_LATENCY": "²"}, "MOCK_SERVER_LATENCY"),
        (["--fixtures", ""], {}, "--fixtures"),
        (["--state", "postgres://localhost:5432/mock"], {}, "--state must be memory, sqlite:///PATH or redis://"),
        ([], {"MOCK_SERVER_STATE": "sqlite://relative.db"}, "MOCK_SERVER_STATE must be memory, sqlite:///PATH or"),
        (["--state", "sqlite:///"], {}, "--state must be"),
        (["--workers", "2"], {}, "--workers 2 needs a shared --state"),
        ([], {"MOCK_SERVER_WORKERS": "2"}, "MOCK_SERVER_WORKERS=2 needs a shared --state"),
        ([], {"MOCK_SERVER_WORKERS": "0"}, "MOCK_SERVER_WORKERS must be a whole number of processes from 1 to 64"),
        (["--state", "sqlite:////no/such/folder/state.db"], {}, "--state: the folder '/no/such/folder'"),
    ],
)
def test_a_bad_setting_exits_2_naming_it(
    argv: list[str], environ: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(argv, environ=environ)
    assert stopped.value.code == 2
    assert named in capsys.readouterr().err


def test_every_setting_has_a_flag_an_environment_variable_a_default_and_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert [setting.name for setting in SETTINGS] == [field.name for field in dataclasses.fields(Settings)]
    with pytest.raises(SystemExit):
        parse_args(["--help"], environ={})
    shown = " ".join(capsys.readouterr().out.split())
    for setting in SETTINGS:
        assert setting.help, setting.name
        assert setting.env == "MOCK_SERVER_" + setting.name.upper()
        flag = f"{setting.flag}, --no-{setting.flag[2:]}" if setting.is_switch else f"{setting.flag} {setting.metavar}"
        assert f"{flag} {setting.help}" in shown
        assert f"(default: {setting.shown_default}; env {setting.env})" in shown


def _placeholders(usage: str) -> dict[str, str]:
    """``--flag PLACEHOLDER`` pairs of a usage line (a switch has no placeholder)."""
    return dict(re.findall(r"\[(--[a-z-]+) ([^\]]+)\]", usage))


def test_no_placeholder_repeats_its_flag_and_switches_take_none(capsys: pytest.CaptureFixture[str]) -> None:
    from contract_tests.cli import main as contract_tests

    with pytest.raises(SystemExit):
        parse_args(["--help"], environ={})
    mock_usage = capsys.readouterr().out.split("\n\n")[0]
    assert contract_tests(["--help"]) == 0
    contract_usage = capsys.readouterr().out.split("\n\n")[0]
    for usage in (mock_usage, contract_usage):
        placeholders = _placeholders(" ".join(usage.split()))
        assert len(placeholders) >= 10, usage
        for flag, placeholder in placeholders.items():
            assert placeholder.replace("_", "-").lower() != flag[2:], f"{flag} {placeholder}"
    assert _placeholders(" ".join(mock_usage.split()))["--generate"] == "N"
    assert "[--proxy-strict | --no-proxy-strict]" in " ".join(mock_usage.split())
    assert "--allow-writes]" in contract_usage


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--latency", "-5"], "--latency must be a whole number of milliseconds from 0 to 999999999999, got '-5'"),
        (["--port", "70000"], "--port must be a whole number from 0 to 65535, got '70000'"),
        (["--proxy", "http://a.test", "--proxy-timeout", "0"], "--proxy-timeout must be a whole number of seconds"),
        (["--max-body-bytes", "1e6"], "--max-body-bytes must be a whole number of bytes from 0 to"),
    ],
)
def test_a_bad_number_says_what_is_accepted(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv, environ={})
    assert said in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "environ"),
    [
        (["--latency", "-5"], {}),
        (["--latency"], {}),
        (["--unknown-flag"], {}),
        (["--prox", "http://a.test"], {}),  # an abbreviation of --proxy
        (["--late", "5"], {}),  # an abbreviation of --latency
        (["stray"], {}),
        (["--workers", "2"], {}),
        ([], {"MOCK_SERVER_PROXY_STRICT": "1"}),
        (["--docs", "nope"], {}),
    ],
)
def test_every_usage_error_is_one_line_naming_the_command_then_exit_2(
    argv: list[str], environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(argv, environ=environ)
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("mock-server: error: "), line
    assert "usage:" not in line


def test_abbreviated_flags_are_refused_by_both_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from contract_tests.cli import ERROR
    from contract_tests.cli import main as contract_tests

    with pytest.raises(SystemExit):
        parse_args(["--prox", "https://staging.example.com"], environ={})
    assert "mock-server: error: unknown flag '--prox'" in capsys.readouterr().err
    assert contract_tests(["--base-ur", "http://127.0.0.1:9"]) == ERROR
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("contract-tests: error: unknown flag '--base-ur'"), line


def test_both_commands_say_their_version(capsys: pytest.CaptureFixture[str]) -> None:
    from contract_tests.cli import OK
    from contract_tests.cli import main as contract_tests
    from mock_server import __version__

    with pytest.raises(SystemExit) as stopped:
        parse_args(["--version"], environ={})
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"mock-server {__version__}\n"
    assert contract_tests(["--version"]) == OK
    assert capsys.readouterr().out == f"contract-tests {__version__}\n"


def test_a_state_that_cannot_be_opened_is_named_as_it_was_given(tmp_path: Path) -> None:
    """The flag when it came from the flag, the variable when it came from the environment."""
    from mock_server import ConfigError

    not_a_database = tmp_path / "state.db"
    not_a_database.write_bytes(b"this is not a SQLite database, only text" * 100)
    url = f"sqlite:///{not_a_database}"
    with pytest.raises(ConfigError) as from_flag:
        create_app(parse_args(["--state", url], environ={}))
    assert str(from_flag.value).startswith("--state: cannot use"), from_flag.value
    assert "MOCK_SERVER_STATE" not in str(from_flag.value)
    with pytest.raises(ConfigError) as from_environment:
        create_app(parse_args([], environ={"MOCK_SERVER_STATE": url}))
    assert str(from_environment.value).startswith("MOCK_SERVER_STATE: cannot use"), from_environment.value


@pytest.mark.parametrize(
    ("argv", "environ", "strict"),
    [
        ([], {}, False),
        (["--proxy-strict"], {}, True),
        ([], {"MOCK_SERVER_PROXY_STRICT": "1"}, True),
        (["--no-proxy-strict"], {"MOCK_SERVER_PROXY_STRICT": "1"}, False),
    ],
)
def test_a_switch_is_given_alone_or_by_its_variable(argv: list[str], environ: dict[str, str], strict: bool) -> None:
    settings = parse_args(["--proxy", "https://staging.example.com", *argv], environ=environ)
    assert settings.proxy_strict is strict


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--proxy", "staging.example.com"], "--proxy must be an absolute http(s) URL"),
        (
            ["--proxy", "http://a.test", "--proxy-timeout", "0"],
            "--proxy-timeout must be a whole number of seconds from 1",
        ),
        (
            ["--proxy", "http://a.test", "--proxy-strict", "maybe"],
            "unknown argument 'maybe'",
        ),  # a switch takes no value
        (["--proxy-strict"], "--proxy-strict needs --proxy URL"),
        (["--proxy", "https://ci:hunter2@staging.test"], "--proxy must not carry credentials"),
    ],
)
def test_a_bad_proxy_setting_is_refused_by_name(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv, environ={})
    assert named in capsys.readouterr().err


def test_a_switch_from_the_environment_is_checked_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--proxy", "http://a.test"], environ={"MOCK_SERVER_PROXY_STRICT": "maybe"})
    assert "MOCK_SERVER_PROXY_STRICT must be true or false" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args([], environ={"MOCK_SERVER_PROXY_STRICT": "yes"})
    assert "mock-server: error: MOCK_SERVER_PROXY_STRICT needs --proxy URL" in capsys.readouterr().err


def test_max_body_bytes_is_a_setting_like_the_others() -> None:
    assert parse_args([], environ={"MOCK_SERVER_MAX_BODY_BYTES": "10"}).max_body_bytes == 10
    assert parse_args(["--max-body-bytes", "20"], environ={"MOCK_SERVER_MAX_BODY_BYTES": "10"}).max_body_bytes == 20


def test_the_body_limit_setting_refuses_a_larger_body() -> None:
    with TestClient(create_app(parse_args(["--max-body-bytes", "100"], environ={})), base_url=BASE_URL) as client:
        answer = client.post("/billing", content=b"{" + b" " * 200 + b"}", headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "body_too_large"


def test_a_bad_fixture_file_stops_start_up_naming_it(tmp_path: Path) -> None:
    (tmp_path / "prices.yaml").write_text("{not: a list}\n")
    process = run_mock("--fixtures", str(tmp_path), "--port", "0")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "prices.yaml" in err
    assert "Traceback" not in err


@pytest.mark.socket
def test_the_cli_serves_on_a_free_port_and_stops_cleanly_on_ctrl_c() -> None:
    process = run_mock("--port", "0", "--generate", "2", env={"MOCK_SERVER_LATENCY": "5"})
    try:
        banner, base = read_banner(process)
        assert f"{base}/ui/" in banner and "sk_test_paid_org" in banner and "sk_test_free_org" in banner
        dashboard = re.search(r"Dashboard: +(\S+)", banner)
        assert dashboard and dashboard.group(1) == f"{base}/__mock__/", banner
        assert "Mock dashboard" in httpx.get(dashboard.group(1)).text
        answer = httpx.get(f"{base}/account/organization", headers={"Authorization": "Bearer sk_test_gen_2"})
        assert answer.status_code == 200
        assert answer.json()["organizationId"] == "org_gen_000002"
        assert answer.headers["x-tracking-id"]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err
    assert "trackingId=" + answer.headers["x-tracking-id"] in err, "one log line per request"


@pytest.mark.socket
def test_keep_alive_answers_do_not_wait_for_the_clients_delayed_ack() -> None:
    """Without TCP_NODELAY each answer on a kept-alive connection waits ~40 ms (Nagle + delayed ACK)."""
    process = run_mock("--port", "0")
    try:
        _, base = read_banner(process)
        durations = []
        with httpx.Client(base_url=base, headers={"Authorization": "Bearer sk_test_paid_org"}) as client:
            for _ in range(25):  # one connection, kept alive
                started = time.perf_counter()
                assert client.get("/account/organization").status_code == 200
                durations.append(time.perf_counter() - started)
        assert sorted(durations)[len(durations) // 2] < 0.02, durations
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def _write_fixtures(folder: Path, organizations: list[dict[str, object]]) -> Path:
    import yaml

    folder.mkdir()
    (folder / "prices.yaml").write_bytes((DEFAULT_FIXTURES / "prices.yaml").read_bytes())
    (folder / "organizations.yaml").write_text(yaml.safe_dump(organizations))
    return folder


def test_the_banner_tries_a_key_the_fixtures_have_and_none_without_organizations(tmp_path: Path) -> None:
    import yaml

    from mock_server.cli import _banner

    shipped = yaml.safe_load((DEFAULT_FIXTURES / "organizations.yaml").read_text())
    (paid,) = [entry for entry in shipped if entry["label"] == "paid"]
    own = Settings(fixtures=_write_fixtures(tmp_path / "own", [{**paid, "apiKey": "sk_test_our_own"}]))
    app = create_app(own)
    tried = re.search(
        r"Try: curl -H 'Authorization: Bearer (\S+)' http://127.0.0.1:8080(\S+)", _banner(own, 8080, app.services.store)
    )
    assert tried, "a Try: line"
    assert tried.group(1) == "sk_test_our_own"
    with TestClient(app, base_url=BASE_URL) as client:
        assert client.get(tried.group(2), headers={"Authorization": f"Bearer {tried.group(1)}"}).status_code == 200

    empty = Settings(fixtures=_write_fixtures(tmp_path / "empty", []))
    banner = _banner(empty, 8080, create_app(empty).services.store)
    assert "Try:" not in banner and "sk_test_paid_org" not in banner
    assert "No organizations in the fixtures" in banner


def test_the_banner_says_host_names_need_allowed_hosts_when_bound_to_every_address() -> None:
    from mock_server.cli import _banner

    everywhere = _banner(Settings(host="0.0.0.0"), 8080, [])
    assert "--allowed-hosts" in everywhere
    assert "--allowed-hosts" not in _banner(Settings(), 8080, [])
    assert "--allowed-hosts" not in _banner(Settings(host="0.0.0.0", allowed_hosts=("mock.test",)), 8080, [])


def test_the_guides_options_table_is_made_from_the_settings_table() -> None:
    """docs/guide.md lists every setting as the settings table describes it (scripts/settings_table.py)."""
    import importlib.util

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("settings_table", root / "scripts" / "settings_table.py")
    assert spec is not None and spec.loader is not None
    settings_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(settings_table)
    guide = (root / "docs" / "guide.md").read_text(encoding="utf-8")
    assert settings_table.table() in guide, "docs/guide.md's table is out of date: run python scripts/settings_table.py"
    for setting in SETTINGS:
        starts = (f"| `{setting.flag} ", f"| `{setting.flag}`")
        (row,) = [line for line in guide.splitlines() if line.startswith(starts)]
        assert setting.env in row and setting.shown_default in row, row
