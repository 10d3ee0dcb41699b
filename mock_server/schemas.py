"""The document's JSON schemas, compiled once: a fast yes/no and, on no, the reason.

:func:`compile_schema` turns an OpenAPI 3.0 schema into one function that answers
``None`` for a valid instance and the first reason it is not (as jsonschema words
it) otherwise. Schemas that only use :data:`SCHEMA_KEYWORDS` are compiled with
fastjsonschema, which reads them exactly as jsonschema's Draft 4 does; any other
schema is checked by jsonschema alone. The ``date`` format is the document's
calendar date (:func:`mock_server.spec.is_date`).

The reason is short whatever the instance: jsonschema words its errors with the ``repr``
of the value, so it is given a copy that stops below the deepest level the schema can
look at (:func:`_reach`; a body nested 1,000 deep would otherwise exhaust the stack), and
the message and its path are clipped.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import fastjsonschema
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from jsonschema import Draft4Validator, ValidationError

from billing_contract.excerpt import clip, excerpt

from .spec import is_date, register_date_format

__all__ = ["SCHEMA_KEYWORDS", "Check", "compile_schema"]

Check = Callable[[Any], "str | None"]
"""An instance -> None when it is valid, else the reason it is not."""

_DRAFT4 = "http://json-schema.org/draft-04/schema#"
_FORMATS: dict[str, Callable[[Any], bool]] = {"date": is_date}
_DEFINITIONS = ("components", "definitions")  # what Connexion adds for references; none are left here
_ANNOTATIONS = frozenset({"description", "title", "example", "nullable"})
SCHEMA_KEYWORDS = frozenset(
    {"type", "properties", "required", "enum", "format", "items", "additionalProperties"}
    | {"minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"}
    | _ANNOTATIONS
)
"""Keywords that fastjsonschema reads exactly as jsonschema's Draft 4 validator does."""


def _draft4(schema: Any) -> dict[str, Any] | None:
    """An OpenAPI 3.0 schema as plain Draft 4 (``nullable`` spelt out), or None if unsure."""
    if not isinstance(schema, dict) or not set(schema) <= SCHEMA_KEYWORDS:
        return None
    if "format" in schema and schema["format"] not in _FORMATS:
        return None
    result = {key: value for key, value in schema.items() if key not in _ANNOTATIONS}
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            converted = _draft4(schema[key])
            if converted is None:
                return None
            result[key] = converted
    if "properties" in schema:
        properties = {name: _draft4(sub) for name, sub in schema["properties"].items()}
        if any(sub is None for sub in properties.values()):
            return None
        result["properties"] = properties
    if schema.get("nullable"):  # OpenAPI's nullable: null passes `type` and `enum`
        if "type" in result:
            types = result["type"] if isinstance(result["type"], list) else [result["type"]]
            result["type"] = [*types, "null"]
        if "enum" in result and None not in result["enum"]:
            result["enum"] = [*result["enum"], None]
    return result


def _reach(schema: Any) -> int | None:
    """How many levels below an instance ``schema`` looks (0: the instance alone), or None if it could look
    at any depth (a reference, or a keyword that compares whole values: ``uniqueItems``, an ``enum`` of lists
    or mappings)."""
    if not isinstance(schema, dict):
        return 0
    if (
        "$ref" in schema
        or schema.get("uniqueItems")
        or any(isinstance(v, list | dict) for v in schema.get("enum") or ())
    ):
        return None
    below = [*(schema.get("properties") or {}).values(), *(schema.get("patternProperties") or {}).values()]
    for key in ("items", "additionalProperties"):
        value = schema.get(key)
        below += value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    beside = [*schema.get("allOf", ()), *schema.get("anyOf", ()), *schema.get("oneOf", ())]
    beside += [*(schema.get("dependencies") or {}).values(), *([schema["not"]] if "not" in schema else [])]
    levels = [0]
    for sub, step in [(sub, 1) for sub in below] + [(sub, 0) for sub in beside]:
        reach = _reach(sub)
        if reach is None:
            return None
        levels.append(reach + step)
    return max(levels)


class _CutList(list[Any]):
    """A list emptied below a schema's reach; its ``repr`` says something was left out."""

    def __repr__(self) -> str:
        return "[...]"


class _CutDict(dict[str, Any]):
    """A mapping emptied below a schema's reach."""

    def __repr__(self) -> str:
        return "{...}"


def _cut(instance: Any, levels: int) -> Any:
    """``instance`` with every list and mapping more than ``levels`` below it emptied: what a schema of that
    reach reads of it (the types, lengths and keys down to that level, the values above it) is unchanged."""
    if isinstance(instance, dict):
        return _CutDict() if levels < 0 else {key: _cut(value, levels - 1) for key, value in instance.items()}
    if isinstance(instance, list):
        return _CutList() if levels < 0 else [_cut(value, levels - 1) for value in instance]
    return instance


def _reason(error: ValidationError) -> str:
    """jsonschema's words, with the value it quotes in full (``repr``) quoted in a short excerpt, and clipped."""
    message, quoted = error.message, repr(error.instance)
    if message.startswith(quoted):
        message = excerpt(error.instance) + message[len(quoted) :]
    path = clip(".".join(str(part) for part in error.absolute_path), 80)
    message = clip(message, 160)
    return f"{message} - '{path}'" if path else message


def compile_schema(schema: dict[str, Any], *, request: bool = False) -> Check:
    """The check for ``schema`` (OpenAPI 3.0, local references resolved), of a request body or an answer."""
    register_date_format()
    validator = Draft4RequestValidator if request else Draft4ResponseValidator
    slow = validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    reach = _reach(schema)

    def explain(instance: Any) -> str | None:
        error = next(iter(slow.iter_errors(instance if reach is None else _cut(instance, reach))), None)
        return None if error is None else _reason(error)

    own = {key: value for key, value in schema.items() if key not in _DEFINITIONS}
    converted = None if "$ref" in json.dumps(own) else _draft4(own)
    if converted is None:
        return explain
    is_valid = _compiled(json.dumps(converted, sort_keys=True))

    def check(instance: Any) -> str | None:
        return None if is_valid(instance) else (explain(instance) or "does not match the schema")

    return check


@functools.lru_cache(maxsize=64)
def _compiled(schema: str) -> Callable[[Any], bool]:
    """One compiled validator per distinct schema (compiling takes milliseconds)."""
    validate = fastjsonschema.compile({"$schema": _DRAFT4, **json.loads(schema)}, formats=_FORMATS)

    def is_valid(instance: Any) -> bool:
        try:
            validate(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return is_valid
