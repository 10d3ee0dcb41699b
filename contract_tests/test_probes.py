"""Deterministic probes, the same under any seed: they run first, then Hypothesis explores beyond them.

- **Credentials refused**: no credentials, unknown ones, and for each credential given its
  near misses (one character off, cut short, longer, the right client id with a wrong secret,
  the right secret under another id, the wrong scheme). Each must get 401 on each operation,
  and the answer must not name the account's organization.
- **Every credential form on every operation**: GET with each; the oracle judges each answer.
- **The documented error classes of POST /billing**, sent with each credential form: a body
  that is not JSON, not UTF-8, of another media type, not an object, empty; each required
  field missing; each field of the wrong type; an unknown price. Each answer must be 400 (the
  oracle holds it to the documented error body); another media type may get 415.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from billing_contract.checks import error_body_problem

from .expect import Expect
from .oracle import Oracle
from .report import Recorder
from .target import ORGANIZATION_PATH, Credential, Target
from .test_properties import BILLING_PATH, WRITES_OFF

URLS = {"successUrl": "https://app.example.com/billing/done", "cancelUrl": "https://app.example.com/billing"}
UNKNOWN_PRICE = "price_contract_tests_does_not_exist"
WRONG = [
    Credential("no credentials", "", ""),
    Credential("an unknown bearer key", "Bearer sk_contract_tests_not_a_key", "Bearer sk_contract_tests_not_a_key"),
    Credential(
        "unknown basic credentials",
        "Basic " + base64.b64encode(b"contract-tests:not-a-secret").decode(),
        "Basic " + base64.b64encode(b"contract-tests:not-a-secret").decode(),
    ),
    Credential("a scheme the document does not give", "Token sk_contract_tests", "Token sk_contract_tests"),
]


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


# name -> (body bytes, Content-Type)
INVALID: dict[str, tuple[bytes, str]] = {
    "a body that is not JSON": (b'{"successUrl": "https://app.example.com/', "application/json"),
    "a body that is not UTF-8": (
        b'{"successUrl": "https://app.example.com/\xff\xfe", "cancelUrl": "https://app.example.com/"}',
        "application/json",
    ),
    "an empty body": (b"", "application/json"),
    "a JSON array": (_json([URLS]), "application/json"),
    "JSON null": (b"null", "application/json"),
    "an empty object": (_json({}), "application/json"),
    **{
        f"no {field}": (_json({key: value for key, value in URLS.items() if key != field}), "application/json")
        for field in URLS
    },
    **{
        f"{field} a number": (_json({**URLS, field: 42}), "application/json")
        for field in ("successUrl", "cancelUrl", "messagePriceId", "budgetPriceId")
    },
    **{
        f"an unknown {field}": (_json({**URLS, field: UNKNOWN_PRICE}), "application/json")
        for field in ("messagePriceId", "budgetPriceId")
    },
}
OTHER_MEDIA_TYPE = (
    b"successUrl=https%3A%2F%2Fapp.example.com%2Fdone&cancelUrl=https%3A%2F%2Fapp.example.com%2F",
    "application/x-www-form-urlencoded",
)


@pytest.fixture
def expect(target: Target, recorder: Recorder, oracle: Oracle) -> Expect:
    return Expect(target, recorder, oracle)


def _refused(target: Target, accounts: dict[str, str], credentials: list[Credential], expect: Expect) -> None:
    organizations = {organization for organization in accounts.values() if len(organization) >= 4}
    operations: list[tuple[str, str, Any]] = [("GET", ORGANIZATION_PATH, None)]
    if target.settings.writes:
        operations.append(("POST", BILLING_PATH, URLS))
    for credential in credentials:
        for method, path, body in operations:
            answer = target.request(method, path, auth=credential.header or None, body=body)
            what = f"401 for {credential.name}, as documented"
            if expect(answer.status == 401, answer, "credentials_refused_with_401", what):
                leaked = [organization for organization in organizations if organization in answer.text]
                expect(
                    not leaked,
                    answer,
                    "credentials_refused_with_401",
                    f"a 401 for {credential.name} that names no organization",
                )


def test_wrong_credentials_get_401(target: Target, accounts: dict[str, str], expect: Expect) -> None:
    _refused(target, accounts, WRONG, expect)


def test_near_miss_credentials_get_401(target: Target, accounts: dict[str, str], expect: Expect) -> None:
    """A deployment that looks up only the client id, or compares a prefix, lets these through."""
    _refused(target, accounts, target.near_misses(), expect)


def test_every_credential_form_reads_the_organization(target: Target, expect: Expect) -> None:
    for form in [*target.forms, *([target.other] if target.other else [])]:
        answer = target.request("GET", ORGANIZATION_PATH, auth=form.header)
        expect.success(answer, f"GET {ORGANIZATION_PATH} with the {form.name} credentials")


@pytest.mark.writes
@pytest.mark.parametrize("probe", list(INVALID))
def test_an_invalid_body_gets_the_documented_400(
    probe: str, target: Target, recorder: Recorder, expect: Expect
) -> None:
    if not target.settings.writes:
        recorder.skipped(WRITES_OFF, "invalid_request_rejected")
        pytest.skip(WRITES_OFF)
    raw, kind = INVALID[probe]
    for form in target.forms:
        answer = target.request("POST", BILLING_PATH, auth=form.header, raw=raw, content_type=kind)
        expected = f"the documented 400 for {probe} (sent with the {form.name} credentials)"
        expect(answer.status == 400, answer, "invalid_request_rejected", expected)


@pytest.mark.writes
def test_a_body_of_another_media_type_is_refused(target: Target, recorder: Recorder, expect: Expect) -> None:
    if not target.settings.writes:
        recorder.skipped(WRITES_OFF, "invalid_request_rejected")
        pytest.skip(WRITES_OFF)
    raw, kind = OTHER_MEDIA_TYPE
    for form in target.forms:
        answer = target.request("POST", BILLING_PATH, auth=form.header, raw=raw, content_type=kind)
        expected = f"400 or 415 for a body of {kind} (the operation takes application/json)"
        if expect(answer.status in (400, 415), answer, "invalid_request_rejected", expected) and answer.status == 400:
            problem = error_body_problem(answer.json)
            expect(problem is None, answer, "error_body_documented", f"the documented 400 error body ({problem})")
