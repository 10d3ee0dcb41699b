"""The documentation pages the package carries, so that a message can name one that exists.

``docs/*.md`` ship inside the package (``mock_server/data/docs``: in a checkout, a
link to the top-level folder), read with ``importlib.resources``. A message names
a page as ``mock-server --docs state``, which prints the page ``state.md`` wherever
the mock is installed, checkout or not.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

__all__ = ["DOCS", "pages", "read"]

DOCS = Path(str(resources.files("mock_server") / "data" / "docs"))
_PAGE = re.compile(r"[a-z][a-z-]{0,39}")


def pages() -> list[str]:
    """The names of the pages carried, e.g. ``state`` for ``docs/state.md``."""
    return sorted(path.stem for path in DOCS.glob("*.md"))


def read(page: str) -> str | None:
    """The text of ``page``, or None when the package carries no such page."""
    if not _PAGE.fullmatch(page) or page not in pages():
        return None
    return (DOCS / f"{page}.md").read_text(encoding="utf-8")
