"""What the mock knows about the request in flight, typed and carried in the ASGI scope.

The outermost layer (:class:`mock_server.asgi.MockServer`) creates one
:class:`RequestState` per HTTP request and keeps it in ``scope["state"]``, the
per-request state Starlette exposes as ``request.state``. Every later layer,
handler and page reads it with :func:`request_state`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.types import Scope

__all__ = ["RequestState", "attach", "request_state"]

_KEY = "mock_server"


@dataclasses.dataclass(slots=True)
class RequestState:
    tracking_id: str
    """The request's trackingId: the X-Tracking-Id header, the error body, the log line."""
    organization_id: str | None = None
    """The organization the request acted for, once known (for the request log)."""
    status: int = 500
    """The status the answer started with (500 until one is sent)."""
    body: Any = None
    """The request body, parsed and validated (None: the operation takes none)."""
    violations: list[dict[str, str]] | None = None
    """``--proxy``: the contract checks the deployment's answer broke, as ``{"check", "message"}``; empty when it
    kept the contract, None when the mock answered the request itself (nothing was forwarded and judged)."""


def attach(scope: Scope, state: RequestState) -> RequestState:
    """Keep ``state`` in the scope for the layers after this one."""
    scope.setdefault("state", {})[_KEY] = state
    return state


def request_state(scope: Scope) -> RequestState:
    """The :class:`RequestState` of this request (``KeyError`` outside the mock's own app)."""
    state: RequestState = scope["state"][_KEY]
    return state
