"""Logging: one line per request, as text or JSON. Never headers, never secrets."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

__all__ = ["configure_logging", "log_request"]

logger = logging.getLogger("mock_server")
access = logging.getLogger("mock_server.access")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("mock_server")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def log_request(entry: dict[str, Any]) -> None:
    if not access.isEnabledFor(logging.INFO):
        return
    access.info(
        "%s %s %s %.1fms trackingId=%s org=%s",
        entry["method"],
        entry["path"],
        entry["status"],
        entry["durationMs"],
        entry["trackingId"],
        entry.get("organizationId") or "-",
        extra={"fields": entry},
    )
