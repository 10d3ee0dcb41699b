"""The property-based contract suite, generated from openapi.yaml.

:func:`main` is the ``contract-tests`` script. The suite needs the ``contract``
extra (pytest, Schemathesis, Hypothesis...); without it the script says which
extra to install instead of failing on an import.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from billing_contract import EXTRA_MODULES, INSTALL_EXTRA

__all__ = ["EXTRA_MODULES", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """``contract-tests``: the suite's exit code, or 2 with one line when the extra is missing."""
    try:
        from .cli import main as run
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in EXTRA_MODULES:
            raise
        print(
            f"contract-tests: the contract suite needs the contract extra ({missing} is missing): {INSTALL_EXTRA}",
            file=sys.stderr,
        )
        return 2
    return run(argv)
