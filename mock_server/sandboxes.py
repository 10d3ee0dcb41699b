"""Named sandboxes: isolated worlds on one server, made on first use or on request, expiring when idle.

A request names its sandbox with ``X-Mock-Sandbox: NAME`` (made on first use), or
with the credentials ``POST /__mock__/sandboxes`` gave out (each fixture
organization's bearer key and basic pair followed by ``.`` and the sandbox's token:
valid in that sandbox only); neither is the default sandbox. A sandbox holds only
what changed since the fixtures (docs/state.md, "Sandboxes"). One idle for
``--sandbox-ttl`` seconds is gone (its credentials answer 401, its name makes a new
one); at most ``--max-sandboxes`` exist at once, past that
:class:`~mock_server.errors.SandboxLimit` (429 with ``Retry-After``).

A use is recorded at most every :data:`TOUCH_EVERY` seconds per process (a quarter
of the TTL when that is shorter), without waiting for the state.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from .errors import SandboxExists, SandboxLimit, SandboxNotFound, ValidationFailed
from .state import request_state
from .stores import DEFAULT, SandboxInfo

if TYPE_CHECKING:
    from .store import OrganizationStore, Sandbox

__all__ = ["HEADER", "NAME", "Sandboxes", "check_name"]

HEADER = b"x-mock-sandbox"
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
TOUCH_EVERY = 60.0


def check_name(name: str, where: str = "X-Mock-Sandbox") -> str:
    """``name`` if it is a sandbox name; :class:`ValidationFailed` naming ``where`` otherwise."""
    if not NAME.fullmatch(name):
        raise ValidationFailed(
            f"{where} must be 1 to 64 of A-Z a-z 0-9 . _ -, got {name[:80]!r}.",
            fix="Name the sandbox with letters, digits, '.', '_' or '-' (at most 64).",
        )
    return name


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Sandboxes:
    def __init__(
        self, store: OrganizationStore, *, ttl: float, most: int, wall: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.most = most
        self._wall = wall
        self._touched: dict[str, float] = {}

    @property
    def _runner(self) -> Any:
        return self.store.runner

    async def _info(self, name: str) -> SandboxInfo | None:
        found: SandboxInfo | None = await self._runner.lookup("sandbox", name)
        return found

    def _alive(self, info: SandboxInfo, now: float) -> bool:
        return info.last_used >= now - self.ttl

    def _touch(self, name: str, now: float) -> None:
        every = min(TOUCH_EVERY, self.ttl / 4)
        if now - self._touched.get(name, 0.0) < every:
            return
        if len(self._touched) > 2 * self.most:
            self._touched.clear()
        self._touched[name] = now
        self._runner.submit(self.store.state.touch_sandbox, name, now)

    async def enter(self, name: str) -> None:
        """Use the sandbox ``name``: made now if there is none (or it expired)."""
        if name == DEFAULT:
            return
        now = self._wall()
        info = await self._info(name)
        if info is not None and self._alive(info, now):
            self._touch(name, now)
            return
        await self._make(SandboxInfo(name, now, now, None), replace=info is not None)

    async def _make(self, info: SandboxInfo, *, replace: bool = False) -> str:
        state = self.store.state
        if replace:
            await self._runner.call(state.drop_sandbox, info.name)
        created: str = await self._runner.call(state.create_sandbox, info, self.most, info.created - self.ttl)
        if created == "full":
            raise SandboxLimit(
                f"{self.most} sandboxes exist (--max-sandboxes); none is idle past --sandbox-ttl ({self.ttl:g} s) yet.",
                retry_after=await self._retry_after(info.created),
            )
        self._touched[info.name] = info.created
        return created

    async def _retry_after(self, now: float) -> int:
        known = await self._runner.call(self.store.state.sandboxes)
        oldest = min((info.last_used for info in known), default=now)
        return max(1, min(3600, math.ceil(oldest + self.ttl - now)))

    async def of_request(self, request: Request) -> Sandbox:
        """The sandbox a /__mock__/ request acts in: ``X-Mock-Sandbox``, else ``?sandbox=NAME`` (the links of
        the pages), else the default; made on first use."""
        state = request_state(request.scope)
        named = request.query_params.get("sandbox")
        if state.sandbox == DEFAULT and named:
            state.sandbox = check_name(named, "sandbox")
            await self.enter(state.sandbox)
        return await self.store.sandbox(state.sandbox)

    async def by_token(self, token: str) -> str | None:
        """The live sandbox whose credentials carry ``token``, or None."""
        name: str | None = await self._runner.lookup("sandbox_by_token", token)
        if name is None:
            return None
        info = await self._info(name)
        now = self._wall()
        if info is None or not self._alive(info, now):
            return None
        self._touch(name, now)
        return name

    async def create(self, name: str | None) -> SandboxInfo:
        """A new sandbox with credentials of its own (a generated name when ``name`` is None)."""
        name = check_name(name, "name") if name is not None else f"sbx-{secrets.token_hex(6)}"
        if name == DEFAULT:
            raise SandboxExists("The default sandbox always exists; it has no credentials of its own.")
        now = self._wall()
        info = SandboxInfo(name, now, now, "sbx" + secrets.token_hex(12))
        existing = await self._info(name)
        if existing is not None and self._alive(existing, now):
            raise SandboxExists(f"A sandbox named {name!r} exists already.")
        if await self._make(info, replace=existing is not None) == "exists":
            raise SandboxExists(f"A sandbox named {name!r} exists already.")
        return info

    async def all(self) -> list[SandboxInfo]:
        now = self._wall()
        known: list[SandboxInfo] = await self._runner.call(self.store.state.sandboxes)
        return [info for info in known if self._alive(info, now)]

    async def drop(self, name: str) -> None:
        check_name(name, "the sandbox name")
        if name == DEFAULT:
            raise ValidationFailed("The default sandbox cannot be dropped; POST /__mock__/reset empties it.")
        dropped = await self._runner.call(self.store.state.drop_sandbox, name)
        self._touched.pop(name, None)
        if not dropped:
            raise SandboxNotFound(f"There is no sandbox named {name!r}.")

    def describe(self, info: SandboxInfo, *, credentials: bool = False) -> dict[str, Any]:
        """``info`` as the /__mock__/sandboxes routes answer it."""
        found: dict[str, Any] = {
            "name": info.name,
            "createdAt": _iso(info.created),
            "lastUsedAt": _iso(info.last_used),
            "expiresAt": _iso(info.last_used + self.ttl),
            "hasCredentials": info.token is not None,
        }
        if credentials and info.token:
            # Generated organizations follow their pattern: sk_test_gen_N.TOKEN (the token is given).
            found["token"] = info.token
            found["organizations"] = [
                {
                    "organizationId": tenant.organization_id,
                    "label": tenant.label,
                    "apiKey": f"{tenant.api_key}.{info.token}",
                    "clientId": f"{tenant.client_id}.{info.token}",
                    "clientSecret": f"{tenant.client_secret}.{info.token}",
                }
                for tenant in self.store
                if tenant.label != "generated"
            ]
        return found
