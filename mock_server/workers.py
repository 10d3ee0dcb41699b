"""``--workers N``: N processes serving one port (pre-fork).

The parent binds and listens, then forks the workers; each builds its own app
(its own connection to the state) and runs uvicorn on an inherited socket. On
Linux each worker listens on a socket of its own on the one port
(``SO_REUSEPORT``), and the kernel spreads new connections over them by a hash
of the client's address and port: with one shared socket, the worker that wakes
first accepts every connection waiting, and ten connections opened at once
often all land on one worker. Elsewhere the workers share the one socket. The
parent only waits: a SIGINT or SIGTERM stops every worker, and so does one
worker stopping.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from types import FrameType

__all__ = ["SPREAD", "bind", "listeners", "run_workers"]

SPREAD = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
"""Whether each worker gets a socket of its own (set ``SO_REUSEPORT`` on the first before it is bound)."""


def bind(sock: socket.socket, address: tuple[str, int], workers: int) -> None:
    """Bind ``sock``; for several workers where :data:`SPREAD`, with ``SO_REUSEPORT``, once a plain bind
    of ``address`` has shown no other process holds it (with ``SO_REUSEPORT`` alone, this one would join
    another's sockets on the port, with no error)."""
    if workers > 1 and SPREAD:
        if address[1]:
            with socket.socket(sock.family, sock.type, sock.proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(address)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)


def listeners(sock: socket.socket, workers: int) -> list[socket.socket]:
    """A listening socket per worker on ``sock``'s address: ``sock`` and ``workers - 1`` more, or ``sock``
    for each where the kernel does not spread connections."""
    if not SPREAD:
        return [sock] * workers
    found = [sock]
    for _ in range(workers - 1):
        more = socket.socket(sock.family, sock.type, sock.proto)
        more.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        more.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        more.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        more.bind(sock.getsockname())
        more.listen(2048)
        found.append(more)
    return found


def _worker(serve: Callable[[], None]) -> int:
    try:
        serve()
    except KeyboardInterrupt:
        pass
    except BaseException:  # a worker must never return into the parent's code
        traceback.print_exc()
        return 1
    return 0


def run_workers(sockets: list[socket.socket], serve: Callable[[socket.socket], None]) -> int:
    """Fork a process per socket that calls ``serve(socket)``; 0 once all stopped cleanly."""
    children: set[int] = set()
    for sock in sockets:
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (runs in the child)
            for other in sockets:
                if other is not sock:
                    other.close()
            os._exit(_worker(lambda: serve(sock)))  # noqa: B023 (called before the loop goes on)
        children.add(pid)
    for sock in sockets:
        sock.close()  # the workers hold them now

    def stop(signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failed = False
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        # uvicorn stops gracefully on SIGTERM, then ends by that signal again
        failed |= os.waitstatus_to_exitcode(status) not in (0, -signal.SIGTERM, -signal.SIGINT)
        stop()  # one worker gone: the others go too, rather than serve a part of the load
    return 1 if failed else 0
