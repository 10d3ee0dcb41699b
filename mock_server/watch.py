"""``--watch``: the fixtures folder read again when it changes, without a restart.

Once a second the files' sizes and modification times are compared with those
read last. A change is loaded off the event loop, with the same checks as at
start-up; if it loads, the store takes it in one step
(:meth:`~mock_server.store.OrganizationStore.replace`): what the state holds is
kept, and organizations never changed, new sandboxes and every reset show the new
fixtures. If it does not, the old fixtures stay, and the error is logged and shown
on the dashboard until a later edit loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from pathlib import Path
from typing import Any

from .fixtures import load_prices, load_tenants
from .generate import generate_tenants
from .services import Services
from .settings import ConfigError

__all__ = ["FixtureWatch", "INTERVAL"]

INTERVAL = 1.0
"""Seconds between two looks at the folder."""
FILES = ("organizations.yaml", "prices.yaml")
logger = logging.getLogger("mock_server")


def fingerprint(folder: Path) -> tuple[Any, ...]:
    """What changes when a file of the folder is written (and what a missing file reads as)."""
    found: list[Any] = []
    for name in FILES:
        try:
            status = (folder / name).stat()
        except OSError:
            found.append(None)
            continue
        found.append((status.st_size, status.st_mtime_ns, status.st_ino))
    return tuple(found)


class FixtureWatch:
    def __init__(self, services: Services, start: dt.datetime) -> None:
        self.services = services
        self.folder = services.settings.fixtures
        self.start = start
        self.seen = fingerprint(self.folder)
        self.error: str | None = None
        """Why the last edit was not loaded (None: the fixtures served are the folder's)."""
        self.reloaded = 0
        self._task: asyncio.Task[None] | None = None

    def begin(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def end(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            try:
                await self.check()
            except Exception:  # the watch must outlive anything a folder can do
                logger.exception("--watch: the fixtures could not be checked")

    async def check(self) -> bool:
        """Load the folder if it changed since last seen; True when new fixtures are served."""
        now = fingerprint(self.folder)
        if now == self.seen:
            return False
        self.seen = now
        settings = self.services.settings
        try:
            prices, tenants = await asyncio.to_thread(self._load, settings.generate, settings.seed)
        except ConfigError as error:
            self.error = str(error)[:500]
            logger.error("--watch: the fixtures were not reloaded, the ones before stay: %s", self.error)
            return False
        store = self.services.store
        store.replace(tenants, prices)
        stripe: Any = self.services.stripe
        if hasattr(stripe, "prices"):  # the fake's catalog and failures follow the fixtures
            stripe.prices = prices
            stripe.failures = {
                tenant.organization_id: tenant.stripe_failure for tenant in tenants if tenant.stripe_failure
            }
        self.error = None
        self.reloaded += 1
        logger.warning("--watch: fixtures reloaded from %s (%d organizations)", self.folder, len(tenants))
        return True

    def _load(self, generate: int, seed: int) -> tuple[Any, Any]:
        most = self.services.settings.max_fixture_bytes
        prices = load_prices(self.folder, most)
        tenants = load_tenants(self.folder, self.services.spec, self.start, most) + generate_tenants(generate, seed)
        return prices, tenants
