"""The two answers of openapi.yaml field by field against the published SDK's models.

``tests/data/pingram_sdk_models.json`` is a checked-in copy of what the real API's
generated SDK (npm ``pingram`` 1.0.14, ``dist/generated/src/models/*.d.ts``) states
about each field of ``Organization`` (GET /account/organization) and
``BillingPostResponseBody`` (POST /billing): its name, whether it is required,
whether it is nullable, its type and its enum.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server.schemas import compile_schema
from mock_server.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
SDK = json.loads((Path(__file__).parent / "data" / "pingram_sdk_models.json").read_text(encoding="utf-8"))
OURS = {"Organization": "Organization", "BillingPostResponseBody": "BillingResponse"}


def _facts(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each field as the SDK states it: required, nullable, type, enum (null is the nullable flag, not a value)."""
    facts = {}
    for name, field in schema["properties"].items():
        entry: dict[str, Any] = {
            "required": name in schema.get("required", []),
            "nullable": bool(field.get("nullable")),
            "type": field["type"],
        }
        if "enum" in field:
            entry["enum"] = [value for value in field["enum"] if value is not None]
        facts[name] = entry
    return facts


@pytest.mark.parametrize("model", sorted(OURS))
def test_our_answer_schema_states_what_the_sdk_states(model: str) -> None:
    raw = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    ours = _facts(raw["components"]["schemas"][OURS[model]])
    sdk = SDK["models"][model]["fields"]
    assert sorted(ours) == sorted(sdk), "the same field names"
    for field, stated in sdk.items():
        assert ours[field] == stated, field


def test_a_null_subscription_status_is_a_correct_answer_for_the_mock_too() -> None:
    """The mock's own answer validation (compiled, and its jsonschema fallback) takes the null the SDK allows."""
    check = compile_schema(load_spec().schema("BillingResponse"))
    answer = {
        "organizationId": "org_1",
        "organizationType": "free",
        "creator": "ada@example.com",
        "name": "Lovelace Labs",
        "messagesCap": 1000,
        "costCap": 0,
        "anniversaryDate": "2026-12-01",
        "allowOverage": False,
        "createdAt": "2025-12-01T09:00:00.000Z",
        "updatedAt": "2026-06-01T09:00:00.000Z",
    }
    assert check({**answer, "subscriptionStatus": None}) is None
    assert check({**answer, "subscriptionStatus": "active"}) is None
    assert check({**answer, "subscriptionStatus": "trialing"}) is not None
    assert check({**answer, "status": None}) is not None, "only subscriptionStatus is nullable"
