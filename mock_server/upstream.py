"""The deployment behind ``mock-server --proxy URL``, and what the proxy needs besides it.

:class:`Upstream` holds the deployment's address, an ``aiohttp.ClientSession`` (made on
first use, in the loop that serves; on loopback it answers in a third of the time httpx
takes) that opens a connection per call, the limits and the verdict;
:meth:`Upstream.exchange` sends a call and reads its answer within
``--proxy-max-answer-bytes``, decoded (:mod:`mock_server.codings`), and turns whatever
fails (unreachable, TLS, timeout, broken HTTP, a status HTTP does not have, a body past
the cap or in a coding not decoded) into the 502 naming the deployment as the
``provider``, in the mock's own words. :func:`load_judge` prepares the contract suite's
oracle (:mod:`billing_contract.verdict`), or says which extra to install;
:func:`open_recording` opens ``--record DIR`` (:mod:`mock_server.recording`).
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from billing_contract import EXTRA_MODULES, INSTALL_EXTRA

from .auth import basic_pair, credentials
from .codings import BadCoding, Body, TooLarge
from .errors import MalformedCredentials, ProviderError
from .services import Recorder
from .settings import ConfigError, Settings
from .spec import load_spec

__all__ = ["Judge", "Upstream", "credential", "credential_secrets", "load_judge", "open_recording"]

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
    """The deployment: its base URL, a client (made on first use, in the serving loop), the limits, the verdict."""

    def __init__(self, settings: Settings, judge: Judge) -> None:
        assert settings.proxy is not None
        self.base = settings.proxy
        address = urlsplit(self.base)
        self.host = address.hostname or self.base
        self.port = address.port or (443 if address.scheme == "https" else 80)
        self.timeout = settings.proxy_timeout
        self.max_answer = settings.proxy_max_answer_bytes
        self.max_judged = settings.proxy_max_judged_bytes
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
        """The session of the running loop. A session belongs to the loop that made it: a test client that runs
        each request in a loop of its own (Starlette's, outside ``with``) gets a session per loop.

        No connection is used twice (``force_close``; each request says ``Connection: close``): a deployment
        can write an answer nobody asked for on an idle kept-alive connection, and whoever used it next
        would read it as the answer to their own request, and the next caller the answer to theirs.
        """
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, force_close=True, ttl_dns_cache=60, ssl=self.tls),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                auto_decompress=False,  # decoded here, within the cap (mock_server.codings)
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),  # only what the caller sent
                cookie_jar=aiohttp.DummyCookieJar(),  # one caller's cookies are never another's
            )
            self._loop = loop
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def exchange(
        self, method: str, url: URL, headers: list[tuple[str, str]], body: bytes | None
    ) -> tuple[int, Any, bytes]:
        """The deployment's status, raw headers and decoded body; :class:`ProviderError` (a 502) when the exchange
        fails, the status is not one an answer can have, or the body is past the cap or cannot be decoded."""
        try:
            async with self.client.request(method, url, data=body, headers=headers, allow_redirects=False) as answer:
                if (version := answer.version) is None or version not in _HTTP_1:
                    said = f"HTTP/{version.major}.{version.minor}" if version else "another protocol"
                    raise self._refused(f"answered in {said} on an HTTP/1.1 connection", "protocol_error")
                if not 200 <= answer.status <= 599:
                    raise self._refused(_odd_status(answer.status), "bad_status")
                return answer.status, answer.raw_headers, await self._body(answer)
        except TooLarge:
            raise self._refused(
                f"sent an answer of more than {self.max_answer:,} bytes (--proxy-max-answer-bytes)",
                "too_large",
                fix="Check why the deployment answers this much, or raise --proxy-max-answer-bytes.",
            ) from None
        except BadCoding as exc:
            raise self._refused(str(exc), "bad_encoding") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self.failed(exc) from None

    async def _body(self, answer: aiohttp.ClientResponse) -> bytes:
        """The body, read as it arrives and decoded, never more than the cap in memory."""
        if answer.content_length is not None and answer.content_length > self.max_answer:
            raise TooLarge
        body = Body(answer.headers.getall("Content-Encoding", ()), self.max_answer)
        async for chunk in answer.content.iter_any():
            body.feed(chunk)
        return body.finish()

    def too_large_to_judge(self, size: int) -> str:
        return (
            f"The answer's body of {size:,} bytes is larger than the {self.max_judged:,} the proxy judges "
            "(--proxy-max-judged-bytes): passed on unjudged and unrecorded"
        )

    def _refused(self, why: str, code: str, fix: str | None = None) -> ProviderError:
        return ProviderError(
            f"The deployment at {self.host} {why}.",
            fix=fix or "Check the deployment --proxy names: its answer is not one the mock can pass on.",
            provider=self.host,
            provider_code=code,
        )

    def failed(self, exc: BaseException) -> ProviderError:
        """The 502 that says, in the mock's words, what went wrong with the deployment (never a URL or a value)."""
        why, code = _failure(exc, self)
        return ProviderError(
            f"The deployment at {self.host} {why}.",
            fix="Check that --proxy names a deployment that is up and reachable from here, then retry.",
            provider=self.host,
            provider_code=code,
        )


def _odd_status(status: int) -> str:
    if status < 200:
        return f"answered {status}, an interim status, and no final answer"
    return f"answered with status {status}, which HTTP does not have (100-599)"


_HTTP_1 = (aiohttp.HttpVersion10, aiohttp.HttpVersion11)
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}


def _failure(exc: BaseException, upstream: Upstream) -> tuple[str, str]:
    """What went wrong, and its providerCode; aiohttp's own text (which names its internals) is never used."""
    if isinstance(exc, TimeoutError):
        return f"did not answer in full within {upstream.timeout} s (--proxy-timeout)", "timeout"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = getattr(exc.certificate_error, "verify_message", "") or "it does not verify"
        return (
            f"presented a certificate this machine does not trust ({str(reason)[:100]}); "
            "--proxy-ca-file trusts an internal CA",
            "tls_error",
        )
    if isinstance(exc, aiohttp.ClientSSLError) or (isinstance(exc, aiohttp.ClientConnectorError) and _is_tls(exc)):
        return "failed the TLS handshake (does it speak https on that port?)", "tls_error"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "could not be found: its name does not resolve from here", "connection_error"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if exc.os_error.errno == errno.ECONNREFUSED:
            return f"refused the connection: nothing accepts it on port {upstream.port}", "connection_error"
        if exc.os_error.errno in _UNREACHABLE:
            return "could not be reached: there is no route to it from here", "connection_error"
        return "could not be reached", "connection_error"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "closed the connection before it answered in full", "protocol_error"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "broke off its answer midway", "protocol_error"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "sent an answer that is not valid HTTP/1.1", "protocol_error"
    if isinstance(exc, aiohttp.ClientOSError):
        return "reset the connection", "protocol_error"
    return "broke off the exchange", "protocol_error"


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


def credential_secrets(credential: Any) -> tuple[str, ...] | None:
    """The strings of a ``("bearer", key)`` or ``("basic", (client_id, secret))`` credential, or None."""
    match credential:
        case ("bearer", str(key)) if key:
            return (key,)
        case ("basic", (str(client_id), str(secret))) if client_id and secret:
            return (client_id, secret)
    return None
