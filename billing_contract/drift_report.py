"""A drift report (:meth:`billing_contract.drift.Drift.report`) as a file, JSON or Markdown, and as a summary.

:func:`report_format` picks the format by the file's extension (``.json``, ``.md``) and
refuses any other; :func:`write_report` replaces the file whole (a temporary file renamed);
:func:`summary` is the few lines a terminal shows; :func:`fact_text` says one fact in words.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

__all__ = ["FORMATS", "fact_text", "markdown", "report_format", "summary", "write_report"]

FORMATS = {".json": "json", ".md": "markdown"}


def report_format(path: Path) -> str:
    """``json`` or ``markdown`` by ``path``'s extension; ValueError for another."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ValueError(f"{str(path)[:200]!r} must end in .json or .md (the report's format)")
    return found


def fact_text(fact: dict[str, Any]) -> str:
    """One undocumented fact in words: ``field $.region (string) in 200``."""
    kind, status = fact["kind"], fact["status"]
    if kind == "field":
        return f"field {fact['path']} ({', '.join(fact['types'])}) in {status}, e.g. {fact['example']}"
    if kind == "enum":
        return f"enum value {fact['value']} of {fact['path']} in {status}"
    if kind == "header":
        return f"header {fact['name']} in {status}"
    if kind == "mediaType":
        return f"media type {fact['mediaType']} for {status}"
    return f"status {status}" + (f" ({fact['mediaType']})" if fact.get("mediaType") else "")


def summary(report: dict[str, Any], limit: int = 10) -> str:
    """What was seen in a few lines: the totals, then the worst groups."""
    lines = [
        f"drift: {_count(report['exchanges'], 'answer')}; {_count(report['violations'], 'violation')} of the contract; "
        f"{report['undocumented']} undocumented facts"
        + (f"; {report['omitted']} more not kept" if report["omitted"] else "")
    ]
    for operation in report["operations"]:
        for group in operation["violations"]:
            lines.append(f"  {operation['operation']}: {group['check']} x{group['count']} ({group['message'][:120]})")
        for fact in operation["undocumented"]:
            lines.append(f"  {operation['operation']}: undocumented {fact_text(fact)} x{fact['count']}")
    if len(lines) > limit + 1:
        lines[limit + 1 :] = [f"  ... {len(lines) - limit - 1} more in the report"]
    return "\n".join(lines)


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'' if number == 1 else 's'}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Drift report",
        "",
        f"From {report['since']} to {report['until']}: {_count(report['exchanges'], 'answer')}, "
        f"{report['violations']} of them violating the contract, {report['undocumented']} undocumented facts"
        + (f", {report['omitted']} more groups not kept." if report["omitted"] else "."),
    ]
    for operation in report["operations"]:
        lines += ["", f"## {operation['operation']}", "", f"{_count(operation['exchanges'], 'answer')}."]
        if operation["violations"]:
            lines += ["", "| check | count | first seen | last seen | message |", "| --- | ---: | --- | --- | --- |"]
            for group in operation["violations"]:
                row = (group["check"], group["count"], group["firstSeen"], group["lastSeen"], group["message"])
                lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
            for group in operation["violations"]:
                example = group["example"]
                lines += ["", f"Example of `{group['check']}`:", "", "```json", _json(example), "```"]
        if operation["undocumented"]:
            lines += ["", "| undocumented | count | first seen | last seen |", "| --- | ---: | --- | --- |"]
            for fact in operation["undocumented"]:
                cells = (fact_text(fact), fact["count"], fact["firstSeen"], fact["lastSeen"])
                lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def write_report(path: Path, report: dict[str, Any]) -> None:
    """``report`` into ``path`` in the format of its extension, replacing the file whole."""
    text = markdown(report) if report_format(path) == "markdown" else _json(report) + "\n"
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=".drift-", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
