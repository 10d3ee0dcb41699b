"""The deployment behind ``mock-server --proxy URL``, and what the proxy needs besides it.

:class:`Upstream` holds the deployment's address, one pooled ``aiohttp.ClientSession``
(made on first use, in the loop that serves; on loopback it answers in a third of
the time httpx takes) and the verdict; :meth:`Upstream.failed`
turns a failed exchange (unreachable, TLS, timeout) into the 502 naming it as the
``provider``. :func:`load_judge` prepares the oracle (:mod:`billing_contract.verdict`), or says
which extra to install; :func:`open_recording` opens ``--record DIR`` (:mod:`mock_server.recording`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from billing_contract import EXTRA_MODULES, INSTALL_EXTRA

from .auth import basic_pair, credentials
from .errors import MalformedCredentials, ProviderError
from .services import Recorder
from .settings import ConfigError, Settings
from .spec import load_spec

__all__ = ["Judge", "Upstream", "credential", "load_judge", "open_recording"]

Judge = Callable[..., list[Any]]
"""``billing_contract.verdict.Verdict.judge``: (method, path, request headers, request body, status, headers, body)."""


def load_judge() -> Judge:
    """The oracle over the document this mock serves, prepared now; :class:`ConfigError` when the contract extra
    is missing."""
    try:
        from billing_contract.verdict import Verdict
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in EXTRA_MODULES:
            raise
        raise ConfigError(
            f"--proxy judges answers with the contract suite's checks ({missing} is missing): {INSTALL_EXTRA}"
        ) from None
    return Verdict(load_spec().copy_raw()).judge


def open_recording(folder: Path | None) -> Recorder | None:
    """``--record DIR``: :class:`mock_server.recording.Recording` on the folder (its checks stop start-up)."""
    if folder is None:
        return None
    from .recording import Recording

    return Recording(folder)


class Upstream:
    """The deployment: its base URL, one pooled client (made on first use, in the serving loop), the verdict."""

    def __init__(self, settings: Settings, judge: Judge) -> None:
        assert settings.proxy is not None
        self.base = settings.proxy
        self.host = urlsplit(self.base).hostname or self.base
        self.timeout = settings.proxy_timeout
        self.strict = settings.proxy_strict
        self.judge = judge
        self.tls: ssl.SSLContext | bool = True  # the system's certificates
        if settings.proxy_ca_file is not None:
            self.tls = ssl.create_default_context()
            self.tls.load_verify_locations(cafile=settings.proxy_ca_file)
        self._client: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def client(self) -> aiohttp.ClientSession:
        """The pooled session of the running loop. Pooled connections belong to the loop that opened them: a
        test client that runs each request in a loop of its own (Starlette's, outside ``with``) gets a session
        per loop, the last one's connections left to the collector."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=60, ssl=self.tls),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                auto_decompress=False,  # the body goes back as the deployment sent it
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),  # only what the caller sent
                cookie_jar=aiohttp.DummyCookieJar(),  # one caller's cookies are never another's
            )
            self._loop = loop
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def failed(self, exc: BaseException) -> ProviderError:
        """The 502 that says what went wrong with the deployment (never its URL's secrets)."""
        if isinstance(exc, asyncio.TimeoutError):
            why, code = f"did not answer within {self.timeout} s (--proxy-timeout)", "timeout"
        elif isinstance(exc, aiohttp.ClientSSLError) or (
            isinstance(exc, aiohttp.ClientConnectorError) and _is_tls(exc)
        ):
            why, code = f"failed the TLS handshake: {str(exc)[:200]}", "tls_error"
        elif isinstance(exc, aiohttp.ClientConnectorError):
            why, code = f"could not be reached: {str(exc)[:200] or type(exc).__name__}", "connection_error"
        else:
            why, code = f"broke off the exchange: {type(exc).__name__}", "protocol_error"
        return ProviderError(
            f"The deployment at {self.host} {why}.",
            fix="Check that --proxy names a deployment that is up and reachable from here, then retry.",
            provider=self.host,
            provider_code=code,
        )


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "SSL" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def credential(authorization: str | None) -> tuple[str, str | tuple[str, str]] | None:
    """``("bearer", key)`` or ``("basic", (client_id, secret))`` from an Authorization header, or None."""
    try:
        found = credentials(authorization)
        if found is None or found[0] not in ("bearer", "basic"):
            return None
        scheme, value = found
        return (scheme, value) if scheme == "bearer" else (scheme, basic_pair(value))
    except MalformedCredentials:
        return None
