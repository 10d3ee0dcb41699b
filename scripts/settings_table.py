"""The options table of docs/guide.md, made from the settings table (mock_server/settings.py).

``python scripts/settings_table.py`` rewrites the table between its two markers in
docs/guide.md; ``--check`` changes nothing and exits 1 when the guide's table is not
the one the settings make (tests/test_docs.py runs it).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from mock_server.settings import SETTINGS, Setting

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide.md"
BEGIN = "<!-- settings table: made from mock_server/settings.py by scripts/settings_table.py; edit those, not this -->"
END = "<!-- end of the settings table -->"
_CODE = re.compile(r"[_/*\[]|^--")
"""A word that reads as code (a flag, a path, a URL, an error code, ``*``): quoted, so Markdown leaves it be."""
_COMMAND = re.compile(r"(mock-server --docs [a-z-]+)")


def _code(word: str) -> str:
    """``word`` in backticks if it reads as code, its brackets and punctuation left outside."""
    head = word[: len(word) - len(word.lstrip("("))]
    core = word[len(head) :]
    tail = core[len(core.rstrip(",;:)")) :]
    core = core[: len(core) - len(tail)]
    return f"{head}`{core}`{tail}" if core and _CODE.search(core) else word


def _words(text: str) -> str:
    """``text`` with its commands and code-like words in backticks, ``|`` escaped for a table cell."""
    parts = _COMMAND.split(text)  # odd parts: the commands
    out = [f"`{part}`" if index % 2 else " ".join(map(_code, part.split(" "))) for index, part in enumerate(parts)]
    return "".join(out).replace("|", "\\|")


def _row(setting: Setting) -> str:
    if setting.is_switch:
        flag = f"`{setting.flag}` (`--no-{setting.flag[2:]}`)"
    else:
        flag = f"`{setting.flag} {setting.metavar}`".replace("|", "\\|")
    literal = setting.shown_default == str(setting.default)  # else words: "none", "the request's own"
    default = f"`{setting.shown_default}`" if literal else setting.shown_default
    return f"| {flag} | `{setting.env}` | {default} | {_words(setting.help)} |"


def table() -> str:
    """The table, between its markers."""
    rows = [BEGIN, "| flag | environment | default | meaning |", "| --- | --- | --- | --- |"]
    rows += [_row(setting) for setting in SETTINGS]
    return "\n".join([*rows, END])


def _replaced(guide: str) -> str:
    start, end = guide.index(BEGIN), guide.index(END) + len(END)
    return guide[:start] + table() + guide[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/guide.md's table is out of date")
    check = parser.parse_args(argv).check
    guide = GUIDE.read_text(encoding="utf-8")
    if BEGIN not in guide or END not in guide:
        print(f"{GUIDE}: the settings table's markers are missing", file=sys.stderr)
        return 1
    wanted = _replaced(guide)
    if wanted == guide:
        return 0
    if check:
        print(f"{GUIDE}: the settings table is out of date: run python scripts/settings_table.py", file=sys.stderr)
        return 1
    GUIDE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
