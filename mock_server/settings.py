"""The mock's settings: the only module that reads ``os.environ``.

Precedence is flags over ``MOCK_SERVER_*`` environment variables over defaults.
A malformed value stops start-up with a :class:`ConfigError` naming it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "Settings", "DEFAULT_FIXTURES", "is_loopback"]

PACKAGE_ROOT = Path(__file__).resolve().parent
DEFAULT_FIXTURES = PACKAGE_ROOT.parent / "fixtures"
ENV_PREFIX = "MOCK_SERVER_"
LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _non_negative_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, got {value}")
    return value


def _port(name: str, raw: str) -> int:
    value = _non_negative_int(name, raw)
    if value > 65535:
        raise ConfigError(f"{name} must be a TCP port (0-65535), got {value}")
    return value


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip() for part in raw.split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(f"{name}: {origin!r} is not an origin such as https://app.example.com")
    return origins


def _log_format(name: str, raw: str) -> str:
    if raw not in LOG_FORMATS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_FORMATS)}, got {raw!r}")
    return raw


def _base_url(name: str, raw: str) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an absolute http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _optional_text(name: str, raw: str) -> str | None:
    return raw or None


def _path(name: str, raw: str) -> Path:
    return Path(raw)


# field name -> (parser, flag) ; the environment variable is MOCK_SERVER_<FIELD>.
_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "host": lambda name, raw: raw,
    "port": _port,
    "fixtures": _path,
    "seed": _non_negative_int,
    "generate": _non_negative_int,
    "latency": _non_negative_int,
    "cors_origin": _origins,
    "log_format": _log_format,
    "admin_token": _optional_text,
    "checkout_base_url": _base_url,
}


@dataclasses.dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    fixtures: Path = DEFAULT_FIXTURES
    seed: int = 1
    generate: int = 0
    latency: int = 0
    """Milliseconds added to every API answer."""
    cors_origin: tuple[str, ...] = ()
    """Origins allowed besides http(s)://localhost, 127.0.0.1 and [::1] on any port."""
    log_format: str = "text"
    admin_token: str | None = None
    checkout_base_url: str | None = None
    max_body_bytes: int = 64 * 1024

    @property
    def admin_open(self) -> bool:
        """The /__mock__/ routes need no token while the server listens on loopback."""
        return is_loopback(self.host)

    @classmethod
    def parse(cls, field: str, raw: str, source: str | None = None) -> Any:
        """Parse one raw value; ``source`` names it in errors (a flag or a variable)."""
        return _PARSERS[field](source or field, raw)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in _PARSERS:
            variable = ENV_PREFIX + field.upper()
            if variable in env:
                values[field] = cls.parse(field, env[variable], variable)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)
