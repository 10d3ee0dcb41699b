"""``--workers N``: N processes serving one listening socket (pre-fork).

The parent binds and listens, then forks the workers; each builds its own app
(its own connection to the state) and runs uvicorn on the inherited socket, and
the kernel hands each new connection to one of them. The parent only waits: a
SIGINT or SIGTERM stops every worker, and so does one worker stopping.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from types import FrameType

__all__ = ["run_workers"]


def _worker(serve: Callable[[], None]) -> int:
    try:
        serve()
    except KeyboardInterrupt:
        pass
    except BaseException:  # a worker must never return into the parent's code
        traceback.print_exc()
        return 1
    return 0


def run_workers(sock: socket.socket, workers: int, serve: Callable[[], None]) -> int:
    """Fork ``workers`` processes that each call ``serve()`` on ``sock``; 0 once all stopped cleanly."""
    children: set[int] = set()
    for _ in range(workers):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (runs in the child)
            os._exit(_worker(serve))
        children.add(pid)
    sock.close()  # the workers hold it now

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
