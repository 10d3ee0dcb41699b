"""The fields of the two fixture files, each with its type and bounds: one table per file.

A field's check answers None for a good value, else ``(where, why)``: where inside the field
(``""``, ``"[2]"``, ``".smsCap"``) and why, quoting at most a short excerpt of the value (never
of a credential). Numbers
are finite and within ±2**53 (what every JSON client reads exactly: orjson refuses integers past
64 bits, and JSON has no infinity), text is printable and bounded, lists and mappings are where
expected, the tier and the channels are known. The organization is checked field by field against
``openapi.yaml`` (``BillingResponse``), whose fields are the only ones it may have.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from billing_contract.excerpt import clip, excerpt

from .schemas import compile_schema
from .spec import ApiSpec

__all__ = [
    "CAP_FIELDS",
    "CHANNELS",
    "LARGEST",
    "MAX_TEXT",
    "PRICE_FIELDS",
    "TIER_CHANNELS",
    "Field",
    "Problem",
    "check_entry",
    "tenant_fields",
]

TIER_CHANNELS = {
    "message": ("EMAIL", "INAPP_WEB", "WEB_PUSH", "PUSH", "SLACK"),
    "budget": ("SMS", "CALL"),
}
CHANNELS = tuple(channel for channels in TIER_CHANNELS.values() for channel in channels)
CAP_FIELDS = ("messagesCap", "costCap", "smsCap", "callCap")
LARGEST = 2**53
"""The largest magnitude a JSON number has, in any client, exactly."""
MAX_TEXT = 4096
"""The longest text field, in characters (a recorded field is at most 2,048)."""
_MAX_TOKEN = 256

Problem = tuple[str, str]
"""Where inside the field (``""`` for the field itself) and why the value is refused."""
Check = Callable[[Any], "Problem | None"]


@dataclasses.dataclass(frozen=True)
class Field:
    check: Check
    required: bool = False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> str | None:
    """Why ``value`` is not a number JSON carries exactly, or None."""
    if not _is_number(value):
        return f"must be a number, not {excerpt(value)}"
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > LARGEST:
        return f"must be a finite number within ±2**53 ({LARGEST:,}), not {excerpt(value)}"
    return None


def _text(value: Any, most: int) -> str | None:
    if not isinstance(value, str):
        return f"must be text, not {excerpt(value)}"
    if len(value) > most:
        return f"must be at most {most:,} characters, not {excerpt(value)}"
    if not value.isprintable():
        return f"must be printable text (no control characters), not {excerpt(value)}"
    return None


def text(most: int = MAX_TEXT) -> Check:
    def check(value: Any) -> Problem | None:
        reason = _text(value, most)
        return None if reason is None else ("", reason)

    return check


def token(pattern: str, what: str) -> Check:
    """Text that fully matches ``pattern`` (at most 256 characters); ``what`` says what it should be."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Problem | None:
        reason = _text(value, _MAX_TOKEN)
        if reason is None and not compiled.fullmatch(value):
            reason = f"must be {what}, not {excerpt(value)}"
        return None if reason is None else ("", reason)

    return check


def credential(allowed: str, what: str) -> Check:
    """A key or secret: 1 to 256 characters of the class ``allowed`` (a regex class). Never quoted."""
    bad = re.compile(f"[^{allowed}]")

    def check(value: Any) -> Problem | None:
        if not isinstance(value, str):
            return "", f"must be text of {what} (quote it in the file), not a {type(value).__name__} value"
        if not 1 <= len(value) <= _MAX_TOKEN:
            return "", f"must be 1 to {_MAX_TOKEN} characters of {what}, not {len(value):,}"
        found = bad.search(value)
        if found is not None:
            return "", f"must be {what}: its character {found.start() + 1} is not (the value is not shown)"
        return None

    return check


def number(least: float = -LARGEST, most: float = LARGEST, *, whole: bool = False) -> Check:
    def check(value: Any) -> Problem | None:
        reason = _number(value)
        if reason is None and ((whole and not isinstance(value, int)) or not least <= value <= most):
            kind = "a whole number" if whole else "a number"
            reason = f"must be {kind} from {least:,} to {most:,}, not {excerpt(value)}"
        return None if reason is None else ("", reason)

    return check


def one_of(choices: Iterable[str]) -> Check:
    known = tuple(choices)

    def check(value: Any) -> Problem | None:
        if isinstance(value, str) and value in known:
            return None
        return "", f"must be one of {', '.join(known)}, not {excerpt(value)}"

    return check


def list_of(item: Check, *, most: int) -> Check:
    def check(value: Any) -> Problem | None:
        if not isinstance(value, list) or not 1 <= len(value) <= most:
            return "", f"must be a list of 1 to {most} items, not {excerpt(value)}"
        for index, element in enumerate(value):
            problem = item(element)
            if problem is not None:
                return f"[{index}]{problem[0]}", problem[1]
        return None

    return check


def mapping_of(fields: Mapping[str, Check]) -> Check:
    """A mapping of at least one of ``fields``, and nothing else."""

    def check(value: Any) -> Problem | None:
        if not isinstance(value, dict) or not value:
            return "", f"must be a mapping of one or more of {', '.join(fields)}, not {excerpt(value)}"
        for key, element in value.items():
            if key not in fields:
                return "", f"may only set {', '.join(fields)}, not {excerpt(key)}"
            problem = fields[key](element)
            if problem is not None:
                return f".{key}{problem[0]}", problem[1]
        return None

    return check


def check_entry(entry: Any, fields: Mapping[str, Field]) -> Problem | None:
    """The first problem of one entry of a file (``where`` is the field's name), or None."""
    if not isinstance(entry, dict):
        return "", f"must be a mapping of {', '.join(fields)}, not {excerpt(entry)}"
    for name, field in fields.items():
        if name not in entry:
            if field.required:
                return name, "is missing"
            continue
        problem = field.check(entry[name])
        if problem is not None:
            return name + problem[0], problem[1]
    unknown = next((key for key in entry if key not in fields), None)
    if unknown is not None:
        return "", f"has the field {excerpt(unknown)}; the fields are {', '.join(fields)}"
    return None


def _json_value(value: Any) -> Problem | None:
    """Why ``value`` cannot be sent as JSON (by every client, exactly), or None."""
    if isinstance(value, str):
        reason = _text(value, MAX_TEXT)
    elif isinstance(value, bool) or value is None:
        reason = None
    elif _is_number(value):
        reason = _number(value)
    elif isinstance(value, list):
        for index, element in enumerate(value):
            problem = _json_value(element)
            if problem is not None:
                return f"[{index}]{problem[0]}", problem[1]
        reason = None
    elif isinstance(value, dict):
        for key, element in value.items():
            if not isinstance(key, str):
                return "", f"has the key {excerpt(key)}, not text"
            problem = _json_value(element)
            if problem is not None:
                return f".{clip(key, 40)}{problem[0]}", problem[1]
        reason = None
    else:
        reason = f"must be text, a number, true, false or null, not {excerpt(value)}"
    return None if reason is None else ("", reason)


def organization(spec: ApiSpec) -> Check:
    """The organization as ``POST /billing`` answers it: the fields of ``BillingResponse``, each valid."""
    schema = spec.schema("BillingResponse")
    known = tuple(schema["properties"])
    is_valid = compile_schema(schema)  # the fast verdict; jsonschema then says where and why
    validator = spec.validator("BillingResponse")

    def check(value: Any) -> Problem | None:
        if not isinstance(value, dict):
            return "", f"must be a mapping of the organization's fields, not {excerpt(value)}"
        for key, element in value.items():
            if key not in known:
                return "", f"has the field {excerpt(key)}, which openapi.yaml does not give an organization"
            problem = _json_value(element)
            if problem is not None:
                return f".{key}{problem[0]}", problem[1]
        if is_valid(value) is None:
            return None
        error = min(validator.iter_errors(value), key=lambda error: [str(part) for part in error.path], default=None)
        if error is None:
            return None
        return "".join(f".{part}" for part in error.path), clip(error.message, 160)

    return check


PRICE_ID = r"[A-Za-z0-9_.:-]{1,200}"
PRICE_FIELDS: dict[str, Field] = {
    "id": Field(token(PRICE_ID, "a price id of letters, digits and _ . : -"), required=True),
    "tier": Field(one_of(TIER_CHANNELS), required=True),
    "name": Field(text(), required=True),
    "channels": Field(list_of(one_of(CHANNELS), most=len(CHANNELS))),
    "amount": Field(number(0, LARGEST, whole=True), required=True),
    "currency": Field(token(r"[A-Za-z]{3}", "a three-letter currency code such as usd"), required=True),
    "interval": Field(one_of(("day", "week", "month", "year"))),
    "caps": Field(mapping_of(dict.fromkeys(CAP_FIELDS, number(0, LARGEST))), required=True),
}
"""An entry of ``prices.yaml``: a price of the catalog (amounts in cents)."""

_CREDENTIAL = "printable ASCII without spaces"
_VISIBLE = "!-~"


def tenant_fields(spec: ApiSpec) -> dict[str, Field]:
    """An entry of ``organizations.yaml``: an organization and the credentials that reach it."""
    return {
        "label": Field(text()),
        "description": Field(text()),
        "apiKey": Field(credential(_VISIBLE, _CREDENTIAL), required=True),
        "clientId": Field(credential("!-9;-~", _CREDENTIAL + " or colons"), required=True),
        "clientSecret": Field(credential(_VISIBLE, _CREDENTIAL), required=True),
        "stripeFailure": Field(token(r"[a-z][a-z0-9_]{0,63}", "a Stripe error code such as card_declined")),
        "organization": Field(organization(spec), required=True),
    }
