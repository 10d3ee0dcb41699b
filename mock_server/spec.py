"""The one schema, ``openapi.yaml``, loaded once and read by name.

Nothing here restates the document: response shapes, examples and documented
statuses are all looked up in it.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator

from billing_contract.dates import is_calendar_date

__all__ = ["SPEC_PATH", "ApiSpec", "is_date", "load_spec", "register_date_format"]

# The package carries the document (mock_server/data/openapi.yaml: in a checkout, a link to the top-level file).
SPEC_PATH = Path(str(resources.files("mock_server") / "data" / "openapi.yaml"))


def _is_date(value: object) -> bool:
    if isinstance(value, str) and not is_calendar_date(value):
        raise ValueError(f"{value[:40]!r} is not a YYYY-MM-DD date")
    return True


def is_date(value: object) -> bool:
    """The ``date`` format as a predicate (for validators that want True or False)."""
    try:
        return _is_date(value)
    except ValueError:
        return False


def register_date_format() -> None:
    """Teach the Draft 4 format checker (used by Connexion) the ``date`` format."""
    checker = Draft4Validator.FORMAT_CHECKER
    if "date" not in checker.checkers:
        checker.checks("date", raises=ValueError)(_is_date)


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = root
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return _resolve(target, root)
        return {key: _resolve(value, root) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, root) for item in node]
    return node


class ApiSpec:
    """The document, raw (for Connexion) and with local ``$ref`` resolved (for lookups)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.resolved: dict[str, Any] = _resolve(raw, raw)
        self.operations: dict[str, dict[str, Any]] = {}
        for path, item in self.resolved["paths"].items():
            for method, operation in item.items():
                operation = dict(operation, path=path, method=method.upper())
                self.operations[operation["operationId"]] = operation

    def copy_raw(self) -> dict[str, Any]:
        return copy.deepcopy(self.raw)

    def schema(self, name: str) -> dict[str, Any]:
        schema: dict[str, Any] = self.resolved["components"]["schemas"][name]
        return schema

    def documented_statuses(self, operation_id: str) -> list[int]:
        return sorted(int(code) for code in self.operations[operation_id]["responses"])

    def examples(self, operation_id: str) -> dict[str, tuple[int, Any]]:
        """Every named response example of an operation: name -> (status, body)."""
        found: dict[str, tuple[int, Any]] = {}
        for code, response in self.operations[operation_id]["responses"].items():
            media = response.get("content", {}).get("application/json", {})
            for name, example in media.get("examples", {}).items():
                found[name] = (int(code), example["value"])
        return found

    def response_fields(self, operation_id: str, status: int = 200) -> tuple[str, ...]:
        response = self.operations[operation_id]["responses"][str(status)]
        schema = response["content"]["application/json"]["schema"]
        return tuple(schema["properties"])

    def validator(self, schema_name: str) -> Draft4Validator:
        register_date_format()
        return Draft4Validator(self.schema(schema_name), format_checker=Draft4Validator.FORMAT_CHECKER)


@functools.lru_cache(maxsize=4)
def _load(path: Path, mtime: float) -> ApiSpec:
    with path.open(encoding="utf-8") as handle:
        return ApiSpec(yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))  # noqa: S506


def load_spec(path: Path = SPEC_PATH) -> ApiSpec:
    return _load(path, path.stat().st_mtime)
