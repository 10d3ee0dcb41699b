"""``mock-server`` / ``python -m mock_server``: flags over environment over defaults."""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from billing_contract.commands import CommandParser

from . import __version__, docs, workers
from .settings import SETTINGS, ConfigError, Settings, redact_url

if TYPE_CHECKING:
    from .asgi import MockServer
    from .fixtures import Tenant
    from .store import OrganizationStore

__all__ = ["main", "parse_args"]


class _Docs(argparse.Action):
    """``--docs PAGE`` prints a page the package carries; ``--docs`` alone lists them."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None) -> None:
        if not values:
            sys.stdout.write(f"Pages: {', '.join(docs.pages())} (mock-server --docs PAGE prints one; in {docs.DOCS})\n")
            parser.exit()
        text = docs.read(str(values))
        if text is None:
            parser.error(f"--docs: no page {str(values)[:40]!r}; the pages are {', '.join(docs.pages())}")
        sys.stdout.write(text)
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="mock-server",
        description="A stateful mock of the organization & billing API. "
        "A flag wins over its environment variable, which wins over the default.",
        epilog="mock-server drift-patch REPORT [--spec FILE] [--output FILE]: a drift report (--drift-report) "
        "as a diff that adds to the document what the deployment does and it does not say.",
    )
    for setting in SETTINGS:
        shown = f"{setting.help} (default: {setting.shown_default}; env {setting.env})".replace("%", "%%")
        if setting.is_switch:  # --proxy-strict, or --no-proxy-strict over a variable that says true
            parser.add_argument(setting.flag, dest=setting.name, action=argparse.BooleanOptionalAction, help=shown)
        else:
            parser.add_argument(setting.flag, dest=setting.name, metavar=setting.metavar, help=shown)
    parser.add_argument(
        "--docs",
        nargs="?",
        const="",
        metavar="PAGE",
        action=_Docs,
        help="print a page of the docs (alone: list the pages)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def parse_args(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Settings from flags, then ``MOCK_SERVER_*``, then defaults. Exits 2 on a bad value."""
    parser = _parser()
    namespace = parser.parse_args(argv)
    try:
        overrides: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = getattr(namespace, setting.name)
            if isinstance(raw, bool):  # a switch
                raw = str(raw).lower()
            if raw is not None:
                overrides[setting.name] = setting.parse(raw, setting.flag)
        return Settings.from_env(environ, **overrides)
    except ConfigError as error:
        parser.error(str(error))
    raise AssertionError("unreachable")


def restored(store: OrganizationStore) -> str:
    """What the state held when the server started: nothing for a fresh state, else what a request will meet."""
    world = store.world()
    changed = len(world.organizations())
    sessions = world.sessions()
    open_sessions = sum(1 for session in sessions.values() if session.get("status") == "open")
    sticky = world.stickies()
    sandboxes = len(store.state.sandboxes())
    offset = world.clock_offset()
    parts = [
        f"{count} {what}{'' if count == 1 else 's'}"
        for count, what in (
            (changed, "changed organization"),
            (len(sessions), "checkout session"),
            (sandboxes, "named sandbox"),
        )
        if count
    ]
    if open_sessions:
        parts.append(f"{open_sessions} of them open" if len(sessions) > open_sessions else "all open")
    if offset:
        parts.append(f"the clock {offset} ahead")
    parts += [
        f"STICKY: {organization_id} answers every call with {status}" for organization_id, status in sticky.items()
    ]
    return "restored: " + ", ".join(parts) if parts else "nothing stored: every organization as the fixtures say"


def _banner(settings: Settings, port: int, tenants: Iterable[Tenant], state: str = "") -> str:
    """What the server prints when it listens: its addresses, the keys of ``tenants`` (the store's), and what
    the state held (``state``, :func:`restored`)."""
    tenants = list(tenants)
    demo_keys = [(tenant.api_key, tenant.description) for tenant in tenants if tenant.label != "generated"]
    if settings.generate:
        demo_keys.append((f"sk_test_gen_1..{settings.generate}", f"generated with seed {settings.seed}"))
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    base = f"http://{host}:{port}"
    lines = [
        f"org-billing-mock {__version__} listening on {base}",
        f"  Dashboard:             {base}/__mock__/",
        f"  API docs (Swagger UI): {base}/ui/",
        f"  OpenAPI document:      {base}/openapi.yaml",
        f"  Mock control:          {base}/__mock__/health, /__mock__/requests, POST /__mock__/reset",
        f"  State:                 {redact_url(settings.state)}" + (f" ({state})" if state else ""),
    ]
    if settings.proxy:  # the deployment's credentials, not the demo keys
        strict = "; --proxy-strict: a violation is a 502" if settings.proxy_strict else ""
        recorded = [f"  Recording 2xx answers in {settings.record}"] if settings.record else []
        saved = f", written to {settings.drift_report} at shutdown" if settings.drift_report else ""
        failing = "; --fail-on-drift: exit 1 if an answer violated it" if settings.fail_on_drift else ""
        recorded.append(f"  Drift report: {base}/__mock__/drift{saved}{failing}")
        lines += [
            f"  Proxying to {settings.proxy}: GET /account/organization and POST /billing, with the caller's",
            f"  credentials; answers judged against the contract (X-Contract-Violation{strict})",
            *recorded,
            f'  Try: curl -H "Authorization: Bearer $YOUR_KEY" {base}/account/organization',
        ]
    else:
        lines += [
            "  Demo bearer keys:" if demo_keys else "  No organizations in the fixtures: every call answers 401",
            *(f"    {key:<28} {label}" for key, label in demo_keys),
        ]
        if tenants:  # a key the mock accepts: the first organization's
            lines.append(f"  Try: curl -H 'Authorization: Bearer {tenants[0].api_key}' {base}/account/organization")
    lines.append("  Ctrl-C stops the server.")
    if settings.host.strip("[]") in ("0.0.0.0", "::") and not settings.allowed_hosts:  # noqa: S104
        lines.insert(1, "  Served by IP address; for a host name, add it with --allowed-hosts NAME[,NAME...]")
    return "\n".join(lines)


def _interrupted(signum: int, frame: Any) -> None:
    """SIGTERM as Ctrl-C: a normal stop (exit 0, not 143). uvicorn stops gracefully on either, then raises it
    again once its own handlers are gone; this one turns that into the KeyboardInterrupt a stop ends with."""
    raise KeyboardInterrupt


def _serve(app: MockServer, settings: Settings, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until Ctrl-C or SIGTERM, then close its state."""
    import uvicorn

    from .server import Limits, protocol

    limits = Limits(
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_connections=settings.max_connections,
    )
    config = uvicorn.Config(
        app,
        loop="auto",  # uvloop where it is installed (uvicorn[standard])
        http=protocol(limits),
        ws="none",  # the API has no WebSocket: an Upgrade header is an ordinary request
        timeout_keep_alive=settings.idle_timeout,
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=3,
    )
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        uvicorn.Server(config).run(sockets=[sock])  # not asyncio.run(server.serve()): that ignores the loop setting
    except KeyboardInterrupt:
        pass
    finally:
        app.services.store.close()


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["drift-patch"]:
        from .drift_command import main as drift_patch

        return drift_patch(given[1:])
    settings = parse_args(argv)

    import gc

    from .app import create_app
    from .drift import verdict_at_exit
    from .logs import configure_logging

    configure_logging(settings.log_format)
    try:
        app = create_app(settings)
    except ConfigError as error:
        print(f"mock-server: error: {error}", file=sys.stderr)
        return 2

    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on sockets that say they are TCP; without it
    # every keep-alive answer waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        workers.bind(sock, (settings.host, settings.port), settings.workers)
        # Listen before the banner says so: a client that starts on the banner is queued by the
        # kernel until the loop accepts, never refused.
        sock.listen(2048)
    except OSError as error:
        where = f"{settings.host}:{settings.port}"
        print(f"mock-server: error: cannot listen on {where}: {error.strerror}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    banner = _banner(settings, port, app.services.store, restored(app.services.store))
    # The app, the spec and the store live as long as the process: out of the collector's way,
    # a full collection no longer walks them (a pause of tens of ms with --generate).
    gc.collect()
    gc.freeze()
    if settings.workers == 1:
        signal.signal(signal.SIGTERM, _interrupted)  # from here on, not only once uvicorn runs
        try:
            print(banner, flush=True)
            _serve(app, settings, sock)
        except KeyboardInterrupt:  # before uvicorn ran
            app.services.store.close()
        if verdict_at_exit(app.services):  # --fail-on-drift, and an answer violated the contract
            print("org-billing-mock stopped: the deployment's answers violated the contract.", flush=True)
            return 1
    else:

        def work(worker_sock: socket.socket) -> None:
            worker_app = create_app(settings)
            gc.collect()
            gc.freeze()
            _serve(worker_app, settings, worker_sock)

        app.services.store.close()  # each worker opens its own connection to the state
        sockets = workers.listeners(sock, settings.workers)
        print(banner + f"\n  {settings.workers} worker processes.", flush=True)
        if workers.run_workers(sockets, work) != 0:
            print("mock-server: error: a worker stopped; the others were stopped too", file=sys.stderr)
            return 1
    print("org-billing-mock stopped.", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
