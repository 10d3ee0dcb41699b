"""Credentials: HTTP bearer (the secret API key) and HTTP basic (clientId:clientSecret).

Connexion's security middleware parses the header and calls these functions;
an unknown credential returns None, which Connexion answers with 401 (rendered
by :mod:`mock_server.errors`). Secrets are never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connexion.security import BasicSecurityHandler, BearerSecurityHandler

from .store import OrganizationStore

__all__ = ["credential_checks", "security_map"]


def credential_checks(store: OrganizationStore) -> dict[str, Callable[..., dict[str, Any] | None]]:
    """HTTP scheme -> the function that turns its credentials into token info (None: unknown)."""

    def bearer_info(token: str) -> dict[str, Any] | None:
        organization_id = store.by_api_key(token)
        return {"sub": organization_id} if organization_id else None

    def basic_info(username: str, password: str) -> dict[str, Any] | None:
        organization_id = store.by_basic(username, password)
        return {"sub": organization_id} if organization_id else None

    return {"bearer": bearer_info, "basic": basic_info}


def security_map(store: OrganizationStore) -> dict[str, type]:
    """Connexion security handlers bound to ``store``: pass as ``security_map``."""
    checks = credential_checks(store)

    def bound(base: type, function: Callable[..., Any]) -> type:
        return type(base.__name__, (base,), {"_resolve_func": lambda self, scheme: function})

    return {
        "bearer": bound(BearerSecurityHandler, checks["bearer"]),
        "basic": bound(BasicSecurityHandler, checks["basic"]),
    }
