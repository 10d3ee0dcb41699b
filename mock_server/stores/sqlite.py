"""The SQLite state: one file, shared by every process that opens it, kept across restarts.

WAL mode: readers never wait for the writer. Every change is one ``BEGIN
IMMEDIATE`` transaction, so two processes on one file take turns, and a
compare-and-set reads and writes under the same write lock. Values are JSON.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from .base import MAX_SESSIONS, REQUEST_LOG_SIZE, Completion, Organization

__all__ = ["SqliteState"]

BUSY_TIMEOUT_SECONDS = 30.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS organizations (id TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, status TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sticky (id TEXT PRIMARY KEY, status INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clock (one INTEGER PRIMARY KEY CHECK (one = 1), offset_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (seq INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL);
INSERT OR IGNORE INTO clock VALUES (1, 0);
"""


def _dump(value: Any) -> bytes:
    return orjson.dumps(value)


class SqliteState:
    def __init__(self, path: Path, max_sessions: int = MAX_SESSIONS, log_size: int = REQUEST_LOG_SIZE) -> None:
        self.path = path
        self.max_sessions = max_sessions
        self._log_size = log_size
        # One connection per process, used by one thread at a time (the lock): the server's loop,
        # or a test's thread.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._write() as db:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)
        except BaseException:
            self._db.close()
            raise

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

    # organizations ------------------------------------------------------------

    def organization(self, organization_id: str) -> Organization | None:
        body = self._one("SELECT body FROM organizations WHERE id = ?", organization_id)
        return None if body is None else orjson.loads(body)

    @staticmethod
    def _is(db: sqlite3.Connection, organization_id: str, expected: Organization | None) -> bool:
        row = db.execute("SELECT body FROM organizations WHERE id = ?", (organization_id,)).fetchone()
        return (None if row is None else orjson.loads(row[0])) == expected

    def swap_organization(self, organization_id: str, expected: Organization | None, new: Organization) -> bool:
        with self._write() as db:
            if not self._is(db, organization_id, expected):
                return False
            db.execute("INSERT OR REPLACE INTO organizations VALUES (?, ?)", (organization_id, _dump(new)))
        return True

    # checkout sessions --------------------------------------------------------

    def session(self, session_id: str) -> dict[str, Any] | None:
        body = self._one("SELECT body FROM sessions WHERE id = ?", session_id)
        return None if body is None else orjson.loads(body)

    def add_session(self, session: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO sessions (id, status, body) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body",
                (session["id"], session["status"], _dump(session)),
            )
            db.execute("DELETE FROM sessions WHERE seq <= (SELECT MAX(seq) FROM sessions) - ?", (self.max_sessions,))

    def sessions(self) -> dict[str, dict[str, Any]]:
        bodies = self._all("SELECT body FROM sessions ORDER BY seq")
        return {session["id"]: session for session in map(orjson.loads, bodies)}

    def recent_sessions(self, count: int) -> list[dict[str, Any]]:
        return [orjson.loads(body) for body in self._all("SELECT body FROM sessions ORDER BY seq DESC LIMIT ?", count)]

    def complete_session(
        self, session: dict[str, Any], organization_id: str, expected: Organization | None, new: Organization
    ) -> Completion:
        with self._write() as db:
            row = db.execute("SELECT status FROM sessions WHERE id = ?", (session["id"],)).fetchone()
            if row is None or row[0] != "open":
                return "closed"
            if not self._is(db, organization_id, expected):
                return "stale"
            db.execute("INSERT OR REPLACE INTO organizations VALUES (?, ?)", (organization_id, _dump(new)))
            db.execute(
                "UPDATE sessions SET status = ?, body = ? WHERE id = ?",
                (session["status"], _dump(session), session["id"]),
            )
        return "paid"

    # sticky scenarios ---------------------------------------------------------

    def sticky(self, organization_id: str) -> int | None:
        status: int | None = self._one("SELECT status FROM sticky WHERE id = ?", organization_id)
        return status

    def stickies(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT id, status FROM sticky ORDER BY id").fetchall())

    def set_sticky(self, organization_id: str, status: int | None) -> None:
        with self._write() as db:
            if status is None:
                db.execute("DELETE FROM sticky WHERE id = ?", (organization_id,))
            else:
                db.execute("INSERT OR REPLACE INTO sticky VALUES (?, ?)", (organization_id, status))

    # the clock's offset -------------------------------------------------------

    def clock_offset(self) -> dt.timedelta:
        return dt.timedelta(microseconds=self._one("SELECT offset_us FROM clock"))

    def advance_clock(self, delta: dt.timedelta) -> None:
        with self._write() as db:
            db.execute("UPDATE clock SET offset_us = offset_us + ?", (delta // dt.timedelta(microseconds=1),))

    # the request log ----------------------------------------------------------

    def log(self, entry: dict[str, Any]) -> None:
        with self._write() as db:
            seq = db.execute("INSERT INTO requests (body) VALUES (?)", (_dump(entry),)).lastrowid
            db.execute("DELETE FROM requests WHERE seq <= ?", ((seq or 0) - self._log_size,))

    def recent(self, count: int) -> list[dict[str, Any]]:
        bodies = self._all("SELECT body FROM requests ORDER BY seq DESC LIMIT ?", max(count, 0))
        return [orjson.loads(body) for body in reversed(bodies)]

    # everything ---------------------------------------------------------------

    def reset(self, before_commit: Callable[[], object] | None = None) -> None:
        with self._write() as db:
            for table in ("organizations", "sessions", "sticky", "requests"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 (the names above, not input)
            db.execute("UPDATE clock SET offset_us = 0")
            if before_commit is not None:
                before_commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()
