"""Where a request comes from: the routes that change state refuse other sites.

Any web page the user opens can make the browser send a form ``POST`` to the
mock on loopback. Browsers say where such a request comes from, in
``Sec-Fetch-Site`` and ``Origin``: a state-changing ``/__mock__/`` route (Pay,
Cancel, sticky scenarios, reset) accepts ``Sec-Fetch-Site`` ``same-origin`` or
``none`` only, and an ``Origin`` only when it is the mock's own (the scheme and
``Host`` of the request, or ``--checkout-base-url``); ``Origin: null`` is
refused. curl, scripts and test code send neither header and keep working.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import Scope

__all__ = ["SAFE_METHODS", "cross_site"]

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
