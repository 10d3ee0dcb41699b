"""org-billing-mock: a stateful mock of the organization & billing API."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

# Connexion imports Starlette's test client at import time; Starlette then warns
# that its httpx backend is deprecated. It concerns tests, not the server.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")

from billing_contract import __version__  # noqa: E402

from .settings import ConfigError, Settings  # noqa: E402

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["ConfigError", "Settings", "__version__", "create_app"]


def __getattr__(name: str) -> Any:
    """``create_app`` is imported when first asked for: importing the package (as pytest does
    for the ``billing_mock`` plugin in every session) does not load Connexion."""
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
