"""Credentials: HTTP bearer (the secret API key) and HTTP basic (clientId:clientSecret).

:class:`Security` is a Connexion routed middleware: at start-up it reads each
operation's ``security`` alternatives from the document; per request it reads the
``Authorization`` header once, looks the credential up in the store, records the
organization in the request state, or raises the error that says what is wrong
(missing, malformed, a scheme the operation does not take, unknown). Secrets are
never logged.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.operations import AbstractOperation
from starlette.types import ASGIApp, Receive, Scope, Send

from .asgi import header
from .errors import InvalidCredentials, MalformedCredentials, MissingCredentials
from .sandboxes import Sandboxes
from .state import request_state
from .store import Identity, OrganizationStore
from .stores import DEFAULT

__all__ = ["Security", "basic_pair", "credentials"]

Lookup = Callable[[str], "Identity | None"]
"""The credential (after the scheme name) -> whom it names, or None if unknown."""


def credentials(authorization: str | None) -> tuple[str, str] | None:
    """``(scheme in lower case, value)`` of an Authorization header; None when absent.

    Raises :class:`MalformedCredentials` when the header is there but has no value.
    """
    if not authorization or not authorization.strip():
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if not value:
        raise MalformedCredentials()
    return scheme.lower(), value


def basic_pair(value: str) -> tuple[str, str]:
    """``(username, password)`` of a Basic credential's value; :class:`MalformedCredentials` when it is not
    base64 of ``username:password``."""
    try:
        username, password = base64.b64decode(value, validate=True).decode("latin-1").split(":", 1)
    except (binascii.Error, ValueError):
        raise MalformedCredentials() from None
    return username, password


def _lookups(store: OrganizationStore) -> dict[str, Lookup]:
    def basic(value: str) -> Identity | None:
        return store.by_basic(*basic_pair(value))

    return {"bearer": store.by_api_key, "basic": basic}


_KNOWN = 4096
"""Authorization headers remembered per operation once they were found valid (credentials never change)."""


class _Check:
    def __init__(self, next_app: ASGIApp, schemes: dict[str, Lookup], sandboxes: Sandboxes) -> None:
        self.next_app = next_app
        self.schemes = schemes
        self.sandboxes = sandboxes
        self.known: dict[bytes, str] = {}
        self.version = sandboxes.store.version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.version != self.sandboxes.store.version:  # the fixtures changed (--watch): so may credentials
            self.known, self.version = {}, self.sandboxes.store.version
        raw = header(scope, b"authorization")
        state = request_state(scope)
        organization_id = self.known.get(raw) if raw is not None else None
        if organization_id is None:
            identity = self._look_up(raw)
            organization_id = identity.organization_id
            if identity.token is not None:  # a sandbox's credentials: valid in that sandbox only
                sandbox = await self.sandboxes.by_token(identity.token)
                if sandbox is None or (state.sandbox not in (DEFAULT, sandbox)):
                    raise InvalidCredentials(
                        "These credentials belong to a sandbox that is gone, or to another sandbox than "
                        "X-Mock-Sandbox names.",
                        fix="Create a sandbox with POST /__mock__/sandboxes and use the credentials it answers.",
                    )
                state.sandbox = sandbox
            elif raw is not None and len(self.known) < _KNOWN:
                self.known[raw] = organization_id
        state.organization_id = organization_id
        await self.next_app(scope, receive, send)

    def _look_up(self, raw: bytes | None) -> Identity:
        found = credentials(raw.decode("latin-1") if raw is not None else None)
        if found is None:
            raise MissingCredentials()
        lookup = self.schemes.get(found[0])
        if lookup is None:
            raise MalformedCredentials("The Authorization header uses a scheme this API does not accept.")
        identity = lookup(found[1])
        if identity is None:
            raise InvalidCredentials()
        return identity


class _API(RoutedAPI[Any]):
    def __init__(self, *args: Any, store: OrganizationStore, sandboxes: Sandboxes, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lookups = _lookups(store)
        self.sandboxes = sandboxes
        self.add_paths()

    def make_operation(self, operation: AbstractOperation) -> ASGIApp:
        next_app: ASGIApp = self.next_app
        schemes: dict[str, Lookup] = {}
        for requirement in operation.security or []:
            if not requirement:
                return next_app  # an empty alternative: no credentials needed
            if len(requirement) != 1:
                raise ValueError(f"{operation.operation_id}: only one security scheme per alternative is supported")
            scheme = operation.security_schemes[next(iter(requirement))]
            kind = str(scheme.get("scheme", "")).lower()
            if scheme.get("type") != "http" or kind not in self.lookups:
                raise ValueError(f"{operation.operation_id}: security scheme {scheme} is not HTTP bearer or basic")
            schemes[kind] = self.lookups[kind]
        return _Check(next_app, schemes, self.sandboxes) if schemes else next_app


class Security(RoutedMiddleware[_API]):
    """The operation's credentials, checked against the organization store."""

    api_cls = _API

    def __init__(self, app: ASGIApp, *, store: OrganizationStore, sandboxes: Sandboxes) -> None:
        super().__init__(app)
        self.store = store
        self.sandboxes = sandboxes

    def add_api(self, specification: Any, **kwargs: Any) -> _API:
        api: _API = super().add_api(specification, store=self.store, sandboxes=self.sandboxes, **kwargs)
        return api
