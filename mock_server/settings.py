"""The mock's settings: one table, and the only module that reads ``os.environ``.

Each field of :class:`Settings` is one row of the table: its name, default,
parser and help text. The command-line flag (``--cors-origin``), the environment
variable (``MOCK_SERVER_CORS_ORIGIN``) and the ``--help`` line derive from it
(see :data:`SETTINGS`). Precedence is flags over environment over defaults; a
malformed value stops start-up with a :class:`ConfigError` naming the flag or variable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .numbers import parse_int

__all__ = [
    "ConfigError",
    "DEFAULT_FIXTURES",
    "MAX_FIXTURE_BYTES",
    "MAX_GENERATE",
    "SETTINGS",
    "Setting",
    "Settings",
    "is_loopback",
]

# The package carries the fixtures (mock_server/data/fixtures: in a checkout, a link to the top-level folder).
DEFAULT_FIXTURES = Path(str(resources.files("mock_server") / "data" / "fixtures"))
ENV_PREFIX = "MOCK_SERVER_"
LOG_FORMATS = ("text", "json")
_MOST_DIGITS = 12
MAX_GENERATE = 1_000_000
"""The most organizations ``--generate`` makes (about 15 s and 1.6 GiB of memory at start-up)."""
MAX_FIXTURE_BYTES = 16 * 1024 * 1024
"""The largest fixture file read by default (a recording of 3,000 organizations is under 2 MiB)."""
_NAME = re.compile(r"[a-z0-9_.-]+")
"""A host name or an IPv4 address, as ``--allowed-hosts`` takes them."""
"""A name or IPv4 address, or an IPv6 address in brackets (checked by ipaddress first)."""

Parser = Callable[[str, str], Any]
"""``parser(name, raw)``: the value, or :class:`ConfigError` naming ``name`` (a flag or variable)."""


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


def _flag(name: str) -> str:
    """The flag of the field ``name``: ``cors_origin`` is ``--cors-origin``."""
    return "--" + name.replace("_", "-")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _whole_number(most: int = 10**_MOST_DIGITS - 1, unit: str = "", least: int = 0) -> Parser:
    """ASCII digits only (``str.isdigit`` also takes ``²`` and ``٣``), from ``least`` to ``most``
    (at most a dozen digits); the error says what is accepted, in ``unit``."""

    def parse(name: str, raw: str) -> int:
        value = parse_int(raw, minimum=least, maximum=most)
        if value is None:
            of = f" of {unit}" if unit else ""
            raise ConfigError(f"{name} must be a whole number{of} from {least} to {most}, got {raw[:40]!r}")
        return value

    return parse


def _text(name: str, raw: str) -> str:
    return raw


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip() for part in raw.split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(f"{name}: {origin!r} is not an origin such as https://app.example.com")
    return origins


def _hosts(name: str, raw: str) -> tuple[str, ...]:
    """Host names as ``Host`` carries them: lower case, IPv6 in brackets, no port (ports are not compared)."""
    hosts = []
    for part in filter(None, (part.strip().lower() for part in raw.split(","))):
        host = part if part == "*" or _NAME.fullmatch(part) else ""
        if ":" in part:
            try:
                host = f"[{ipaddress.IPv6Address(part.strip('[]'))}]"
            except ValueError:
                host = ""
        if not host:
            raise ConfigError(f"{name}: {part[:80]!r} is not a host name (without a port) such as mock.internal")
        hosts.append(host)
    return tuple(hosts)


def _log_format(name: str, raw: str) -> str:
    if raw not in LOG_FORMATS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_FORMATS)}, got {raw[:40]!r}")
    return raw


def _base_url(name: str, raw: str) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an absolute http(s) URL, got {raw[:80]!r}")
    return raw.rstrip("/")


def _upstream_url(name: str, raw: str) -> str | None:
    url = _base_url(name, raw)
    if url is not None and "@" in urlsplit(url).netloc:
        raise ConfigError(f"{name} must not carry credentials (user:password@): each caller's own are forwarded")
    return url


def _optional_text(name: str, raw: str) -> str | None:
    return raw or None


def _path(name: str, raw: str) -> Path:
    if not raw:
        raise ConfigError(f"{name} must name a folder")
    return Path(raw)


def redact_url(url: str) -> str:
    """``url`` without its password (``redis://user:***@host``), cut to a readable length."""
    try:
        parts = urlsplit(url[:500])
        password = parts.password
    except ValueError:
        return url[:80]
    if password is None:
        return url[:200]
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()[:200]


def _state(name: str, raw: str) -> str:
    """``memory``, ``redis://...`` (checked when opened), or ``sqlite:///PATH`` in a folder that exists
    and can be written (mock_server.stores)."""
    if raw == "memory" or raw.startswith(("redis://", "rediss://")):
        return raw
    if not raw.startswith("sqlite:///") or raw == "sqlite:///":
        raise ConfigError(
            f"{name} must be memory, sqlite:///PATH or redis://HOST:PORT/DB (see mock-server --docs state), "
            f"got {redact_url(raw)[:80]!r}"
        )
    path = Path(raw[len("sqlite:///") :])
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"{name}: the folder {str(folder)[:200]!r} of the state file does not exist")
    if not os.access(path if path.exists() else folder, os.R_OK | os.W_OK):
        raise ConfigError(f"{name}: {str(path)[:200]!r} cannot be written")
    return raw


def _switch(name: str, raw: str) -> bool:
    """``--flag`` alone, or a value: true/false, 1/0, yes/no, on/off."""
    value = raw.strip().lower()
    if value not in _SWITCH:
        raise ConfigError(f"{name} must be true or false (or 1/0, yes/no, on/off), got {raw[:40]!r}")
    return _SWITCH[value]


_SWITCH = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


_seconds = _whole_number(3600, "seconds", least=1)


def _optional_path(name: str, raw: str) -> Path | None:
    return Path(raw) if raw else None


def _drift_report(name: str, raw: str) -> Path | None:
    path = _optional_path(name, raw)
    if path is not None and path.suffix.lower() not in (".json", ".md"):
        raise ConfigError(f"{name}: {raw[:200]!r} must end in .json or .md (the report's format)")
    if path is not None and not path.parent.is_dir():
        raise ConfigError(f"{name}: the folder {str(path.parent)[:200]!r} of the report does not exist")
    return path


def _ca_file(name: str, raw: str) -> Path | None:
    """A file of PEM certificates that Python's ssl module reads."""
    if not raw:
        return None
    try:
        ssl.create_default_context(cafile=raw)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{name} must be a readable file of PEM certificates: {raw[:200]} ({exc})") from None
    return Path(raw)


_DECIMAL = re.compile(r"\d{1,4}(\.\d{1,3})?")


def _timeout(name: str, raw: str) -> float:
    """Seconds, with up to three decimals, from 0.05 to 60."""
    value = float(raw) if _DECIMAL.fullmatch(raw.strip()) else None
    if value is None or not 0.05 <= value <= 60:
        raise ConfigError(f"{name} must be a number of seconds from 0.05 to 60 (such as 2 or 0.5), got {raw[:40]!r}")
    return value


def _instant(name: str, raw: str) -> dt.datetime | None:
    """An ISO 8601 date-time with its offset (``2026-01-01T00:00:00Z``), from year 1970 to 9000."""
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.strip()) if len(raw) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not 1970 <= moment.year <= 9000:
        raise ConfigError(
            f"{name} must be a date-time with its UTC offset, such as 2026-01-01T00:00:00Z, got {raw[:40]!r}"
        )
    return moment.astimezone(dt.UTC)


_workers = _whole_number(64, "processes", least=1)
_answer_bytes = _whole_number(unit="bytes", least=1024)  # room for any error body


def _row(parse: Parser, help: str, *, shown: str | None = None, metavar: str = "VALUE") -> dict[str, Any]:
    """A field's metadata: its parser, its help text, its default as ``--help`` says it, and the
    placeholder of its value in ``--help`` (a switch has none)."""
    return {"parse": parse, "help": help, "shown": shown, "metavar": metavar}


@dataclasses.dataclass(frozen=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata=_row(_text, "address to listen on", metavar="ADDRESS"))
    port: int = field(
        default=8080,
        metadata=_row(_whole_number(65535), "TCP port; 0 picks a free one (the banner prints it)", metavar="N"),
    )
    fixtures: Path = field(
        default=DEFAULT_FIXTURES,
        metadata=_row(
            _path, "folder with organizations.yaml and prices.yaml", shown="the shipped fixtures", metavar="DIR"
        ),
    )
    seed: int = field(default=1, metadata=_row(_whole_number(), "seed for --generate", metavar="N"))
    generate: int = field(
        default=0,
        metadata=_row(
            _whole_number(MAX_GENERATE, unit="organizations"),
            f"add N Faker-made organizations (at most {MAX_GENERATE:,}), keys sk_test_gen_1..N",
            metavar="N",
        ),
    )
    latency: int = field(
        default=0,
        metadata=_row(_whole_number(unit="milliseconds"), "milliseconds added to every API answer", metavar="MS"),
    )
    cors_origin: tuple[str, ...] = field(
        default=(),
        metadata=_row(
            _origins,
            "extra CORS origins, comma-separated, or * (localhost is always allowed)",
            shown="none",
            metavar="ORIGINS",
        ),
    )
    log_format: str = field(
        default="text",
        metadata=_row(
            _log_format,
            "request log lines, one per request (method, path, status, duration, trackingId, organization; "
            f"never credentials): {' or '.join(LOG_FORMATS)}",
            metavar="|".join(LOG_FORMATS),
        ),
    )
    admin_token: str | None = field(
        default=None,
        metadata=_row(
            _optional_text,
            "token (header X-Admin-Token) for the /__mock__/ routes when not listening on loopback",
            shown="none",
            metavar="TOKEN",
        ),
    )
    checkout_base_url: str | None = field(
        default=None,
        metadata=_row(_base_url, "base URL of checkout session urls", shown="the request's own", metavar="URL"),
    )
    allowed_hosts: tuple[str, ...] = field(
        default=(),
        metadata=_row(
            _hosts,
            "extra Host names served, comma-separated, or * (localhost, 127.0.0.1, [::1] and --host always are)",
            shown="none",
            metavar="HOSTS",
        ),
    )
    max_body_bytes: int = field(
        default=64 * 1024,
        metadata=_row(
            _whole_number(unit="bytes"),
            "largest request body accepted, in bytes (400 body_too_large above)",
            metavar="BYTES",
        ),
    )
    max_header_bytes: int = field(
        default=16 * 1024,
        metadata=_row(
            _whole_number(unit="bytes"),
            "largest request line plus headers, in bytes (431 headers_too_large above)",
            metavar="BYTES",
        ),
    )
    max_headers: int = field(
        default=100,
        metadata=_row(
            _whole_number(unit="headers"), "most headers in one request (431 headers_too_large above)", metavar="N"
        ),
    )
    header_timeout: int = field(
        default=10,
        metadata=_row(
            _whole_number(3600, "seconds"),
            "seconds for a request's line and headers to arrive (408 request_timeout)",
            metavar="SECONDS",
        ),
    )
    body_timeout: int = field(
        default=30,
        metadata=_row(
            _whole_number(3600, "seconds"),
            "seconds for a request's body to arrive after its head (408 request_timeout)",
            metavar="SECONDS",
        ),
    )
    idle_timeout: int = field(
        default=5,
        metadata=_row(
            _whole_number(3600, "seconds"), "seconds an idle keep-alive connection stays open", metavar="SECONDS"
        ),
    )
    max_connections: int = field(
        default=1000,
        metadata=_row(
            _whole_number(unit="connections"),
            "most open connections; the next one gets 503 server_busy and is closed",
            metavar="N",
        ),
    )
    state: str = field(
        default="memory",
        metadata=_row(
            _state,
            "where state is kept: memory, sqlite:///PATH (a file, kept across restarts), "
            "or redis://HOST:PORT/DB[?namespace=NAME] (shared by processes; see mock-server --docs state)",
            metavar="BACKEND",
        ),
    )

    state_timeout: float = field(
        default=2.0,
        metadata=_row(
            _timeout,
            "seconds a request waits for a busy or unreachable --state (sqlite or redis) before it answers 503",
            metavar="SECONDS",
        ),
    )
    sandbox_ttl: int = field(
        default=3600,
        metadata=_row(
            _whole_number(31 * 86400, "seconds", least=1),
            "seconds a named sandbox may stay idle before it is dropped",
            metavar="SECONDS",
        ),
    )
    max_sandboxes: int = field(
        default=10_000,
        metadata=_row(
            _whole_number(1_000_000, "sandboxes"),
            "most named sandboxes at once; past it 429 sandbox_limit_reached",
            metavar="N",
        ),
    )
    watch: bool = field(
        default=False,
        metadata=_row(
            _switch,
            "read --fixtures again when its files change: new sandboxes and resets use them, stored state stays",
            shown="off",
        ),
    )
    clock_start: dt.datetime | None = field(
        default=None,
        metadata=_row(
            _instant,
            "freeze the clock at this date-time (it then moves only when advanced): runs repeat to the byte",
            shown="real time",
            metavar="DATETIME",
        ),
    )

    workers: int = field(
        default=1,
        metadata=_row(
            _workers,
            "processes serving the one port; more than 1 needs a shared --state (sqlite or redis)",
            metavar="N",
        ),
    )

    proxy: str | None = field(
        default=None,
        metadata=_row(
            _upstream_url,
            "forward the API's operations to the deployment at this URL and judge its answers "
            "(see mock-server --docs proxy)",
            shown="none",
            metavar="URL",
        ),
    )
    proxy_strict: bool = field(
        default=False,
        metadata=_row(
            _switch, "with --proxy: an answer that breaks the contract becomes 502 contract_violation", shown="off"
        ),
    )
    proxy_timeout: int = field(
        default=10,
        metadata=_row(
            _seconds,
            "with --proxy: seconds to connect to the deployment, and for its answer (502 provider_error after)",
            metavar="SECONDS",
        ),
    )
    proxy_max_answer_bytes: int = field(
        default=16 * 1024 * 1024,
        metadata=_row(
            _answer_bytes,
            "with --proxy: largest answer body taken from the deployment, in bytes once decoded "
            "(502 provider_error above)",
            metavar="BYTES",
        ),
    )
    proxy_max_judged_bytes: int = field(
        default=256 * 1024,
        metadata=_row(
            _answer_bytes,
            "with --proxy: largest answer body judged and recorded, in bytes; a larger one passes unjudged",
            metavar="BYTES",
        ),
    )
    proxy_ca_file: Path | None = field(
        default=None,
        metadata=_row(
            _ca_file,
            "with --proxy: PEM certificates to trust for the deployment, besides the system's (an internal CA)",
            shown="none",
            metavar="FILE",
        ),
    )
    record: Path | None = field(
        default=None,
        metadata=_row(
            _optional_path,
            "with --proxy: write the 2xx answers seen as fixtures in this folder (see mock-server --docs recording)",
            shown="none",
            metavar="DIR",
        ),
    )
    drift_report: Path | None = field(
        default=None,
        metadata=_row(
            _drift_report,
            "with --proxy: write the drift report (what the deployment did that the document does not say) "
            "to this .json or .md file at shutdown and on POST /__mock__/drift/save",
            shown="none",
            metavar="FILE",
        ),
    )
    fail_on_drift: bool = field(
        default=False,
        metadata=_row(
            _switch,
            "with --proxy: at shutdown (SIGTERM or Ctrl-C too), print the drift summary and exit 1 "
            "if an answer violated the contract",
            shown="off",
        ),
    )
    max_fixture_bytes: int = field(
        default=MAX_FIXTURE_BYTES,
        metadata=_row(
            _whole_number(unit="bytes"),
            "largest fixture file read, in bytes (organizations.yaml, prices.yaml)",
            metavar="BYTES",
        ),
    )
    sources: dataclasses.InitVar[Mapping[str, str] | None] = None
    """Where each value came from, by field name: its flag or its variable (:meth:`from_env` fills it)."""

    def __post_init__(self, sources: Mapping[str, str] | None) -> None:
        object.__setattr__(self, "_sources", dict(sources or {}))
        for name in ("proxy_strict", "proxy_ca_file", "record", "drift_report", "fail_on_drift"):
            if getattr(self, name) and self.proxy is None:
                raise ConfigError(
                    f"{self.named(name)} needs --proxy URL (or MOCK_SERVER_PROXY): it acts on a deployment's answers"
                )
        if self.record is not None and self.workers > 1:
            raise ConfigError(
                f"{self.named('record')} with {self.given('workers')}: one process writes a recording; "
                "record with one worker, then serve the folder with as many as you like"
            )
        for name in ("drift_report", "fail_on_drift"):
            if getattr(self, name) and self.workers > 1:
                raise ConfigError(
                    f"{self.named(name)} with {self.given('workers')}: the drift report lives in one process; "
                    "proxy with one worker"
                )
        if self.workers > 1 and self.state == "memory":
            raise ConfigError(
                f"{self.given('workers')} needs a shared --state, sqlite:///PATH or "
                "redis://HOST:PORT/DB: with memory each worker would be a world of its own"
            )

    def named(self, name: str) -> str:
        """The flag or the variable the value of the field ``name`` came from (the flag for a default)."""
        sources: dict[str, str] = self.__dict__["_sources"]
        return sources.get(name) or _flag(name)

    def given(self, name: str) -> str:
        """The field ``name`` as it was given: ``--workers 2`` or ``MOCK_SERVER_WORKERS=2``."""
        source = self.named(name)
        return f"{source} {getattr(self, name)}" if source.startswith("--") else f"{source}={getattr(self, name)}"

    @property
    def admin_open(self) -> bool:
        """The /__mock__/ routes need no token while the server listens on loopback."""
        return is_loopback(self.host)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """``MOCK_SERVER_*`` over the defaults; ``overrides`` (parsed flags, None for unset) over both."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for setting in SETTINGS:
            if setting.env in env:
                values[setting.name] = setting.parse(env[setting.env], setting.env)
                sources[setting.name] = setting.env
        for name, value in overrides.items():
            if value is not None:
                values[name] = value
                sources[name] = _flag(name)
        return cls(**values, sources=sources)


@dataclasses.dataclass(frozen=True)
class Setting:
    """One row of the table, with the names derived from it."""

    name: str
    default: Any
    parser: Parser
    help: str
    shown_default: str
    metavar: str
    """The placeholder of the value in ``--help``: ``N``, ``URL``, ``SECONDS``... (a switch has none)."""

    @property
    def is_switch(self) -> bool:
        """Off by default, on with the flag alone (``--proxy-strict``) or a true/false variable."""
        return self.default is False

    @property
    def flag(self) -> str:
        return _flag(self.name)

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, raw: str, source: str | None = None) -> Any:
        """The value of ``raw``; ``source`` (the flag or variable it came from) names it in errors."""
        return self.parser(source or self.env, raw)


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(
        row.name,
        row.default,
        row.metadata["parse"],
        row.metadata["help"],
        row.metadata["shown"] or str(row.default),
        row.metadata["metavar"],
    )
    for row in dataclasses.fields(Settings)
)
