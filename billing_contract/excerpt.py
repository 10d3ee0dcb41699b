"""Short quotes of untrusted input for error messages: never the whole of a large or deep value.

:func:`excerpt` quotes any value in a few dozen characters without turning the whole of it
into text first (``str()`` of a 60 KiB string copies it all; of a list nested 1,000 deep it
raises ``RecursionError``). :func:`clip` cuts a message that may already hold input;
:func:`redact` takes a caller's secrets out of it.
"""

from __future__ import annotations

__all__ = ["clip", "excerpt", "redact"]

_BITS_PER_DIGIT = 3.3219280948873626  # log2(10)


def clip(text: str, limit: int = 200) -> str:
    """``text``, cut to ``limit`` characters (an ellipsis says it was)."""
    return text if len(text) <= limit else text[:limit] + "..."


def excerpt(value: object, limit: int = 40) -> str:
    """``value`` quoted in at most about ``limit`` characters (plus its length when it was cut)."""
    if isinstance(value, str | bytes):
        quoted = repr(value[:limit])
        return quoted if len(value) <= limit else f"{quoted}... ({len(value):,} characters in all)"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > limit * _BITS_PER_DIGIT:
            return f"an integer of about {int(value.bit_length() / _BITS_PER_DIGIT):,} digits"
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return f"a list of {len(value):,} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, dict):
        return f"a mapping of {len(value):,} key{'' if len(value) == 1 else 's'}"
    return f"a value of type {type(value).__name__}"


def redact(text: str, hidden: tuple[str, ...]) -> str:
    """``text`` with each of ``hidden`` (secrets, longest first) replaced by ``[redacted]``."""
    for secret in sorted(hidden, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text
