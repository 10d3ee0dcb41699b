"""Scenario control: the ``Prefer`` header (the convention Prism users know).

``Prefer: code=402`` forces a documented status, ``Prefer: example=NAME``
answers a named example of ``openapi.yaml``, ``Prefer: delay=MS`` adds latency.
Preferences combine (``code=400, example=price_wrong_tier, delay=250``); other
preferences (``return=minimal``...) are ignored, as RFC 7240 asks.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from .errors import InvalidPrefer
from .numbers import parse_int
from .spec import ApiSpec

__all__ = ["MAX_DELAY_MS", "Preference", "Scenarios", "parse_prefer"]

MAX_DELAY_MS = 60_000


@dataclasses.dataclass(frozen=True)
class Preference:
    code: int | None = None
    example: str | None = None
    delay: int = 0


NO_PREFERENCE = Preference()


def parse_prefer(header: str | None) -> Preference:
    if not header:
        return NO_PREFERENCE
    values: dict[str, str] = {}
    for token in header.replace(";", ",").split(","):
        name, _, value = token.strip().partition("=")
        name = name.strip().lower()
        if name in ("code", "example", "delay"):
            values[name] = value.strip().strip('"')
    if not values:
        return NO_PREFERENCE
    code = parse_int(values["code"], minimum=100, maximum=599) if "code" in values else None
    delay = parse_int(values.get("delay", "0"), maximum=MAX_DELAY_MS)
    if "code" in values and code is None:
        raise InvalidPrefer(f"Prefer code={values['code'][:20]!r} is not an HTTP status code.")
    if delay is None:
        raise InvalidPrefer(
            f"Prefer delay={values['delay'][:20]!r} must be a whole number of milliseconds up to {MAX_DELAY_MS}."
        )
    if "example" in values and not values["example"]:
        raise InvalidPrefer("Prefer example= needs the name of an example.")
    return Preference(code, values.get("example"), delay)


class Scenarios:
    """Answers forced by a preference, taken from the examples of ``openapi.yaml``."""

    def __init__(self, spec: ApiSpec) -> None:
        self._examples = {op: spec.examples(op) for op in spec.operations}
        self._routes = {op: f"{operation['method']} {operation['path']}" for op, operation in spec.operations.items()}
        self._statuses = {op: spec.documented_statuses(op) for op in spec.operations}

    def statuses(self, operation_id: str) -> list[int]:
        return self._statuses[operation_id]

    def example_names(self, operation_id: str) -> list[str]:
        return list(self._examples[operation_id])

    def _unknown_example(self, operation_id: str, name: str) -> str:
        message = f"Prefer example={name[:100]!r} is not an example of {self._routes[operation_id]} ({operation_id})"
        elsewhere = [f"{self._routes[op]} ({op})" for op, examples in self._examples.items() if name in examples]
        if elsewhere:
            message += f"; it is an example of {' and '.join(elsewhere)}"
        return f"{message}. Examples here: {', '.join(self._examples[operation_id]) or 'none'}."

    def forced(self, operation_id: str, preference: Preference, tracking_id: str) -> tuple[Any, int] | None:
        """The forced ``(body, status)``, or None to let the mock answer for real."""
        code, name = preference.code, preference.example
        if code is None and name is None:
            return None
        statuses = self._statuses[operation_id]
        if code is not None and code not in statuses:
            raise InvalidPrefer(
                f"Prefer code={code} is not documented for {operation_id}; documented: {', '.join(map(str, statuses))}."
            )
        examples = self._examples[operation_id]
        if name is not None:
            if name not in examples:
                raise InvalidPrefer(self._unknown_example(operation_id, name))
            status, body = examples[name]
            if code is not None and code != status:
                raise InvalidPrefer(f"Example {name!r} is a {status} answer, not {code}.")
        elif code is not None and 200 <= code < 300:
            return None
        else:
            assert code is not None
            status, body = next(
                (found for found in examples.values() if found[0] == code),
                (code, {"error": {"code": "forced_status", "message": f"Status {code} forced by Prefer."}}),
            )
        body = copy.deepcopy(body)
        if status >= 400:
            body["trackingId"] = tracking_id
        return body, status
