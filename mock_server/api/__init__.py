"""Thin handlers, routed by operationId. One module per resource."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from connexion.exceptions import ResolverError
from connexion.resolver import Resolver

from ..services import Services
from . import billing, organization

__all__ = ["OPERATIONS", "make_resolver"]

OPERATIONS: dict[str, Callable[..., Any]] = {
    "accountGetOrganization": organization.get_organization,
    "accountPrepareCheckoutSession": billing.prepare_checkout_session,
}


def make_resolver(services: Services) -> Resolver:
    """Resolve each operationId to its handler, bound to ``services``.

    An operation without a handler stops start-up.
    """

    def resolve(operation_id: str) -> Callable[..., Any]:
        try:
            handler = OPERATIONS[operation_id]
        except KeyError:
            raise ResolverError(f"openapi.yaml names operationId {operation_id!r}, which has no handler") from None
        return functools.partial(handler, services)

    return Resolver(function_resolver=resolve)
