"""The Redis state: shared by every mock-server process that names the same server and namespace.

Every change is one Lua script, which Redis runs alone: a compare-and-set of an
organization, paying a session once, the session cap, the log with its trim,
creating a sandbox within the limit. A sandbox's keys are
``{prefix}:{generation}:...``, its prefix ``mock:{namespace}`` for the default
sandbox and ``mock:{namespace}:sbx:{name}`` for a named one; a reset increments the
sandbox's generation (``{prefix}:gen``) in the same script that drops the old keys
(UNLINK frees them off the main thread), so it is one step whatever was stored.
The named sandboxes are listed under ``mock:{namespace}:sandboxes`` (and
``:sandbox-use``, ``:sandbox-tokens``). Values are JSON with sorted keys, so a
compare-and-set compares strings.

What every request reads (organizations, sticky scenarios, the clock's offset) is
kept in this process until Redis says it changed (:mod:`.redis_cache`), and log
entries are sent without waiting for an answer (:mod:`.redis_log`): a request that
changes nothing makes no round trip to Redis.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import redis

from .base import (
    DEFAULT,
    MAX_SESSIONS,
    MISS,
    REQUEST_LOG_SIZE,
    SANDBOX_LOG_SIZE,
    SANDBOX_SESSIONS,
    Completion,
    Created,
    Organization,
    SandboxInfo,
)
from .redis_cache import TrackedReads
from .redis_log import LogWriter

__all__ = ["RedisState", "RedisWorld"]

_KEYS = ("org", "sessions", "order", "seq", "sticky", "clock", "log")
# Every world script starts from its sandbox's current generation: p is the prefix of its keys.
_PRELUDE = "local p = KEYS[1] .. ':' .. (redis.call('GET', KEYS[1] .. ':gen') or '0') .. ':'\n"
_WORLD = {
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
    "count": "return redis.call('ZCARD', p .. 'order')",
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
# The registry of named sandboxes; KEYS[1] is mock:{namespace}. drop(name) forgets one and its keys.
_DROP = f"""
local function drop(name)
  local w = KEYS[1] .. ':sbx:' .. name
  local g = w .. ':' .. (redis.call('GET', w .. ':gen') or '0') .. ':'
  for _, key in ipairs({{{", ".join(f"'{name}'" for name in _KEYS)}}}) do redis.call('UNLINK', g .. key) end
  redis.call('UNLINK', w .. ':gen')
  local info = redis.call('HGET', KEYS[1] .. ':sandboxes', name)
  if info then
    local token = cjson.decode(info)['token']
    if token and token ~= cjson.null then redis.call('HDEL', KEYS[1] .. ':sandbox-tokens', token) end
  end
  redis.call('ZREM', KEYS[1] .. ':sandbox-use', name)
  return redis.call('HDEL', KEYS[1] .. ':sandboxes', name)
end
"""
_REGISTRY = {
    "create": _DROP
    + """
if redis.call('HEXISTS', KEYS[1] .. ':sandboxes', ARGV[1]) == 1 then return 'exists' end
for _, idle in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1] .. ':sandbox-use', '-inf', '(' .. ARGV[5])) do
  drop(idle)
end
if redis.call('HLEN', KEYS[1] .. ':sandboxes') >= tonumber(ARGV[4]) then return 'full' end
drop(ARGV[1])
redis.call('HSET', KEYS[1] .. ':sandboxes', ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1] .. ':sandbox-use', ARGV[3], ARGV[1])
local token = cjson.decode(ARGV[2])['token']
if token and token ~= cjson.null then redis.call('HSET', KEYS[1] .. ':sandbox-tokens', token, ARGV[1]) end
return 'created'""",
    "touch": """
local info = redis.call('HGET', KEYS[1] .. ':sandboxes', ARGV[1])
if not info then return 0 end
local data = cjson.decode(info)
if tonumber(ARGV[2]) > data['last_used'] then
  data['last_used'] = tonumber(ARGV[2])
  redis.call('HSET', KEYS[1] .. ':sandboxes', ARGV[1], cjson.encode(data))
  redis.call('ZADD', KEYS[1] .. ':sandbox-use', ARGV[2], ARGV[1])
end
return 1""",
    "drop": _DROP + "return drop(ARGV[1])",
}


def _dump(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _info(name: str, data: dict[str, Any]) -> SandboxInfo:
    return SandboxInfo(name, data["created"], data["last_used"], data.get("token"))


def _expected(value: Organization | None) -> bytes:
    return b"" if value is None else _dump(value)


class RedisState:
    blocking = True

    def __init__(self, client: redis.Redis, namespace: str = "default", max_sessions: int = MAX_SESSIONS) -> None:
        self.max_sessions = max_sessions
        self.namespace = namespace
        self._client: Any = client  # redis-py's synchronous client (typed as sync or async)
        self.prefix = f"mock:{namespace}"
        self._world_scripts = {name: client.register_script(_PRELUDE + body) for name, body in _WORLD.items()}
        self._registry = {name: client.register_script(body) for name, body in _REGISTRY.items()}
        self.reads = TrackedReads(client)
        self.writer = LogWriter(client.connection_pool, _PRELUDE + _WORLD["log"])

    def prefix_of(self, sandbox: str) -> str:
        return self.prefix if sandbox == DEFAULT else f"{self.prefix}:sbx:{sandbox}"

    def world(self, sandbox: str) -> RedisWorld:
        return RedisWorld(self, sandbox)

    def run(self, prefix: str, name: str, *args: Any) -> Any:
        return self._world_scripts[name](keys=[prefix], args=args)

    def change(self, prefix: str, name: str, *args: Any) -> Any:
        """Run the script ``name``, then drop what this process kept: it may be what the script changed."""
        try:
            return self.run(prefix, name, *args)
        finally:
            self.reads.forget()

    _PEEKS = {"organization": ("org", orjson.loads), "sticky": ("sticky", int), "clock_offset": ("clock", int)}

    def peek(self, sandbox: str, read: str, *args: Any) -> Any:
        if read == "sandbox":
            data = self.reads.peek_key(f"{self.prefix}:sandboxes", args[0])
            return data if data is MISS or data is None else _info(args[0], data)
        if read == "sandbox_by_token":
            name = self.reads.peek_key(f"{self.prefix}:sandbox-tokens", args[0])
            return name if name is MISS or name is None else name.decode()
        found = self._PEEKS.get(read)
        if found is None:
            return MISS
        value = self.reads.peek(self.prefix_of(sandbox), found[0], args[0] if args else None)
        if value is MISS or read != "clock_offset":
            return value
        return dt.timedelta(microseconds=value or 0)

    def log_many(self, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Entries of several sandboxes' logs (``(sandbox, entry)``, oldest first), sent without waiting."""
        grouped: dict[str, list[bytes]] = defaultdict(list)
        for sandbox, entry in entries:
            grouped[sandbox].append(_dump(entry))
        sizes = {sandbox: self.world(sandbox).log_size for sandbox in grouped}
        self.writer.send((self.prefix_of(sandbox), sizes[sandbox], batch) for sandbox, batch in grouped.items())

    # named sandboxes ------------------------------------------------------------

    def sandbox(self, name: str) -> SandboxInfo | None:
        data = self.reads.read_key(f"{self.prefix}:sandboxes", name, orjson.loads)
        return None if data is None else _info(name, data)

    def sandboxes(self) -> list[SandboxInfo]:
        found = self._client.hgetall(f"{self.prefix}:sandboxes")
        infos = [_info(name.decode(), orjson.loads(data)) for name, data in found.items()]
        return sorted(infos, key=lambda info: (info.created, info.name))

    def sandbox_by_token(self, token: str) -> str | None:
        name = self.reads.read_key(f"{self.prefix}:sandbox-tokens", token, bytes)
        return None if name is None else name.decode()

    def create_sandbox(self, info: SandboxInfo, most: int, idle_before: float) -> Created:
        data = _dump({"created": info.created, "last_used": info.last_used, "token": info.token})
        done = self._registry["create"](keys=[self.prefix], args=[info.name, data, info.last_used, most, idle_before])
        self.reads.forget()
        created: Created = done.decode()
        return created

    def touch_sandbox(self, name: str, when: float) -> bool:
        try:
            return bool(self._registry["touch"](keys=[self.prefix], args=[name, repr(when)]))
        finally:
            self.reads.forget()

    def drop_sandbox(self, name: str) -> bool:
        try:
            return bool(self._registry["drop"](keys=[self.prefix], args=[name]))
        finally:
            self.reads.forget()

    def clock_start(self, proposed: dt.datetime) -> dt.datetime:
        key = f"{self.prefix}:clock-start"
        self._client.set(key, proposed.isoformat(), nx=True)
        stored = self._client.get(key)
        return dt.datetime.fromisoformat(stored.decode()) if stored else proposed

    def close(self) -> None:
        self.reads.close()
        self.writer.close()
        self._client.close()


class RedisWorld:
    def __init__(self, state: RedisState, sandbox: str) -> None:
        self._state = state
        self._sandbox = sandbox
        self._prefix = state.prefix_of(sandbox)
        named = sandbox != DEFAULT
        self.max_sessions = SANDBOX_SESSIONS if named else state.max_sessions
        self.log_size = SANDBOX_LOG_SIZE if named else REQUEST_LOG_SIZE

    def _run(self, name: str, *args: Any) -> Any:
        return self._state.run(self._prefix, name, *args)

    def _change(self, name: str, *args: Any) -> Any:
        return self._state.change(self._prefix, name, *args)

    # organizations ------------------------------------------------------------

    def organization(self, organization_id: str) -> Organization | None:
        organization: Organization | None = self._state.reads.read(self._prefix, "org", organization_id, orjson.loads)
        return organization

    def swap_organization(self, organization_id: str, expected: Organization | None, new: Organization) -> bool:
        return bool(self._change("swap", organization_id, _expected(expected), _dump(new)))

    def organizations(self) -> dict[str, Organization]:
        flat = self._run("all", "org")
        return {name.decode(): orjson.loads(body) for name, body in zip(flat[::2], flat[1::2], strict=True)}

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

    def session_count(self) -> int:
        return int(self._run("count"))

    def complete_session(
        self, session: dict[str, Any], organization_id: str, expected: Organization | None, new: Organization
    ) -> Completion:
        done = self._change("complete", session["id"], _dump(session), organization_id, _expected(expected), _dump(new))
        completion: Completion = done.decode()
        return completion

    # sticky scenarios ---------------------------------------------------------

    def sticky(self, organization_id: str) -> int | None:
        return self._state.reads.read(self._prefix, "sticky", organization_id, int)

    def stickies(self) -> dict[str, int]:
        flat = self._run("all", "sticky")
        return dict(sorted((name.decode(), int(status)) for name, status in zip(flat[::2], flat[1::2], strict=True)))

    def set_sticky(self, organization_id: str, status: int | None) -> None:
        self._change("set_sticky", organization_id, "" if status is None else status)

    # the clock's offset -------------------------------------------------------

    def clock_offset(self) -> dt.timedelta:
        return dt.timedelta(microseconds=self._state.reads.read(self._prefix, "clock", None, int) or 0)

    def advance_clock(self, delta: dt.timedelta) -> dt.timedelta:
        return dt.timedelta(microseconds=int(self._change("advance", delta // dt.timedelta(microseconds=1))))

    # the request log ----------------------------------------------------------

    def log(self, entry: dict[str, Any]) -> None:
        self._state.log_many([(self._sandbox, entry)])

    def recent(self, count: int) -> list[dict[str, Any]]:
        if count <= 0:
            return []
        self._state.writer.sync()  # every entry this process sent is in the log
        return [orjson.loads(body) for body in reversed(self._run("recent", count))]

    # everything ---------------------------------------------------------------

    def reset(self, before_commit: Callable[[], object] | None = None) -> None:
        # The reset is one script that cannot fail halfway; the last step runs just before it,
        # so a failure there leaves everything as it was.
        self._state.writer.sync()  # the entries sent before go with the rest
        if before_commit is not None:
            before_commit()
        self._change("reset")
