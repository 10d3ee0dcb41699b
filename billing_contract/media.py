"""Media types as RFC 9110 reads them: the one parser of a ``Content-Type`` for the mock and the suite."""

from __future__ import annotations

__all__ = ["is_json", "media_type"]


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``type/subtype`` in lower case and the parameters (names in lower case, values unquoted)."""
    if not content_type:
        return "", {}
    kind, *parameters = content_type.split(";")
    found = {}
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        found[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), found


def is_json(kind: str) -> bool:
    """``application/json`` or a ``+json`` type (``kind`` as :func:`media_type` gives it)."""
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))
