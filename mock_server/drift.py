"""``/__mock__/drift`` and ``--drift-report FILE``: what the deployment behind ``--proxy`` did that the document
does not say (:mod:`billing_contract.drift`).

``GET /__mock__/drift`` answers the report as JSON, ``DELETE`` clears it and ``POST
/__mock__/drift/save`` writes ``--drift-report FILE`` now; without ``--proxy`` each answers
``409 proxy_mode_only``, and with ``--workers`` above 1 (each process would see a part of the
traffic) ``409 drift_needs_one_process``. At shutdown :func:`save_at_shutdown` writes the file, and
``--fail-on-drift`` makes the process exit 1 when an answer violated the contract
(:func:`verdict_at_exit`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from billing_contract.drift import Drift
from billing_contract.drift_report import summary, write_report

from . import browser
from .asgi import DASHBOARD
from .errors import DriftNeedsOneProcess, NoDriftReport, ProxyModeOnly
from .logs import log_failure
from .services import Services

__all__ = ["clear_drift", "drift", "save_at_shutdown", "save_drift", "verdict_at_exit"]

logger = logging.getLogger("mock_server")


def _drift(services: Services) -> Drift:
    if services.drift is None and services.settings.proxy:
        raise DriftNeedsOneProcess()
    if services.drift is None:
        raise ProxyModeOnly(
            "The drift report describes a deployment's answers; this mock answers itself (start it with --proxy URL)."
        )
    return services.drift


async def drift(request: Request, services: Services) -> Response:
    """GET: the report so far."""
    return JSONResponse(_drift(services).report())


async def clear_drift(request: Request, services: Services) -> Response:
    """DELETE: every observation forgotten."""
    _drift(services).clear()
    return Response(status_code=204)


async def save_drift(request: Request, services: Services) -> Response:
    """POST: ``--drift-report FILE`` written now."""
    report = _drift(services).report()
    path = services.settings.drift_report
    if path is None:
        raise NoDriftReport()
    await asyncio.to_thread(write_report, path, report)
    if browser.is_form(request):  # the dashboard's button
        return RedirectResponse(DASHBOARD + "#drift", status_code=303)
    return JSONResponse({"file": str(path), "exchanges": report["exchanges"], "violations": report["violations"]})


async def save_at_shutdown(services: Services) -> None:
    """``--drift-report FILE`` written as the server stops; a failure is logged, the stop goes on."""
    path = services.settings.drift_report
    if services.drift is None or path is None:
        return
    try:
        await asyncio.to_thread(write_report, path, services.drift.report())
    except OSError as error:
        log_failure(logger, "could not write the drift report to %s", str(path)[:200], error=error)


def verdict_at_exit(services: Services, say: Any = print) -> int:
    """``--fail-on-drift``: the summary said, and 1 when an answer violated the contract; else 0."""
    found = services.drift
    if found is None or not services.settings.fail_on_drift:
        return 0
    say(summary(found.report()), flush=True)
    return 1 if found.violated else 0
