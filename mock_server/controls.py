"""The /__mock__/ routes that control time and sandboxes: ``/__mock__/clock`` and ``/__mock__/sandboxes``.

The clock of the request's sandbox (``X-Mock-Sandbox``, else the default) moves
forward only: ``{"advance": "P30D"}`` (an ISO 8601 duration), ``{"to":
"2027-01-01T00:00:00Z"}``, or ``{"to": "next-anniversary"}`` (the earliest
``anniversaryDate`` of the sandbox's organizations: a new billing cycle starts).
Forms of the dashboard send the same fields and go back to it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from . import browser
from .clock import LATEST, format_timestamp, parse_duration, parse_instant
from .errors import ValidationFailed
from .pages import browser_errors, read_fields
from .services import Services
from .store import Sandbox

__all__ = ["clock", "create_sandbox", "drop_sandbox", "list_sandboxes", "move_clock"]

NEXT_ANNIVERSARY = "next-anniversary"
_FIX = 'Send {"advance": "P30D"} (an ISO 8601 duration), {"to": "2027-01-01T00:00:00Z"} or {"to": "next-anniversary"}.'


def _clock(sandbox: Sandbox, services: Services) -> dict[str, Any]:
    base = services.store.clock
    return {
        "sandbox": sandbox.name,
        "now": format_timestamp(sandbox.now),
        "frozen": base.frozen,
        "start": format_timestamp(base.start) if base.start else None,
    }


async def clock(request: Request, services: Services) -> Response:
    """GET: the sandbox's time."""
    return JSONResponse(_clock(await services.sandboxes.of_request(request), services))


async def _next_anniversary(sandbox: Sandbox, services: Services) -> dt.datetime:
    days = [
        (await sandbox.get(tenant.organization_id)).organization.get("anniversaryDate")
        for tenant in list(services.store)[: browser.SHOWN_ORGANIZATIONS]
    ]
    found = min((day for day in days if isinstance(day, str)), default=None)
    if found is None:
        raise ValidationFailed("No organization has an anniversaryDate to move to.", fix=_FIX)
    return dt.datetime.combine(dt.date.fromisoformat(found), dt.time(), dt.UTC)


async def _target(fields: dict[str, Any], sandbox: Sandbox, services: Services) -> dt.datetime:
    """Where ``fields`` ask the clock to go."""
    advance, to = fields.get("advance"), fields.get("to")
    if (advance is None) == (to is None):
        raise ValidationFailed("Give the clock exactly one of advance or to.", fix=_FIX)
    if advance is not None:
        duration = parse_duration(advance) if isinstance(advance, str) else None
        if duration is None:
            raise ValidationFailed(
                f"advance must be an ISO 8601 duration such as P30D, got {str(advance)[:40]!r}.", fix=_FIX
            )
        try:
            return duration.after(sandbox.now)
        except (OverflowError, ValueError):
            raise ValidationFailed(f"advance {advance[:40]!r} goes past the year 9998.", fix=_FIX) from None
    if to == NEXT_ANNIVERSARY:
        return await _next_anniversary(sandbox, services)
    moment = parse_instant(to) if isinstance(to, str) else None
    if moment is None:
        raise ValidationFailed(
            f"to must be a date-time with its UTC offset (2027-01-01T00:00:00Z) or {NEXT_ANNIVERSARY}, "
            f"got {str(to)[:40]!r}.",
            fix=_FIX,
        )
    return moment


@browser_errors(back_url=browser.DASHBOARD)
async def move_clock(request: Request, services: Services) -> Response:
    """POST: move the sandbox's clock forward; never back (400)."""
    fields = await read_fields(request)
    sandbox = await services.sandboxes.of_request(request)
    target = await _target(fields, sandbox, services)
    if target < sandbox.now:
        raise ValidationFailed(
            f"The clock only moves forward: it is {format_timestamp(sandbox.now)}, "
            f"{format_timestamp(target)} is before.",
            fix="Move it to a later time, or reset the sandbox (POST /__mock__/reset) to start over.",
        )
    if target > LATEST:
        raise ValidationFailed(f"The clock stops at {format_timestamp(LATEST)}.", fix=_FIX)
    await sandbox.advance(target - sandbox.now)
    if browser.is_form(request):
        return RedirectResponse(browser.dashboard_url(sandbox.name) + "#clock", status_code=303)
    return JSONResponse(_clock(sandbox, services))


# sandboxes ------------------------------------------------------------------


async def list_sandboxes(request: Request, services: Services) -> Response:
    sandboxes = services.sandboxes
    found = [sandboxes.describe(info) for info in await sandboxes.all()]
    return JSONResponse(
        {
            "sandboxes": found,
            "count": len(found),
            "max": sandboxes.most,
            "ttlSeconds": sandboxes.ttl,
        }
    )


async def create_sandbox(request: Request, services: Services) -> Response:
    """A new sandbox with credentials of its own: 201 with its name, when it expires and every key."""
    fields = await read_fields(request, empty_ok=True)
    name = fields.get("name")
    if name is not None and not isinstance(name, str):
        raise ValidationFailed("name must be a string of 1 to 64 of A-Z a-z 0-9 . _ -.")
    info = await services.sandboxes.create(name)
    return JSONResponse(services.sandboxes.describe(info, credentials=True), status_code=201)


async def drop_sandbox(request: Request, services: Services) -> Response:
    """Forget the sandbox and everything in it: its credentials answer 401 from now on."""
    await services.sandboxes.drop(request.path_params["name"])
    return Response(status_code=204)
