"""What every operation does before its handler: latency and forced answers."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from connexion import context

from ..scenarios import parse_prefer
from ..services import Services
from ..state import RequestState, request_state

__all__ = ["current_state", "operation"]

Handler = Callable[..., Awaitable[tuple[Any, int]]]


def current_state() -> RequestState:
    """The per-request record the outer middleware keeps (trackingId, organization...)."""
    return request_state(context.scope)


def _header(name: bytes) -> str | None:
    for key, value in context.scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def operation(operation_id: str) -> Callable[[Handler], Handler]:
    """Apply ``--latency``, ``Prefer`` and sticky scenarios before the handler runs."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(services: Services, *args: Any, user: str, **kwargs: Any) -> tuple[Any, int]:
            state = current_state()
            state.organization_id = user
            preference = parse_prefer(_header(b"prefer"))
            sticky = services.store.sticky.get(user)
            if sticky is not None and preference.code is None and preference.example is None:
                preference = preference.__class__(code=sticky, delay=preference.delay)
            delay = services.settings.latency + preference.delay
            if delay:
                await asyncio.sleep(delay / 1000)
            forced = services.scenarios.forced(operation_id, preference, state.tracking_id)
            if forced is not None:
                return forced
            return await handler(services, *args, user=user, **kwargs)

        return wrapper

    return decorate
