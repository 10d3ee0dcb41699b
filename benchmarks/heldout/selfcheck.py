"""The deployment checked against itself before it measures anything (run by measure.py first).

One fixed script of requests, covering every condition a fault or a variant depends
on (both accounts, both credential kinds, each price, the calls before and after a
customer or a session, each kind of bad input, near-miss credentials), is sent to the
correct app, to each fault and to each variant:

- every answer of the correct app and of the variants has a status the document
  gives (or 404/405 outside its operations, 429 when throttled), as application/json
  with the body of openapi.yaml's schema for that status, dates in ISO format;
- every fault answers the script differently from the correct app (its switch is live).

This is not the contract suite: it knows when each fault shows, as the suite must not.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from .accounts import BUDGET_PRICE, MAIN, MESSAGE_PRICE, OTHER
from .app import create_app
from .faults import FAULTS
from .variants import VARIANTS

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
URLS = {"successUrl": "https://app.example/billing/done?s={CHECKOUT_SESSION_ID}", "cancelUrl": "https://app.example/b"}
BODY_SCHEMAS = {("GET", 200): "Organization", ("POST", 200): "BillingResponse"}
ERROR_STATUSES = {400, 401, 402, 500, 502}
# Correct by the reference pages and the real API's own document, not by this openapi.yaml (see variants.py).
NOT_BY_OPENAPI_YAML = {"gateway_401", "subscription_status_null"}


def _basic(client_id: str | None, secret: str | None) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


MAIN_KEY = {"Authorization": f"Bearer {MAIN.key}"}
MAIN_BASIC = _basic(MAIN.client_id, MAIN.client_secret)
OTHER_KEY = {"Authorization": f"Bearer {OTHER.key}"}
ONE_CHANGED = MAIN.key[:-1] + ("A" if MAIN.key[-1] != "A" else "B")


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    content: bytes | None = None


def _post(headers: dict[str, str], **fields: Any) -> Step:
    return Step("POST", "/billing", headers, json={**URLS, **fields})


SCRIPT = [
    Step("GET", "/account/organization", MAIN_KEY),
    Step("GET", "/account/organization", MAIN_BASIC),
    Step("GET", "/account/organization", MAIN_KEY),
    Step("GET", "/account/organization", OTHER_KEY),
    Step("GET", "/account/organization", {}),
    _post({}),
    _post(MAIN_KEY),
    _post(MAIN_KEY),
    _post(MAIN_BASIC),
    Step("GET", "/account/organization", MAIN_KEY),
    _post(MAIN_KEY, messagePriceId=MESSAGE_PRICE),
    _post(MAIN_BASIC, budgetPriceId=BUDGET_PRICE),
    _post(MAIN_KEY, messagePriceId=MESSAGE_PRICE, budgetPriceId=BUDGET_PRICE),
    _post(MAIN_KEY),
    Step("GET", "/account/organization", MAIN_KEY),
    _post(OTHER_KEY),
    _post(OTHER_KEY, messagePriceId=MESSAGE_PRICE),
    _post(OTHER_KEY),
    Step("GET", "/account/organization", OTHER_KEY),
    _post(MAIN_KEY, messagePriceId=BUDGET_PRICE),
    _post(MAIN_KEY, budgetPriceId=MESSAGE_PRICE),
    _post(MAIN_KEY, messagePriceId="price_unknown"),
    _post(MAIN_KEY, budgetPriceId="price_unknown"),
    Step("POST", "/billing", MAIN_KEY, json={"successUrl": URLS["successUrl"]}),
    Step("POST", "/billing", MAIN_KEY, json={"cancelUrl": URLS["cancelUrl"], "messagePriceId": MESSAGE_PRICE}),
    _post(MAIN_BASIC, successUrl=7),
    Step("POST", "/billing", {**MAIN_KEY, "Content-Type": "application/json"}, content=b'{"successUrl": '),
    Step("POST", "/billing", {**MAIN_KEY, "Content-Type": "text/plain"}, content=b"successUrl=x"),
    Step("GET", "/account/organization", _basic(MAIN.client_id, "sec_wrong")),
    Step("GET", "/account/organization", _basic("cli_someone_else", MAIN.client_secret)),
    Step("GET", "/account/organization", {"Authorization": f"Bearer {ONE_CHANGED}"}),
    Step("GET", "/account/organization", {"Authorization": "Token abc"}),
    Step("PUT", "/billing", MAIN_KEY),
    Step("GET", "/nowhere", MAIN_KEY),
]


async def play(fault: str | None = None, variant: str | None = None) -> list[tuple[Step, httpx.Response]]:
    transport = httpx.ASGITransport(app=create_app(fault=fault, variant=variant))
    async with httpx.AsyncClient(transport=transport, base_url="http://heldout.test") as client:
        return [
            (
                step,
                await client.request(
                    step.method, step.path, headers=step.headers, json=step.json, content=step.content
                ),
            )
            for step in SCRIPT
        ]


def _seen(response: httpx.Response) -> tuple[int, str, str]:
    text = response.text
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "trackingId" in body:
        text = text.replace(str(body["trackingId"]), "<trackingId>")
    return response.status_code, response.headers.get("content-type", ""), text


def problems(step: Step, response: httpx.Response, validators: dict[str, Draft202012Validator]) -> list[str]:
    """What in one answer is not as openapi.yaml gives it."""
    where = f"{step.method} {step.path} -> {response.status_code}"
    documented = step.path in ("/account/organization", "/billing") and step.method in ("GET", "POST")
    status = response.status_code
    if not documented or status == 429:
        return []
    schema = BODY_SCHEMAS.get((step.method, status)) or ("ErrorResponse" if status in ERROR_STATUSES else None)
    if schema is None:
        return [f"{where}: a status the document does not give"]
    if response.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return [f"{where}: media type {response.headers.get('content-type')!r}"]
    errors = sorted(validators[schema].iter_errors(response.json()), key=str)
    return [f"{where}: {error.message}" for error in errors[:3]]


def main() -> list[str]:
    """Every problem found; empty when the deployment is ready to measure."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    validators = {
        name: Draft202012Validator(
            {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}, format_checker=FormatChecker()
        )
        for name in ("Organization", "BillingResponse", "ErrorResponse")
    }
    found: list[str] = []
    correct = asyncio.run(play())
    for variant in (None, *VARIANTS):
        answers = correct if variant is None else asyncio.run(play(variant=variant))
        if variant in NOT_BY_OPENAPI_YAML:
            continue
        for step, response in answers:
            found += [f"{variant or 'the correct app'}: {problem}" for problem in problems(step, response, validators)]
    baseline = [_seen(response) for _, response in correct]
    for fault in FAULTS:
        if [_seen(response) for _, response in asyncio.run(play(fault=fault))] == baseline:
            found.append(f"fault {fault}: the script's answers are the correct app's (the switch is dead)")
    return found


if __name__ == "__main__":
    for line in main() or ["every answer as the document gives it; every fault shows"]:
        print(line)
