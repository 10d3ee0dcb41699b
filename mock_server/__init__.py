"""org-billing-mock: a stateful mock of the organization & billing API."""

import warnings

# Connexion imports Starlette's test client at import time; Starlette then warns
# that its httpx backend is deprecated. It concerns tests, not the server.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")

from .app import create_app  # noqa: E402
from .settings import ConfigError, Settings  # noqa: E402

__all__ = ["ConfigError", "Settings", "create_app"]
__version__ = "0.1.0"
