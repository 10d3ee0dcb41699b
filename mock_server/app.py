"""The app factory: wiring only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from connexion import AsyncApp
from connexion.exceptions import NonConformingResponse, ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.options import SwaggerUIOptions
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp

from billing_contract.drift import Drift

from .admin import AdminApp
from .api import make_resolver
from .asgi import Cors, MockServer, dispatch
from .clock import Clock
from .errors import ApiError, render, to_api_error
from .fixtures import load_prices, load_tenants
from .generate import generate_tenants
from .ids import Ids, new_tracking_id
from .pipeline import middlewares
from .sandboxes import Sandboxes
from .scenarios import Scenarios
from .services import Recorder, Services
from .settings import Settings
from .spec import load_spec, register_date_format
from .state import request_state
from .store import OrganizationStore
from .stores import open_state
from .stripe_stub import FakeStripe, StripeClient
from .upstream import Upstream, load_judge, open_recording

__all__ = ["create_app", "LOCAL_ORIGINS"]

LOCAL_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?"
_HANDLED_STATUSES = (400, 401, 403, 404, 405, 406, 411, 413, 415, 422, 429, 500, 501, 502, 503)
_HANDLED_CLASSES: tuple[type[BaseException], ...] = (
    ApiError,
    UnicodeDecodeError,
    NonConformingResponse,
    ProblemException,
    HTTPException,
    Exception,
)


async def _render_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Connexion's and Starlette's errors, in the documented error body."""
    try:
        tracking_id = request_state(request.scope).tracking_id
    except KeyError:
        tracking_id = new_tracking_id()
    error = to_api_error(exc, request.headers.get("authorization"), tracking_id)
    headers: dict[str, Any] = dict(error.headers())
    if error.status_code == 405 and isinstance(exc, HTTPException) and exc.headers:
        headers.update(exc.headers)
    return ConnexionResponse(
        status_code=error.status_code,
        body=render(error, tracking_id),
        content_type="application/json",
        headers=headers,
    )


def create_app(
    settings: Settings | None = None,
    store: OrganizationStore | None = None,
    stripe: StripeClient | None = None,
    *,
    clock: Clock | None = None,
    recording: Recorder | None = None,
) -> MockServer:
    """Build the mock: Connexion serving ``openapi.yaml``, the store and the fake Stripe.

    Every API request travels the middleware list of :mod:`mock_server.pipeline`.
    Pass ``store`` or ``stripe`` to replace the ones built from the fixtures, ``recording``
    the writer of ``--record DIR``.
    Raises :class:`~mock_server.settings.ConfigError` on a bad fixture.
    """
    settings = settings or Settings()
    spec = load_spec()
    register_date_format()
    clock = clock or Clock(settings.clock_start)
    start = clock.start or dt.datetime.now(dt.UTC).replace(microsecond=0)
    if store is None:
        state = open_state(settings.state, settings.named("state"), timeout=settings.state_timeout)
        try:
            start = clock.start or state.clock_start(start)
            prices = load_prices(settings.fixtures, settings.max_fixture_bytes)
            tenants = load_tenants(settings.fixtures, spec, start, settings.max_fixture_bytes)
            tenants += generate_tenants(settings.generate, settings.seed)
        except BaseException:
            state.close()
            raise
        # --clock-start: ids from --seed and the frozen clock, so that a run repeats to the byte
        ids = Ids(settings.seed, clock.base) if settings.clock_start is not None else Ids()
        store = OrganizationStore(tenants, prices, clock, state, timeout=settings.state_timeout, ids=ids)
    if stripe is None:
        failures = {tenant.organization_id: tenant.stripe_failure for tenant in store if tenant.stripe_failure}
        stripe = FakeStripe(store.prices, failures, ids=store.ids)
    services = Services(
        settings=settings,
        spec=spec,
        store=store,
        stripe=stripe,
        scenarios=Scenarios(spec),
        organization_fields=spec.response_fields("accountGetOrganization"),
        upstream=Upstream(settings, load_judge()) if settings.proxy else None,
        recording=recording if recording is not None else open_recording(settings.record),
        drift=Drift(spec.copy_raw()) if settings.proxy and settings.workers == 1 else None,
    )
    services.sandboxes = Sandboxes(store, ttl=settings.sandbox_ttl, most=settings.max_sandboxes)
    if settings.watch:
        from .watch import FixtureWatch

        services.watch = FixtureWatch(services, start)

    api = AsyncApp(
        __name__,
        middlewares=middlewares(services),
        resolver=make_resolver(services),
        validate_responses=True,
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui"),
    )
    api.add_api(spec.copy_raw())
    for status_or_class in (*_HANDLED_STATUSES, *_HANDLED_CLASSES):
        api.add_error_handler(status_or_class, _render_error)

    origins = [origin for origin in settings.cors_origin if origin != "*"]
    everyone = "*" in settings.cors_origin
    inner: ASGIApp = Cors(
        dispatch(api, AdminApp(services)),
        allow_origins=["*"] if everyone else origins,
        allow_origin_regex=None if everyone else LOCAL_ORIGINS,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Prefer", "X-Admin-Token", "X-Mock-Sandbox"],
        expose_headers=["X-Tracking-Id", "X-Contract-Violation"],
        allow_credentials=not everyone,
        max_age=600,
    )
    return MockServer(inner, services)
