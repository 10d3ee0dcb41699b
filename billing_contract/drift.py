"""Drift: what a deployment's answers did, over many exchanges, that the document does not say.

:class:`Drift` is told every judged exchange (:meth:`Drift.observe`, by ``mock-server
--proxy`` and by the contract suite run against a deployment) and keeps, per operation,
the violations grouped by check and the undocumented facts (:mod:`.undocumented`), each
with its count, when it was first and last seen, and one example: the first, redacted
(never a credential: the caller's secrets and any value under a name such as ``apiKey``
or ``secret`` become ``[redacted]``), cut to :data:`EXAMPLE` characters. Bounded: at most
``max_groups`` groups; past that, new groups are only counted (``omitted``), and the
groups kept keep counting. :meth:`Drift.report` is the JSON document
:mod:`.drift_report` renders and :mod:`.drift_patch` reads.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

import orjson

from .excerpt import clip, redact
from .undocumented import Fact, Undocumented, json_type

__all__ = ["MAX_GROUPS", "REPORT_VERSION", "Drift", "redacted_json"]

MAX_GROUPS = 500
EXAMPLE = 600  # characters of an example body or value
REPORT_VERSION = 1
_SECRET_NAME = re.compile(r"(?i)(secret|password|passwd|token|api_?key|authorization|credential|private)")


def _scrubbed(value: Any, depth: int = 0) -> Any:
    if depth > 16:
        return "[deep]"
    if isinstance(value, dict):
        return {
            key: "[redacted]" if _SECRET_NAME.search(str(key)) else _scrubbed(item, depth + 1)
            for key, item in list(value.items())[:50]
        }
    if isinstance(value, list):
        return [_scrubbed(item, depth + 1) for item in value[:20]]
    return value


def redacted_json(value: Any, hidden: tuple[str, ...], name: str = "") -> str:
    """``value`` as JSON text, secrets out, cut to :data:`EXAMPLE` characters."""
    if _SECRET_NAME.search(name):
        return '"[redacted]"'
    try:
        text = orjson.dumps(_scrubbed(value)).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = '"[not JSON]"'
    return clip(redact(text, hidden), EXAMPLE)


def _body(raw: bytes | None, data: Any, hidden: tuple[str, ...]) -> str:
    if data is not None:
        return redacted_json(data, hidden)
    text = (raw or b"")[: EXAMPLE * 4].decode("utf-8", "replace")
    return clip(redact(text, hidden), EXAMPLE)


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class _Group:
    __slots__ = ("count", "detail", "first", "last")

    def __init__(self, now: float, detail: dict[str, Any]) -> None:
        self.count, self.first, self.last, self.detail = 0, now, now, detail

    def seen(self, now: float) -> None:
        self.count += 1
        self.last = now

    def as_json(self) -> dict[str, Any]:
        return {**self.detail, "count": self.count, "firstSeen": _stamp(self.first), "lastSeen": _stamp(self.last)}


class Drift:
    """The observations of one process: per operation, violations by check and undocumented facts."""

    def __init__(self, raw: dict[str, Any], *, max_groups: int = MAX_GROUPS) -> None:
        self.undocumented = Undocumented(raw)
        self.max_groups = max_groups
        self.clear()

    def clear(self) -> None:
        self.exchanges: dict[str, int] = {}
        self.violations: dict[tuple[str, str], _Group] = {}
        self.facts: dict[tuple[str, Fact], _Group] = {}
        self.omitted = 0
        self.started = time.time()

    @property
    def violated(self) -> bool:
        return bool(self.violations)

    def observe(
        self,
        method: str,
        path: str,
        status: int,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        violations: Iterable[tuple[str, str]],
        *,
        request_body: Any = None,
        hidden: tuple[str, ...] = (),
    ) -> None:
        """One exchange: ``headers`` as (name, value) text, ``body`` the answer's (None: too large to read),
        ``violations`` (check, message) its verdict's, ``hidden`` the caller's secrets."""
        operation = f"{method} {path}"
        now = time.time()
        self.exchanges[operation] = self.exchanges.get(operation, 0) + 1
        headers = list(headers)
        data = None
        if body:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                data = None
        for check, message in violations:
            key = (operation, check)
            group = self.violations.get(key)
            if group is None:
                if not self._room():
                    continue
                answer = {"status": status, "mediaType": dict(headers).get("content-type", "")}
                answer["body"] = _body(body, data, hidden)
                request = {"method": method, "path": path}
                if request_body is not None:
                    request["body"] = redacted_json(request_body, hidden)
                example = {"request": request, "answer": answer}
                group = self.violations[key] = _Group(now, {"check": check, "message": message, "example": example})
            group.seen(now)
        facts = self.undocumented.facts(method, path, status, headers, data, bool(body))
        for fact, value in facts.items():
            fact_key = (operation, fact)
            fact_group = self.facts.get(fact_key)
            if fact_group is None:
                if not self._room():
                    continue
                fact_group = self.facts[fact_key] = _Group(now, self._detail(method, path, fact, value, hidden))
            fact_group.seen(now)
            if fact.kind == "field":
                fact_group.detail["types"].add(json_type(value))

    def _room(self) -> bool:
        if len(self.violations) + len(self.facts) < self.max_groups:
            return True
        self.omitted += 1
        return False

    def _detail(self, method: str, path: str, fact: Fact, value: Any, hidden: tuple[str, ...]) -> dict[str, Any]:
        detail: dict[str, Any] = {"kind": fact.kind, "status": fact.status, "where": fact.where}
        if fact.media_type:
            detail["mediaType"] = fact.media_type
        if fact.kind == "field":
            detail.update(path=fact.name, types=set(), example=redacted_json(value, hidden, fact.name))
        elif fact.kind == "enum":
            field, _, _ = fact.name.rpartition("=")
            detail.update(path=field, value=redacted_json(value, hidden, field))
        elif fact.kind == "header":
            detail["name"] = fact.name
        elif fact.kind == "status" and value is not None:
            detail["bodyType"] = json_type(value)
            error = self.undocumented.error_schema(method, path)
            if error is not None and int(fact.status) >= 400 and self.undocumented.fits(*error, value):
                schema, at = error  # the patch names it as the document does
                ref = schema.get("$ref") if isinstance(schema, dict) else None
                detail["errorSchema"] = ref if isinstance(ref, str) else "#" + at
        return detail

    def report(self) -> dict[str, Any]:
        """Every observation, the operations with most violations first, each group with most counts first."""
        operations: dict[str, dict[str, Any]] = {
            name: {"operation": name, "exchanges": count, "violations": [], "undocumented": []}
            for name, count in self.exchanges.items()
        }
        for (name, _), group in sorted(self.violations.items(), key=lambda item: -item[1].count):
            operations[name]["violations"].append(group.as_json())
        for (name, _), group in sorted(self.facts.items(), key=lambda item: -item[1].count):
            found = group.as_json()
            if "types" in found:
                found["types"] = sorted(found["types"])
            operations[name]["undocumented"].append(found)
        ordered = sorted(
            operations.values(),
            key=lambda op: (-sum(v["count"] for v in op["violations"]), -len(op["undocumented"]), op["operation"]),
        )
        return {
            "version": REPORT_VERSION,
            "since": _stamp(self.started),
            "until": _stamp(time.time()),
            "exchanges": sum(self.exchanges.values()),
            "violations": sum(group.count for group in self.violations.values()),
            "undocumented": len(self.facts),
            "omitted": self.omitted,
            "operations": ordered,
        }
