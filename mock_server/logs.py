"""Logging: one line per request, as text or JSON. Never headers, never secrets.

The request line is the one log line every request pays for, so it is cheap:
while the ``mock_server`` loggers are as :func:`configure_logging` left them,
:func:`log_request` formats the line itself (no ``LogRecord``) and the handler
writes the lines of one event-loop turn together, at the end of the turn. Any
other set-up (another handler, a filter, a level) gets the ordinary logging path,
with the same text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
import traceback
from typing import Any, TextIO

import orjson

__all__ = ["configure_logging", "log_failure", "log_request"]

logger = logging.getLogger("mock_server")
access = logging.getLogger("mock_server.access")

_REQUEST = "%s %s %s %.1fms trackingId=%s org=%s"
_TEXT = "%(asctime)s %(levelname)s %(message)s"
_JSON_TIME = "%Y-%m-%dT%H:%M:%S%z"


class _Clock:
    """``time.strftime`` once per second, not once per line."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._second = -1
        self._text = ""

    def format(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second, self._text = second, time.strftime(self.pattern, time.localtime(second))
        return self._text


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(_TEXT)
        self._clock = _Clock(self.default_time_format)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self.asctime(record.created)

    def asctime(self, created: float) -> str:
        return f"{self._clock.format(created)},{int((created - int(created)) * 1000):03d}"

    def request_line(self, created: float, message: str, fields: dict[str, Any]) -> str:
        return f"{self.asctime(created)} INFO {message}"


class _JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._clock = _Clock(_JSON_TIME)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self._clock.format(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()

    def request_line(self, created: float, message: str, fields: dict[str, Any]) -> str:
        line = {"time": self._clock.format(created), "level": "info", "logger": access.name, "message": message}
        line.update(fields)
        return orjson.dumps(line, default=str).decode()


class _TurnHandler(logging.StreamHandler[TextIO]):
    """Writes the lines of one event-loop turn in one go; warnings and errors at once."""

    def __init__(self, stream: TextIO, formatter: _TextFormatter | _JsonFormatter) -> None:
        super().__init__(stream)
        self.setFormatter(formatter)
        self.request_formatter = formatter
        self._lines: list[str] = []
        self._scheduled = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write(self.format(record), urgent=record.levelno >= logging.WARNING)
        except Exception:
            self.handleError(record)

    def write(self, line: str, *, urgent: bool = False) -> None:
        with self.lock or contextlib.nullcontext():
            self._lines.append(line)
            if urgent:
                self.flush()
                return
            if not self._scheduled:
                try:
                    asyncio.get_running_loop().call_soon(self.flush)
                except RuntimeError:  # no event loop: nothing to wait for
                    self.flush()
                    return
                self._scheduled = True

    def flush(self) -> None:
        with self.lock or contextlib.nullcontext():
            self._scheduled = False
            if self._lines:
                lines, self._lines = self._lines, []
                self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = _TurnHandler(sys.stderr, _JsonFormatter() if log_format == "json" else _TextFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def _direct() -> _TurnHandler | None:
    """Our handler, when the request line would reach it and nothing else."""
    handlers = logger.handlers
    if len(handlers) != 1 or not isinstance(handlers[0], _TurnHandler):
        return None
    if access.handlers or access.filters or not access.propagate or logger.filters or handlers[0].filters:
        return None
    return handlers[0] if access.isEnabledFor(logging.INFO) and handlers[0].level <= logging.INFO else None


def log_request(entry: dict[str, Any]) -> None:
    handler = _direct()
    if handler is None and not access.isEnabledFor(logging.INFO):
        return
    arguments = (
        entry["method"],
        entry["path"],
        entry["status"],
        entry["durationMs"],
        entry["trackingId"],
        entry.get("organizationId") or "-",
    )
    message = _REQUEST % arguments
    if entry.get("violations"):  # --proxy: the contract checks the deployment's answer broke
        message += " violations=" + ",".join(dict.fromkeys(found["check"] for found in entry["violations"]))
    if handler is None:
        access.info(message, extra={"fields": entry})
        return
    line = handler.request_formatter.request_line(time.time(), message, entry)
    handler.write(line)


def log_failure(to: logging.Logger, message: str, *args: object, error: BaseException) -> None:
    """A failure of the mock's own code, logged with its type and where it happened but not its text, which
    can quote a value that passed through (a deployment's answer, a credential it echoed back)."""
    where = "".join(traceback.format_tb(error.__traceback__)).rstrip()
    to.error(message + ": %s at\n%s", *args, type(error).__name__, where)
