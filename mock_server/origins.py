"""Where a request comes from: the Host allowlist, and the routes that change state refuse other sites.

DNS rebinding points a name the attacker owns at 127.0.0.1, so that a page of
theirs can read the mock's answers (the dashboard lists every credential). The
browser still sends the attacker's name in ``Host``: :class:`HostAllowlist`
serves only loopback names, the address the server is bound to and
``--allowed-hosts`` (ports are not compared). On a wildcard address (``0.0.0.0``,
``::``) every IP address is the bound address, so any IP literal is served too:
no page can rebind a literal. Other names need ``--allowed-hosts``; ``*`` serves
any. A request without ``Host`` (HTTP/1.0) is served: browsers always send one.

Any web page the user opens can make the browser send a form ``POST`` to the
mock on loopback. Browsers say where such a request comes from, in
``Sec-Fetch-Site`` and ``Origin``: a state-changing ``/__mock__/`` route (Pay,
Cancel, sticky scenarios, reset) accepts ``Sec-Fetch-Site`` ``same-origin`` or
``none`` only, and an ``Origin`` only when it is the mock's own (the scheme and
``Host`` of the request, or ``--checkout-base-url``); ``Origin: null`` is
refused. curl, scripts and test code send neither header and keep working.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.types import Scope

from .settings import Settings

__all__ = ["LOOPBACK_NAMES", "SAFE_METHODS", "HostAllowlist", "cross_site", "host_name"]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_REMEMBERED = 64
"""How many distinct allowed ``Host`` values are remembered as they came (a client sends one)."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing: never refused."""
_SAME_SITE = frozenset({"same-origin", "none"})
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _origin(scheme: str, authority: str) -> str:
    """``scheme://host[:port]`` in lower case without the scheme's default port, as browsers write Origin."""
    origin = f"{scheme}://{authority}".lower()
    return origin.removesuffix(_DEFAULT_PORTS.get(scheme, "\0"))


def _own_origins(scope: Scope, host: str | None, base_url: str | None) -> set[str]:
    if host is None:
        server_host, port = scope.get("server") or ("", None)
        host = f"{server_host}:{port}" if port else server_host
    own = {_origin(scope.get("scheme", "http"), host)}
    if base_url:
        parts = urlsplit(base_url)
        own.add(_origin(parts.scheme, parts.netloc))
    return own


def cross_site(scope: Scope, base_url: str | None = None) -> str | None:
    """The header that shows this request was sent from another site, or None.

    ``base_url`` is ``--checkout-base-url``, the mock's public address when it has one.
    """
    host: str | None = None
    origins: list[str] = []
    for key, raw in scope["headers"]:
        if key == b"sec-fetch-site":
            site = raw.decode("latin-1")
            if site.strip().lower() not in _SAME_SITE:
                return f"Sec-Fetch-Site: {site[:40]}"
        elif key == b"origin":
            origins.append(raw.decode("latin-1"))
        elif key == b"host" and host is None:
            host = raw.decode("latin-1")
    if origins:
        own = _own_origins(scope, host, base_url)
        for origin in origins:
            if origin.strip().lower() not in own:
                return f"Origin: {origin[:80]}"
    return None


def host_name(authority: str) -> str:
    """The host of a ``Host`` value, in lower case, without its port: ``[::1]:8080`` -> ``[::1]``."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        end = authority.find("]")
        return authority[: end + 1] if end > 0 else authority
    name, colon, _ = authority.rpartition(":")
    return name if colon and ":" not in name else authority  # an unbracketed IPv6 address stays whole


def _unspecified(address: str) -> bool:
    """``0.0.0.0``, ``::`` or empty: the server listens on every address of the machine."""
    try:
        return not address or ipaddress.ip_address(address.strip("[]")).is_unspecified
    except ValueError:
        return False


def _ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name[1:-1] if name.startswith("[") else name)
    except ValueError:
        return False
    return True


class HostAllowlist:
    """Which ``Host`` values the mock serves; :meth:`allows` is a set lookup for a value seen before."""

    def __init__(self, settings: Settings) -> None:
        names = {*LOOPBACK_NAMES, *settings.allowed_hosts}
        if settings.checkout_base_url:  # the mock's public address
            names.add(host_name(urlsplit(settings.checkout_base_url).netloc))
        bound = settings.host.strip().lower()
        self.any_ip = _unspecified(bound)
        if not self.any_ip:
            names.add(f"[{bound}]" if ":" in bound and not bound.startswith("[") else bound)
        self.everyone = "*" in names
        self.names = frozenset(names)
        self._seen: set[bytes] = set()

    def allows(self, host: bytes | None) -> bool:
        if host is None or self.everyone or host in self._seen:
            return True
        name = host_name(host.decode("latin-1"))
        if name not in self.names and not (self.any_ip and _ip_literal(name)):
            return False
        if len(self._seen) < _REMEMBERED:
            self._seen.add(host)
        return True
