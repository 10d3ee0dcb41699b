"""The ``billing_mock`` pytest plugin, as another project's tests use it (pytester runs a fake project)."""

from __future__ import annotations

import textwrap
import threading
import time

import httpx
import pytest

from mock_server.pytest_plugin import serve

pytest_plugins = ["pytester"]
PAID = {"Authorization": "Bearer sk_test_paid_org"}

# The project under test keeps warnings as errors, as this one does: the plugin must not trip them.
INI = """
[pytest]
filterwarnings = error
"""

OTHER_PROJECT_TESTS = """
import datetime as dt

import httpx
import pytest

PAID = {"Authorization": "Bearer sk_test_paid_org"}
FREE = {"Authorization": "Bearer sk_test_free_org"}
CHECKOUT = {
    "messagePriceId": "price_message_growth",
    "successUrl": "http://localhost:3000/ok",
    "cancelUrl": "http://localhost:3000/cancel",
}
URLS = []


def organization(billing_mock, headers):
    return httpx.get(billing_mock.url + "/account/organization", headers=headers)


def test_the_mock_answers_on_a_loopback_port(billing_mock):
    URLS.append(billing_mock.url)
    assert billing_mock.url.startswith("http://127.0.0.1:")
    assert organization(billing_mock, PAID).json()["organizationId"] == "org_paid_demo"
    last = billing_mock.requests()[-1]
    assert (last["method"], last["path"], last["status"], last["organizationId"]) == (
        "GET", "/account/organization", 200, "org_paid_demo"
    )


def test_one_mock_serves_the_whole_session(billing_mock):
    assert URLS == [billing_mock.url]
    assert len(billing_mock.requests()) == 1, "the first test's request is still in the log"


def test_a_sticky_scenario_holds_until_cleared(billing_mock):
    billing_mock.set_scenario("org_paid_demo", 402)
    assert organization(billing_mock, PAID).status_code == 402
    assert organization(billing_mock, FREE).status_code == 200
    billing_mock.set_scenario("org_paid_demo", None)
    assert organization(billing_mock, PAID).status_code == 200


def test_a_scenario_the_mock_cannot_answer_is_refused(billing_mock):
    with pytest.raises(ValueError, match="status must be one of"):
        billing_mock.set_scenario("org_paid_demo", 418)
    with pytest.raises(ValueError, match="no organization 'org_nobody'"):
        billing_mock.set_scenario("org_nobody", 500)


def test_moving_the_clock_expires_a_checkout_session(billing_mock):
    session = httpx.post(billing_mock.url + "/billing", headers=FREE, json=CHECKOUT).json()
    before = billing_mock.now()
    assert billing_mock.advance_clock(dt.timedelta(hours=24)) - before >= dt.timedelta(hours=24)
    refused = httpx.post(session["url"], data={"action": "pay"})
    assert refused.status_code == 410
    assert refused.json()["error"]["code"] == "checkout_session_expired"
    with pytest.raises(ValueError, match="only moves forward"):
        billing_mock.advance_clock(-1)


def test_reset_forgets_changes_scenarios_the_clock_and_the_log(billing_mock):
    start = billing_mock.now()
    billing_mock.set_scenario("org_free_demo", 500)
    billing_mock.advance_clock(3600)
    billing_mock.reset()
    assert billing_mock.requests() == []
    assert billing_mock.now() - start < dt.timedelta(minutes=5)
    assert organization(billing_mock, FREE).status_code == 200
"""


SANDBOX_TESTS = """
import httpx
import pytest

FREE = {"Authorization": "Bearer sk_test_free_org"}
CHECKOUT = {
    "messagePriceId": "price_message_growth",
    "successUrl": "http://localhost:3000/ok",
    "cancelUrl": "http://localhost:3000/cancel",
}


def plan(url, headers):
    return httpx.get(url + "/account/organization", headers=headers).json()["organizationType"]


@pytest.mark.parametrize("round", range(6))
@pytest.mark.parametrize("way", ["header", "credentials"])
def test_each_test_pays_in_a_sandbox_of_its_own(billing_sandbox, way, round):
    headers = {**FREE, **billing_sandbox.headers} if way == "header" else billing_sandbox.bearer("org_free_demo")
    assert plan(billing_sandbox.url, headers) == "free", "another test's payment leaked in"
    session = httpx.post(billing_sandbox.url + "/billing", headers=headers, json=CHECKOUT).json()
    assert httpx.post(session["url"], data={"action": "pay"}).status_code in (200, 303, 404)
    assert plan(billing_sandbox.url, headers) == "paid"
    billing_sandbox.set_scenario("org_free_demo", 402)
    assert httpx.get(billing_sandbox.url + "/account/organization", headers=headers).status_code == 402
    assert [entry["path"] for entry in billing_sandbox.requests()][-1] == "/account/organization"


def test_the_default_sandbox_never_saw_any_of_it(billing_mock, billing_sandbox):
    assert billing_mock.requests() == []
    assert plan(billing_mock.url, FREE) == "free"
    billing_sandbox.advance_clock(86400 * 400)
    assert billing_sandbox.now() - billing_mock.now() > __import__("datetime").timedelta(days=399)
"""


@pytest.fixture
def other_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project that loads the plugin by name (its entry point is covered by tests/test_wheel.py)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeini(INI)
    return pytester


def test_another_projects_tests_drive_the_mock_through_the_fixture(other_project: pytest.Pytester) -> None:
    other_project.makepyfile(test_with_the_mock=OTHER_PROJECT_TESTS)
    result = other_project.runpytest_subprocess("-p", "mock_server.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


@pytest.mark.parametrize("workers", [[], ["-p", "xdist", "-n", "2"]], ids=["one process", "two xdist workers"])
def test_billing_sandbox_keeps_tests_apart_without_a_reset(other_project: pytest.Pytester, workers: list[str]) -> None:
    other_project.makepyfile(test_in_sandboxes=SANDBOX_TESTS)
    result = other_project.runpytest_subprocess(
        "-p", "mock_server.pytest_plugin", "-p", "no:cacheprovider", "-p", "no:randomly", *workers
    )
    result.assert_outcomes(passed=13)


def test_the_settings_fixture_starts_the_mock_with_other_settings(other_project: pytest.Pytester) -> None:
    other_project.makeconftest(
        textwrap.dedent(
            """
            import pytest
            from mock_server import Settings

            @pytest.fixture(scope="session")
            def billing_mock_settings():
                return Settings(port=0, generate=3, seed=5)
            """
        )
    )
    other_project.makepyfile(
        textwrap.dedent(
            """
            import httpx

            def test_generated_organizations(billing_mock):
                answer = httpx.get(
                    billing_mock.url + "/account/organization", headers={"Authorization": "Bearer sk_test_gen_3"}
                )
                assert answer.status_code == 200
            """
        )
    )
    result = other_project.runpytest_subprocess("-p", "mock_server.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_without_the_plugin_there_is_no_fixture(other_project: pytest.Pytester) -> None:
    """The fixture comes from the plugin: a project that turns it off does not get it."""
    other_project.makepyfile("def test_it(billing_mock):\n    pass\n")
    result = other_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'billing_mock' not found*"])


@pytest.mark.socket
def test_the_mock_stops_at_once_though_a_request_is_still_in_flight() -> None:
    answers: list[httpx.Response | Exception] = []

    def slow_request(url: str) -> None:
        try:
            answers.append(httpx.get(url, headers={"Prefer": "delay=60000", **PAID}, timeout=90))
        except httpx.HTTPError as error:
            answers.append(error)

    with serve() as mock:
        slow = threading.Thread(target=slow_request, args=(f"{mock.url}/account/organization",), daemon=True)
        slow.start()
        time.sleep(0.5)  # the request is in the mock, waiting out its delay
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5  # not the request's 60 s, nor a 30 s wait
    slow.join(10)
    assert answers and not slow.is_alive()
