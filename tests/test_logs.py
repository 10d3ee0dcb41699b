"""The request line: one per request, the same text on the cheap path and the logging path."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from mock_server import logs

ENTRY = {
    "trackingId": "0b6c3d2e-1f4a-4b5c-8d9e-0f1a2b3c4d5e",
    "time": 1.0,
    "method": "GET",
    "path": "/account/organization",
    "status": 200,
    "durationMs": 0.25,
    "organizationId": "org_paid_demo",
}
TEXT_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO GET /account/organization 200 0\.2ms "
    r"trackingId=0b6c3d2e-1f4a-4b5c-8d9e-0f1a2b3c4d5e org=org_paid_demo"
)


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    logger = logging.getLogger("mock_server")
    saved = logger.handlers[:], logger.level, logger.propagate
    yield io.StringIO()
    logger.handlers[:], logger.level, logger.propagate = saved


def configure(stream: io.StringIO, log_format: str, level: int = logging.INFO) -> None:
    logs.configure_logging(log_format, level)
    handler = logging.getLogger("mock_server").handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


def test_text_request_line(stream: io.StringIO) -> None:
    configure(stream, "text")
    logs.log_request(ENTRY)
    assert TEXT_LINE.fullmatch(stream.getvalue().rstrip("\n")), stream.getvalue()


def test_the_text_line_names_the_checks_a_proxied_answer_broke(stream: io.StringIO) -> None:
    configure(stream, "text")
    broken = [
        {"check": "response_schema_conformance", "message": "x"},
        {"check": "content_type_conformance", "message": "y"},
    ]
    logs.log_request({**ENTRY, "violations": broken})
    logs.log_request({**ENTRY, "violations": []})
    first, second = stream.getvalue().splitlines()
    assert first.endswith("org=org_paid_demo violations=response_schema_conformance,content_type_conformance")
    assert TEXT_LINE.fullmatch(second), second


def test_json_request_line_carries_the_fields(stream: io.StringIO) -> None:
    configure(stream, "json")
    logs.log_request(ENTRY)
    line = json.loads(stream.getvalue())
    assert line["level"] == "info" and line["logger"] == "mock_server.access"
    assert line["message"].startswith("GET /account/organization 200 0.2ms")
    assert {key: line[key] for key in ENTRY} == ENTRY


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_added_handler_gets_the_same_line(stream: io.StringIO, log_format: str) -> None:
    configure(stream, log_format)
    logs.log_request(ENTRY)
    direct = stream.getvalue()
    extra = logging.Handler()
    records: list[logging.LogRecord] = []
    extra.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("mock_server.access").addHandler(extra)
    try:
        logs.log_request(ENTRY)
    finally:
        logging.getLogger("mock_server.access").removeHandler(extra)
    first, second = direct.splitlines(), stream.getvalue().splitlines()[1:]
    assert len(records) == 1 and len(second) == 1
    # the same line but for the timestamp
    assert re.sub(r"^\S+ \S+ |\"time\": ?\"[^\"]+\"", "", first[0]) == re.sub(
        r"^\S+ \S+ |\"time\": ?\"[^\"]+\"", "", second[0]
    )


def test_lines_of_one_loop_turn_are_written_together_at_its_end(stream: io.StringIO) -> None:
    configure(stream, "text")

    async def serve() -> list[str]:
        logs.log_request(ENTRY)
        logs.log_request(ENTRY)
        before = stream.getvalue()
        await asyncio.sleep(0)
        return [before, stream.getvalue()]

    before, after = asyncio.run(serve())
    assert before == ""
    assert len(after.splitlines()) == 2


def test_a_warning_is_written_at_once_after_the_pending_lines(stream: io.StringIO) -> None:
    configure(stream, "text")

    async def serve() -> str:
        logs.log_request(ENTRY)
        logging.getLogger("mock_server").warning("something odd")
        return stream.getvalue()

    lines = asyncio.run(serve()).splitlines()
    assert len(lines) == 2 and "INFO GET" in lines[0] and lines[1].endswith("WARNING something odd")


def test_a_quieter_level_drops_the_request_line(stream: io.StringIO) -> None:
    configure(stream, "text", logging.WARNING)
    logs.log_request(ENTRY)
    assert stream.getvalue() == ""
