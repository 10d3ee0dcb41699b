"""The Redis state: shared by every mock-server process that names the same server and namespace.

Every change is one Lua script, which Redis runs alone: a compare-and-set of an
organization, paying a session once, the session cap, the log with its trim.
Keys are ``mock:{namespace}:{generation}:...``; a reset increments the generation
(``mock:{namespace}:gen``) in the same script that drops the old keys (UNLINK frees
them off the main thread), so it is one step whatever was stored. Values are JSON
with sorted keys, so a compare-and-set compares strings.

What every request reads (organizations, sticky scenarios, the clock's offset) is
kept in this process until Redis says it changed (:mod:`.redis_cache`), and log
entries are sent without waiting for an answer (:mod:`.redis_log`): a request
that changes nothing makes no round trip to Redis.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson
import redis

from .base import MAX_SESSIONS, REQUEST_LOG_SIZE, Completion, Organization
from .redis_cache import TrackedReads
from .redis_log import LogWriter

__all__ = ["RedisState"]

_KEYS = ("org", "sessions", "order", "seq", "sticky", "clock", "log")
# Every script starts from the current generation: p is the prefix of its keys.
_PRELUDE = "local p = KEYS[1] .. ':' .. (redis.call('GET', KEYS[1] .. ':gen') or '0') .. ':'\n"
_SCRIPTS = {
    "get": "return redis.call('HGET', p .. ARGV[1], ARGV[2])",
    "all": "return redis.call('HGETALL', p .. ARGV[1])",
    "swap": """
local stored = redis.call('HGET', p .. 'org', ARGV[1])
if (stored or '') ~= ARGV[2] then return 0 end
redis.call('HSET', p .. 'org', ARGV[1], ARGV[3])
return 1""",
    "add_session": """
if not redis.call('ZSCORE', p .. 'order', ARGV[1]) then
  redis.call('ZADD', p .. 'order', redis.call('INCR', p .. 'seq'), ARGV[1])
end
redis.call('HSET', p .. 'sessions', ARGV[1], ARGV[2])
local over = redis.call('ZCARD', p .. 'order') - tonumber(ARGV[3])
if over > 0 then
  for _, old in ipairs(redis.call('ZRANGE', p .. 'order', 0, over - 1)) do
    redis.call('HDEL', p .. 'sessions', old)
  end
  redis.call('ZREMRANGEBYRANK', p .. 'order', 0, over - 1)
end""",
    "sessions": """
local bodies = {}
for i, id in ipairs(redis.call(ARGV[1], p .. 'order', 0, tonumber(ARGV[2]))) do
  bodies[i] = redis.call('HGET', p .. 'sessions', id)
end
return bodies""",
    "complete": """
local stored = redis.call('HGET', p .. 'sessions', ARGV[1])
if not stored or cjson.decode(stored)['status'] ~= 'open' then return 'closed' end
if (redis.call('HGET', p .. 'org', ARGV[3]) or '') ~= ARGV[4] then return 'stale' end
redis.call('HSET', p .. 'org', ARGV[3], ARGV[5])
redis.call('HSET', p .. 'sessions', ARGV[1], ARGV[2])
return 'paid'""",
    "set_sticky": """
if ARGV[2] == '' then return redis.call('HDEL', p .. 'sticky', ARGV[1]) end
return redis.call('HSET', p .. 'sticky', ARGV[1], ARGV[2])""",
    "advance": "return redis.call('INCRBY', p .. 'clock', ARGV[1])",
    "log": """
redis.call('LPUSH', p .. 'log', unpack(ARGV, 2))
return redis.call('LTRIM', p .. 'log', 0, tonumber(ARGV[1]) - 1)""",
    "recent": "return redis.call('LRANGE', p .. 'log', 0, tonumber(ARGV[1]) - 1)",
    "reset": f"""
local names = {{{", ".join(f"'{name}'" for name in _KEYS)}}}
for _, name in ipairs(names) do redis.call('UNLINK', p .. name) end
return redis.call('INCR', KEYS[1] .. ':gen')""",
}


def _dump(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _expected(value: Organization | None) -> bytes:
    return b"" if value is None else _dump(value)


class RedisState:
    def __init__(
        self,
        client: redis.Redis,
        namespace: str = "default",
        max_sessions: int = MAX_SESSIONS,
        log_size: int = REQUEST_LOG_SIZE,
    ) -> None:
        self.max_sessions = max_sessions
        self.namespace = namespace
        self._log_size = log_size
        self._client = client
        self._prefix = f"mock:{namespace}"
        self._scripts = {name: client.register_script(_PRELUDE + body) for name, body in _SCRIPTS.items()}
        self._reads = TrackedReads(client.connection_pool, self._prefix)
        self._log = LogWriter(client.connection_pool, _PRELUDE + _SCRIPTS["log"], self._prefix, log_size)

    def _run(self, name: str, *args: Any) -> Any:
        return self._scripts[name](keys=[self._prefix], args=args)

    def _change(self, name: str, *args: Any) -> Any:
        """Run the script ``name``, then drop what this process kept: it may be what the script changed."""
        try:
            return self._run(name, *args)
        finally:
            self._reads.forget()

    # organizations ------------------------------------------------------------

    def organization(self, organization_id: str) -> Organization | None:
        organization: Organization | None = self._reads.read("org", organization_id, orjson.loads)
        return organization

    def swap_organization(self, organization_id: str, expected: Organization | None, new: Organization) -> bool:
        return bool(self._change("swap", organization_id, _expected(expected), _dump(new)))

    # checkout sessions --------------------------------------------------------

    def session(self, session_id: str) -> dict[str, Any] | None:
        body = self._run("get", "sessions", session_id)
        return None if body is None else orjson.loads(body)

    def add_session(self, session: dict[str, Any]) -> None:
        self._run("add_session", session["id"], _dump(session), self.max_sessions)

    def sessions(self) -> dict[str, dict[str, Any]]:
        bodies = self._run("sessions", "ZRANGE", -1)
        return {session["id"]: session for session in map(orjson.loads, bodies)}

    def recent_sessions(self, count: int) -> list[dict[str, Any]]:
        if count <= 0:
            return []
        return [orjson.loads(body) for body in self._run("sessions", "ZREVRANGE", count - 1)]

    def complete_session(
        self, session: dict[str, Any], organization_id: str, expected: Organization | None, new: Organization
    ) -> Completion:
        done = self._change("complete", session["id"], _dump(session), organization_id, _expected(expected), _dump(new))
        completion: Completion = done.decode()
        return completion

    # sticky scenarios ---------------------------------------------------------

    def sticky(self, organization_id: str) -> int | None:
        return self._reads.read("sticky", organization_id, int)

    def stickies(self) -> dict[str, int]:
        flat = self._run("all", "sticky")
        return dict(sorted((name.decode(), int(status)) for name, status in zip(flat[::2], flat[1::2], strict=True)))

    def set_sticky(self, organization_id: str, status: int | None) -> None:
        self._change("set_sticky", organization_id, "" if status is None else status)

    # the clock's offset -------------------------------------------------------

    def clock_offset(self) -> dt.timedelta:
        return dt.timedelta(microseconds=self._reads.read("clock", None, int) or 0)

    def advance_clock(self, delta: dt.timedelta) -> None:
        self._change("advance", delta // dt.timedelta(microseconds=1))

    # the request log ----------------------------------------------------------

    def log(self, entry: dict[str, Any]) -> None:
        self._log.add(_dump(entry))

    def recent(self, count: int) -> list[dict[str, Any]]:
        if count <= 0:
            return []
        self._log.sync()  # every entry this process added is in the log
        return [orjson.loads(body) for body in reversed(self._run("recent", count))]

    # everything ---------------------------------------------------------------

    def reset(self, before_commit: Callable[[], object] | None = None) -> None:
        # The reset is one script that cannot fail halfway; the last step runs just before it,
        # so a failure there leaves everything as it was.
        self._log.sync()  # the entries added before go with the rest
        if before_commit is not None:
            before_commit()
        self._change("reset")

    def close(self) -> None:
        self._reads.close()
        self._log.close()
        self._client.close()
