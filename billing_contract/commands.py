"""The argument parser of both commands, ``mock-server`` and ``contract-tests``: one style of error.

argparse prints its whole usage block before some errors and not before others,
and takes ``--base-ur`` for ``--base-url``. :class:`CommandParser` refuses
abbreviations and says every error on one line, ``PROG: error: ...``, then exits 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

__all__ = ["CommandParser"]

_SHOWN = 80
"""Characters of an unknown argument quoted in the error."""


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` without abbreviations whose errors are one line on stderr and exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            first = unknown[0][:_SHOWN]
            kind = "flag" if first.startswith("-") else "argument"
            self.error(f"unknown {kind} {first!r} (flags are spelled in full; {self.prog} --help lists them)")
        return parsed

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")
