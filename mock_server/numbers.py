"""The one parser for whole numbers that arrive as text: headers, queries, forms, settings.

``str.isdigit()`` accepts ``²`` and ``①`` and ``int()`` accepts ``٣``, ``+3``,
``3_000`` and spaces, and refuses more than 4,300 digits with an error of its own:
:func:`parse_int` takes ASCII digits only, and no more than the bound needs.
"""

from __future__ import annotations

__all__ = ["parse_int"]


def parse_int(text: str | None, *, maximum: int, minimum: int = 0) -> int | None:
    """``text`` as an integer in ``[minimum, maximum]`` (``minimum`` >= 0), or None for anything else."""
    if not text or len(text) > len(str(maximum)) or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None
