"""What the mock and the contract suite both need, below both: it imports neither.

``mock_server`` and ``contract_tests`` take what they share from here: the
readers of untrusted input both use (:mod:`.media`, :mod:`.dates`,
:mod:`.throttling`), the document's contract as any deployment must keep it
(:mod:`.document`), and the oracle that judges one answer (:mod:`.checks`,
:mod:`.verdict`). The last two need the ``contract`` extra (Schemathesis): only
the suite and ``mock-server --proxy`` import them, so ``mock-server`` runs
without it. ``tests/test_layers.py`` keeps the direction.
"""

from __future__ import annotations

__all__ = ["EXTRA_MODULES", "INSTALL_EXTRA", "__version__"]

EXTRA_MODULES = frozenset(
    {"pytest", "_pytest", "schemathesis", "hypothesis", "openapi_core", "requests", "httpx", "xdist"}
)
"""Top-level modules of the ``contract`` extra's packages that the suite and the oracle import."""
INSTALL_EXTRA = "pip install 'org-billing-mock[contract]'"

__version__ = "0.1.0"
"""The version of org-billing-mock (pyproject.toml's), which both commands say with --version."""
