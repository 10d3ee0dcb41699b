"""The mock's fixtures and a recording, checked against a changed document: what the mock would answer from them.

A folder of fixtures (``fixtures/``, or one ``mock-server --record`` wrote: the same format,
docs/recording.md) gives each organization in ``organizations.yaml``. The mock answers
``GET /account/organization`` with the fields of that operation's schema, and ``POST /billing``
with the organization and its Stripe customer (made on the first call when it has none): each of
those answers, its dates given relative to the clock's start made absolute at the moment of the
check, is judged against the new document by the oracle (:class:`billing_contract.verdict.Verdict`).
Each answer it refuses is one breaking :class:`~billing_contract.compat.Change` naming the file,
the entry and the field. Nothing here imports ``mock_server``: the files are read directly.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from billing_contract import bounded_yaml
from billing_contract.compat import Change
from billing_contract.compat_schema import Walk, child
from billing_contract.excerpt import excerpt
from billing_contract.fixture_dates import resolve_dates
from billing_contract.verdict import Verdict

__all__ = ["ORGANIZATIONS", "SHIPPED", "FixturesUnreadable", "check_folder"]

ORGANIZATIONS = "organizations.yaml"
_ROOT = Path(__file__).resolve().parent.parent
# In a checkout, fixtures/ beside the package; installed, the copy the wheel carries (read as files).
SHIPPED = next((p for p in (_ROOT / "fixtures", _ROOT / "mock_server" / "data" / "fixtures") if p.is_dir()), None)
_ANSWERS = (("accountGetOrganization", "fields"), ("accountPrepareCheckoutSession", "organization"))
"""The operations the mock answers from a fixture organization (by operationId), and with what of it."""
_CUSTOMER = "stripeCustomerId"
_MADE_CUSTOMER = "cus_0000000000000000"  # the shape of the customer id the mock's Stripe makes
MAX_BYTES = 16 * 1024 * 1024


class FixturesUnreadable(RuntimeError):
    """The folder's organizations.yaml cannot be read or holds no list: one line."""


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (METHOD, path, the operation) for the operations of ``document``."""
    found = {}
    for path, item in (document.get("paths") or {}).items():
        for method, operation in (item if isinstance(item, dict) else {}).items():
            if isinstance(operation, dict) and isinstance(operation.get("operationId"), str):
                found[operation["operationId"]] = (method.upper(), path, operation)
    return found


def _fields(walk: Walk, operation: dict[str, Any]) -> set[str] | None:
    """The properties the operation's 200 JSON answer's schema gives, or None (every field) when it lists none."""
    response = walk.resolve((operation.get("responses") or {}).get("200"), 1)
    content = response.get("content") if isinstance(response, dict) else None
    media = content.get("application/json") if isinstance(content, dict) else None
    schema = walk.resolve(media.get("schema"), 1) if isinstance(media, dict) else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return set(properties) if isinstance(properties, dict) else None


def _entries(path: Path) -> list[Any]:
    try:
        entries = bounded_yaml.load_file(path, bounded_yaml.YamlLimits(max_bytes=MAX_BYTES))
    except FileNotFoundError:
        raise FixturesUnreadable(f"{path} does not exist") from None
    except bounded_yaml.YamlRefused as exc:
        raise FixturesUnreadable(f"{path} {exc}") from None
    if not isinstance(entries, list):
        raise FixturesUnreadable(f"{path} must hold a list of entries, not {excerpt(entries)}")
    return entries


def check_folder(folder: Path, document: dict[str, Any], verdict: Verdict, now: dt.datetime) -> list[Change]:
    """Each answer the organizations of ``folder`` would give that ``document`` refuses (dates made absolute at
    ``now``); :class:`FixturesUnreadable` when the file cannot be read."""
    path = folder / ORGANIZATIONS
    entries = _entries(path)
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        path = path.relative_to(Path.cwd())  # named as the user would type it
    operations = _operations(document)
    walk = Walk(document, document)
    answering = [(operations[name], use) for name, use in _ANSWERS if name in operations]
    found: list[Change] = []
    for index, entry in enumerate(entries):
        where = child(f"{path}[{index}]", "organization")
        label = f"entry {index}" + (f" ({entry['label']})" if isinstance(entry, dict) and entry.get("label") else "")
        organization = entry.get("organization") if isinstance(entry, dict) else None
        if not isinstance(organization, dict):
            found.append(Change(True, where, f"{label} has no organization mapping"))
            continue
        try:
            organization = resolve_dates(organization, now)
        except (ValueError, OverflowError) as exc:
            found.append(Change(True, where, f"{label}: {exc}"))
            continue
        for (method, route, operation), use in answering:
            fields = _fields(walk, operation) if use == "fields" else None
            answer = {k: v for k, v in organization.items() if fields is None or k in fields}
            if use == "organization" and not answer.get(_CUSTOMER):
                answer[_CUSTOMER] = _MADE_CUSTOMER
            found += _judged(verdict, method, route, answer, where, f"{label}: {method} {route} would answer")
    return found


def _judged(verdict: Verdict, method: str, route: str, answer: dict[str, Any], where: str, said: str) -> list[Change]:
    failures: list[Any] = []
    headers = [("content-type", "application/json")]
    try:
        body = json.dumps(answer).encode()
    except (TypeError, ValueError):  # a YAML date or timestamp that JSON cannot carry
        return [Change(True, where, f"{said} a value JSON cannot carry")]
    violations = verdict.judge(method, route, {}, None, 200, headers, body, failures=failures)
    changes = []
    for violation, failure in zip(violations, failures, strict=False):
        field = "".join(f".{part}" if isinstance(part, str) else f"[{part}]" for part in _path(failure))
        changes.append(Change(True, where + field, f"{said}: {violation.message}"))
    return changes


def _path(failure: Any) -> list[Any]:
    path = getattr(failure, "instance_path", None)
    return list(path) if isinstance(path, list | tuple) else []
