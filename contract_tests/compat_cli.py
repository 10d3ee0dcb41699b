"""``contract-tests compat OLD NEW``: what a change to the document breaks for the clients built on it.

OLD and NEW are each a path, an http(s) URL (one bounded exchange) or ``git:REF:PATH`` (``git show``
in the current directory's repository, within a timeout), read by the bounded YAML reader. Each
difference (:func:`billing_contract.compat.compare`) is one line, ``BREAKING`` or ``ok``, with its
JSONPath. Then the organizations of the mock's fixtures (``--fixtures DIR``, the shipped ones by
default) and of a recording (``--record DIR``) are judged as the mock would answer them, against
NEW (:mod:`.compat_fixtures`): each refused answer is a breaking line naming file, entry and field.
Exit codes: 0 nothing breaks, 1 a breaking change, 2 usage or an unreadable document or folder.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from billing_contract import bounded_yaml
from billing_contract.commands import CommandParser
from billing_contract.compat import Change, CompatError, compare
from billing_contract.verdict import Verdict

from .compat_fixtures import SHIPPED, FixturesUnreadable, check_folder
from .document import MAX_DOCUMENT_BYTES, DocumentError, fetch
from .options import redact_url

__all__ = ["main", "read_document"]

OK, BREAKING, ERROR = 0, 1, 2
TIMEOUT = 30.0
"""Seconds for a URL's whole answer, or for ``git show``."""


class Unreadable(RuntimeError):
    """A document that cannot be read or is not OpenAPI: one line that names it."""


def _parser() -> CommandParser:
    parser = CommandParser(
        prog="contract-tests compat",
        description="Every difference between two versions of the OpenAPI document, classed as breaking or not "
        "for existing clients (oasdiff's rules as the reference); then what the mock would answer from its "
        "fixtures and from a recording, judged against NEW.",
        epilog="OLD and NEW: a path, an http(s) URL, or git:REF:PATH (git show, from the current directory's "
        "repository). Exit codes: 0 nothing breaks, 1 a breaking change, 2 usage or unreadable input.",
    )
    parser.add_argument("old", metavar="OLD", help="the document clients were built on")
    parser.add_argument("new", metavar="NEW", help="the changed document")
    parser.add_argument(
        "--fixtures",
        metavar="DIR",
        type=Path,
        default=SHIPPED,
        help="the mock's fixtures to check against NEW (default: the shipped fixtures folder)",
    )
    parser.add_argument("--record", metavar="DIR", type=Path, help="a folder mock-server --record wrote, checked too")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text lines (default) or JSON")
    return parser


def _git(source: str, max_bytes: int) -> bytes:
    """``git show REF:PATH`` for ``git:REF:PATH``: at most ``max_bytes``, within :data:`TIMEOUT` seconds."""
    ref, _, path = source[len("git:") :].partition(":")
    if not ref or not path:
        raise Unreadable(f"{source} must be git:REF:PATH, such as git:origin/main:openapi.yaml")
    git = shutil.which("git")
    if git is None:
        raise Unreadable(f"cannot read {source}: git is not installed")
    try:
        process = subprocess.Popen(  # noqa: S603 - git, with arguments no shell reads
            [git, "show", f"{ref}:{path}"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise Unreadable(f"cannot run git for {source}: {exc.strerror or exc}") from None
    timer = threading.Timer(TIMEOUT, process.kill)
    timer.start()
    with process:
        try:
            assert process.stdout is not None and process.stderr is not None
            content = process.stdout.read(max_bytes + 1)
            if len(content) > max_bytes:
                raise Unreadable(f"{source} is over {max_bytes:,} bytes")
            error = process.stderr.read(4096).decode("utf-8", "replace")
            status = process.wait()
        finally:
            timer.cancel()
            process.kill()
    if status != 0:
        lines = [line.removeprefix("fatal: ").strip() for line in error.splitlines() if line.strip()]
        reason = lines[0][:200] if lines else f"git stopped ({'timed out' if status < 0 else f'exit {status}'})"
        raise Unreadable(f"cannot read {source}: {reason}")
    return content


def _text(source: str, max_bytes: int) -> bytes | str:
    if source.startswith("git:"):
        return _git(source, max_bytes)
    if source.startswith(("http://", "https://")):
        try:
            return fetch(source, TIMEOUT, max_bytes, what="the document")
        except DocumentError as exc:
            raise Unreadable(str(exc)) from None
    try:
        return bounded_yaml.read_file(Path(source), max_bytes)
    except FileNotFoundError:
        raise Unreadable(f"{source} does not exist") from None
    except bounded_yaml.YamlRefused as exc:
        raise Unreadable(f"{source} {exc}") from None


def read_document(source: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> dict[str, Any]:
    """The OpenAPI document ``source`` names; :class:`Unreadable` with one line otherwise."""
    text = _text(source, max_bytes)
    shown = redact_url(source)
    try:
        raw = bounded_yaml.load(text, bounded_yaml.YamlLimits(max_bytes=max_bytes))
    except yaml.YAMLError as exc:
        raise Unreadable(f"{shown} {exc}") from None
    if not isinstance(raw, dict) or "openapi" not in raw or not isinstance(raw.get("paths"), dict):
        raise Unreadable(f"{shown} is not an OpenAPI 3 document (no openapi and paths)")
    return raw


def _fixtures(new: dict[str, Any], folders: list[Path]) -> list[Change]:
    """What each folder's organizations would answer that ``new`` refuses."""
    if not folders:
        return []
    try:
        verdict = Verdict(new, mock=True)
    except Exception as exc:  # Schemathesis refuses a document the comparison could walk
        raise Unreadable(f"NEW cannot be loaded to judge answers: {type(exc).__name__}: {str(exc)[:160]}") from None
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return [change for folder in folders for change in check_folder(folder, new, verdict, now)]


def _line(change: Change) -> str:
    return f"{'BREAKING' if change.breaking else 'ok':<8}  {change.path}  {change.what}"


def main(argv: Sequence[str]) -> int:
    """``contract-tests compat`` (``argv``: what follows ``compat``): the changes, one a line; 0, 1 or 2."""
    try:
        namespace = _parser().parse_args(list(argv))
    except SystemExit as exc:
        return OK if exc.code == 0 else ERROR
    try:
        old, new = read_document(namespace.old), read_document(namespace.new)
        changes = compare(old, new)
        changes += _fixtures(new, [folder for folder in (namespace.fixtures, namespace.record) if folder is not None])
    except (Unreadable, CompatError, FixturesUnreadable) as exc:
        print(f"contract-tests compat: {exc}", file=sys.stderr)
        return ERROR
    breaking = sum(change.breaking for change in changes)
    if namespace.format == "json":
        listed = [{"level": "breaking" if c.breaking else "ok", "path": c.path, "what": c.what} for c in changes]
        print(json.dumps({"breaking": breaking, "changes": listed}, indent=2))
    else:
        for change in changes:
            print(_line(change))
    return BREAKING if breaking else OK
