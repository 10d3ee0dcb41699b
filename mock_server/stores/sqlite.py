"""The SQLite state: one file, shared by every process that opens it, kept across restarts.

WAL mode: readers never wait for the writer. Every change is one ``BEGIN
IMMEDIATE`` transaction, so two processes on one file take turns, and a
compare-and-set reads and writes under the same write lock. Values are JSON.

The file says it is this mock's (``PRAGMA application_id``, :data:`APPLICATION_ID`);
a database that is not, with tables of its own, is refused before anything is
written to it (:class:`ForeignDatabase`). A file of the layout before sandboxes
is moved to the current one in one transaction.

Calls wait for SQLite's locks at most ``timeout`` seconds; the store makes them
from the state's own thread (``blocking``). :meth:`SqliteState.peek` reads on a
connection of its own that never waits: a read that would wait is a :data:`MISS`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

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

__all__ = ["APPLICATION_ID", "ForeignDatabase", "SqliteState", "SqliteWorld"]

APPLICATION_ID = 0x4F424D4B  # "OBMK": PRAGMA application_id of a state file of this mock
SCHEMA_VERSION = 2  # PRAGMA user_version: 1 was the layout before sandboxes, which set neither
DEFAULT_TIMEOUT = 2.0
_LEGACY_TABLES = {"organizations", "sessions", "sticky", "clock", "requests"}
_SCHEMA = """
CREATE TABLE organizations (sandbox TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (sandbox, id));
CREATE TABLE sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, sandbox TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL,
    body BLOB NOT NULL, UNIQUE (sandbox, id));
CREATE INDEX sessions_by_sandbox ON sessions (sandbox, seq);
CREATE TABLE sticky (sandbox TEXT NOT NULL, id TEXT NOT NULL, status INTEGER NOT NULL, PRIMARY KEY (sandbox, id));
CREATE TABLE clock (sandbox TEXT PRIMARY KEY, offset_us INTEGER NOT NULL);
CREATE TABLE requests (seq INTEGER PRIMARY KEY AUTOINCREMENT, sandbox TEXT NOT NULL, body BLOB NOT NULL);
CREATE INDEX requests_by_sandbox ON requests (sandbox, seq);
CREATE TABLE sandboxes (name TEXT PRIMARY KEY, created REAL NOT NULL, last_used REAL NOT NULL, token TEXT UNIQUE);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_MIGRATE = """
INSERT INTO organizations SELECT 'default', id, body FROM legacy_organizations;
INSERT INTO sessions (seq, sandbox, id, status, body) SELECT seq, 'default', id, status, body FROM legacy_sessions;
INSERT INTO sticky SELECT 'default', id, status FROM legacy_sticky;
INSERT INTO clock SELECT 'default', offset_us FROM legacy_clock;
INSERT INTO requests (seq, sandbox, body) SELECT seq, 'default', body FROM legacy_requests;
"""
_WORLD_TABLES = ("organizations", "sessions", "sticky", "clock", "requests")


class ForeignDatabase(sqlite3.DatabaseError):
    """The file is a database of another application (or of a newer mock): it is left untouched."""


def _dump(value: Any) -> bytes:
    return orjson.dumps(value)


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)


class SqliteState:
    blocking = True

    def __init__(self, path: Path, *, timeout: float = DEFAULT_TIMEOUT, max_sessions: int = MAX_SESSIONS) -> None:
        self.path = path
        self.max_sessions = max_sessions
        # One connection for the calls that may wait (the state's thread, or a test's), used by one thread at
        # a time (the lock); one that never waits, for peek() on the event loop.
        self._lock = threading.Lock()
        self._db = _connect(path, timeout)
        try:
            self._claim()
            self._peeker = _connect(path, 0)
            self._peek_lock = threading.Lock()
        except BaseException:
            self._db.close()
            raise

    def _claim(self) -> None:
        """Check that the file is this mock's (or empty) and bring its layout up to date; nothing else is
        written to a file that is not."""
        db = self._db
        application, version = (
            db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("application_id", "user_version")
        )
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        tables.discard("sqlite_sequence")
        legacy = application == 0 and tables == _LEGACY_TABLES
        if application not in (0, APPLICATION_ID) or (application == 0 and tables and not legacy):
            raise ForeignDatabase("it is not a state file of org-billing-mock (it holds other tables)")
        if application == APPLICATION_ID and version > SCHEMA_VERSION:
            raise ForeignDatabase(f"it was written by a newer org-billing-mock (layout {version})")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if application == APPLICATION_ID and version == SCHEMA_VERSION:
            return
        with self._write() as db:
            if legacy:
                for table in sorted(_LEGACY_TABLES):
                    db.execute(f"ALTER TABLE {table} RENAME TO legacy_{table}")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            if legacy:
                for statement in filter(str.strip, _MIGRATE.split(";")):
                    db.execute(statement)
                for table in sorted(_LEGACY_TABLES):
                    db.execute(f"DROP TABLE legacy_{table}")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, query: str, *parameters: Any) -> Any:
        with self._lock:
            row = self._db.execute(query, parameters).fetchone()
        return None if row is None else row[0]

    def _all(self, query: str, *parameters: Any) -> list[Any]:
        with self._lock:
            return [row[0] for row in self._db.execute(query, parameters)]

    def world(self, sandbox: str) -> SqliteWorld:
        return SqliteWorld(self, sandbox)

    _PEEKS: dict[str, tuple[str, Callable[[Any], Any]]] = {
        "organization": ("SELECT body FROM organizations WHERE sandbox = ? AND id = ?", orjson.loads),
        "sticky": ("SELECT status FROM sticky WHERE sandbox = ? AND id = ?", int),
        "session": ("SELECT body FROM sessions WHERE sandbox = ? AND id = ?", orjson.loads),
    }

    def peek(self, sandbox: str, read: str, *args: Any) -> Any:
        """A read on the connection that never waits: at once from the file (WAL readers do not wait for the
        writer), or :data:`MISS` if SQLite is busy (or another thread is peeking)."""
        if not self._peek_lock.acquire(blocking=False):
            return MISS
        try:
            if read == "sandbox":
                query = "SELECT name, created, last_used, token FROM sandboxes WHERE name = ?"
                found = self._peeker.execute(query, args).fetchone()
                return None if found is None else self._info(found)
            if read == "sandbox_by_token":
                found = self._peeker.execute("SELECT name FROM sandboxes WHERE token = ?", args).fetchone()
                return None if found is None else found[0]
            if read == "clock_offset":
                row = self._peeker.execute("SELECT offset_us FROM clock WHERE sandbox = ?", (sandbox,)).fetchone()
                return dt.timedelta(microseconds=row[0] if row else 0)
            query, convert = self._PEEKS[read]
            row = self._peeker.execute(query, (sandbox, *args)).fetchone()
        except (KeyError, sqlite3.OperationalError):
            return MISS
        finally:
            self._peek_lock.release()
        return None if row is None else convert(row[0])

    def log_many(self, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Entries of several sandboxes' logs (``(sandbox, entry)``, oldest first), in one transaction."""
        with self._write() as db:
            db.executemany(
                "INSERT INTO requests (sandbox, body) VALUES (?, ?)", [(name, _dump(entry)) for name, entry in entries]
            )
            for name in {name for name, _ in entries}:
                db.execute(
                    "DELETE FROM requests WHERE sandbox = ? AND seq <= "
                    "(SELECT seq FROM requests WHERE sandbox = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                    (name, name, self.world(name).log_size),
                )

    # named sandboxes ------------------------------------------------------------

    @staticmethod
    def _info(row: Any) -> SandboxInfo:
        return SandboxInfo(row[0], row[1], row[2], row[3])

    def sandbox(self, name: str) -> SandboxInfo | None:
        with self._lock:
            row = self._db.execute("SELECT name, created, last_used, token FROM sandboxes WHERE name = ?", (name,))
            found = row.fetchone()
        return None if found is None else self._info(found)

    def sandboxes(self) -> list[SandboxInfo]:
        with self._lock:
            rows = self._db.execute("SELECT name, created, last_used, token FROM sandboxes ORDER BY created, name")
            return [self._info(row) for row in rows.fetchall()]

    def sandbox_by_token(self, token: str) -> str | None:
        name: str | None = self._one("SELECT name FROM sandboxes WHERE token = ?", token)
        return name

    def create_sandbox(self, info: SandboxInfo, most: int, idle_before: float) -> Created:
        with self._write() as db:
            if db.execute("SELECT 1 FROM sandboxes WHERE name = ?", (info.name,)).fetchone():
                return "exists"
            for (idle,) in db.execute("SELECT name FROM sandboxes WHERE last_used < ?", (idle_before,)).fetchall():
                self._drop(db, idle)
            if db.execute("SELECT COUNT(*) FROM sandboxes").fetchone()[0] >= most:
                return "full"
            self._drop(db, info.name)  # what an earlier sandbox of that name may have left
            db.execute(
                "INSERT INTO sandboxes VALUES (?, ?, ?, ?)", (info.name, info.created, info.last_used, info.token)
            )
        return "created"

    def touch_sandbox(self, name: str, when: float) -> bool:
        with self._write() as db:
            found = db.execute("UPDATE sandboxes SET last_used = MAX(last_used, ?) WHERE name = ?", (when, name))
            return found.rowcount > 0

    def drop_sandbox(self, name: str) -> bool:
        with self._write() as db:
            return self._drop(db, name)

    @staticmethod
    def _drop(db: sqlite3.Connection, name: str) -> bool:
        for table in _WORLD_TABLES:
            db.execute(f"DELETE FROM {table} WHERE sandbox = ?", (name,))  # noqa: S608 (the names above)
        return db.execute("DELETE FROM sandboxes WHERE name = ?", (name,)).rowcount > 0

    def clock_start(self, proposed: dt.datetime) -> dt.datetime:
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('clock_start', ?)", (proposed.isoformat(),))
            stored = db.execute("SELECT value FROM meta WHERE key = 'clock_start'").fetchone()[0]
        return dt.datetime.fromisoformat(stored)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._peeker.close()


class SqliteWorld:
    """One sandbox's rows: the ``sandbox`` column of every table."""

    def __init__(self, state: SqliteState, sandbox: str) -> None:
        self._state = state
        self._sandbox = sandbox
        named = sandbox != DEFAULT
        self.max_sessions = SANDBOX_SESSIONS if named else state.max_sessions
        self.log_size = SANDBOX_LOG_SIZE if named else REQUEST_LOG_SIZE

    def _one(self, query: str, *parameters: Any) -> Any:
        return self._state._one(query, self._sandbox, *parameters)

    def _all(self, query: str, *parameters: Any) -> list[Any]:
        return self._state._all(query, self._sandbox, *parameters)

    # organizations ------------------------------------------------------------

    def organization(self, organization_id: str) -> Organization | None:
        body = self._one("SELECT body FROM organizations WHERE sandbox = ? AND id = ?", organization_id)
        return None if body is None else orjson.loads(body)

    def _is(self, db: sqlite3.Connection, organization_id: str, expected: Organization | None) -> bool:
        query = "SELECT body FROM organizations WHERE sandbox = ? AND id = ?"
        row = db.execute(query, (self._sandbox, organization_id)).fetchone()
        return (None if row is None else orjson.loads(row[0])) == expected

    def _put(self, db: sqlite3.Connection, organization_id: str, new: Organization) -> None:
        db.execute(
            "INSERT OR REPLACE INTO organizations VALUES (?, ?, ?)", (self._sandbox, organization_id, _dump(new))
        )

    def swap_organization(self, organization_id: str, expected: Organization | None, new: Organization) -> bool:
        with self._state._write() as db:
            if not self._is(db, organization_id, expected):
                return False
            self._put(db, organization_id, new)
        return True

    def organizations(self) -> dict[str, Organization]:
        with self._state._lock:
            rows = self._state._db.execute("SELECT id, body FROM organizations WHERE sandbox = ?", (self._sandbox,))
            return {organization_id: orjson.loads(body) for organization_id, body in rows.fetchall()}

    # checkout sessions --------------------------------------------------------

    def session(self, session_id: str) -> dict[str, Any] | None:
        body = self._one("SELECT body FROM sessions WHERE sandbox = ? AND id = ?", session_id)
        return None if body is None else orjson.loads(body)

    def add_session(self, session: dict[str, Any]) -> None:
        with self._state._write() as db:
            db.execute(
                "INSERT INTO sessions (sandbox, id, status, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (sandbox, id) DO UPDATE SET status = excluded.status, body = excluded.body",
                (self._sandbox, session["id"], session["status"], _dump(session)),
            )
            db.execute(
                "DELETE FROM sessions WHERE sandbox = ? AND seq <= "
                "(SELECT seq FROM sessions WHERE sandbox = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (self._sandbox, self._sandbox, self.max_sessions),
            )

    def sessions(self) -> dict[str, dict[str, Any]]:
        bodies = self._all("SELECT body FROM sessions WHERE sandbox = ? ORDER BY seq")
        return {session["id"]: session for session in map(orjson.loads, bodies)}

    def recent_sessions(self, count: int) -> list[dict[str, Any]]:
        query = "SELECT body FROM sessions WHERE sandbox = ? ORDER BY seq DESC LIMIT ?"
        return [orjson.loads(body) for body in self._all(query, max(count, 0))]

    def session_count(self) -> int:
        count: int = self._one("SELECT COUNT(*) FROM sessions WHERE sandbox = ?")
        return count

    def complete_session(
        self, session: dict[str, Any], organization_id: str, expected: Organization | None, new: Organization
    ) -> Completion:
        with self._state._write() as db:
            row = db.execute(
                "SELECT status FROM sessions WHERE sandbox = ? AND id = ?", (self._sandbox, session["id"])
            ).fetchone()
            if row is None or row[0] != "open":
                return "closed"
            if not self._is(db, organization_id, expected):
                return "stale"
            self._put(db, organization_id, new)
            db.execute(
                "UPDATE sessions SET status = ?, body = ? WHERE sandbox = ? AND id = ?",
                (session["status"], _dump(session), self._sandbox, session["id"]),
            )
        return "paid"

    # sticky scenarios ---------------------------------------------------------

    def sticky(self, organization_id: str) -> int | None:
        status: int | None = self._one("SELECT status FROM sticky WHERE sandbox = ? AND id = ?", organization_id)
        return status

    def stickies(self) -> dict[str, int]:
        with self._state._lock:
            query = "SELECT id, status FROM sticky WHERE sandbox = ? ORDER BY id"
            return dict(self._state._db.execute(query, (self._sandbox,)).fetchall())

    def set_sticky(self, organization_id: str, status: int | None) -> None:
        with self._state._write() as db:
            if status is None:
                db.execute("DELETE FROM sticky WHERE sandbox = ? AND id = ?", (self._sandbox, organization_id))
            else:
                db.execute("INSERT OR REPLACE INTO sticky VALUES (?, ?, ?)", (self._sandbox, organization_id, status))

    # the clock's offset -------------------------------------------------------

    def clock_offset(self) -> dt.timedelta:
        return dt.timedelta(microseconds=self._one("SELECT offset_us FROM clock WHERE sandbox = ?") or 0)

    def advance_clock(self, delta: dt.timedelta) -> dt.timedelta:
        step = delta // dt.timedelta(microseconds=1)
        with self._state._write() as db:
            db.execute(
                "INSERT INTO clock VALUES (?, ?) ON CONFLICT (sandbox) DO UPDATE SET offset_us = offset_us + ?",
                (self._sandbox, step, step),
            )
            offset = db.execute("SELECT offset_us FROM clock WHERE sandbox = ?", (self._sandbox,)).fetchone()[0]
        return dt.timedelta(microseconds=offset)

    # the request log ----------------------------------------------------------

    def log(self, entry: dict[str, Any]) -> None:
        self._state.log_many([(self._sandbox, entry)])

    def recent(self, count: int) -> list[dict[str, Any]]:
        query = "SELECT body FROM requests WHERE sandbox = ? ORDER BY seq DESC LIMIT ?"
        bodies = self._all(query, max(count, 0))
        return [orjson.loads(body) for body in reversed(bodies)]

    # everything ---------------------------------------------------------------

    def reset(self, before_commit: Callable[[], object] | None = None) -> None:
        with self._state._write() as db:
            for table in _WORLD_TABLES:
                db.execute(f"DELETE FROM {table} WHERE sandbox = ?", (self._sandbox,))  # noqa: S608 (the names above)
            if before_commit is not None:
                before_commit()
