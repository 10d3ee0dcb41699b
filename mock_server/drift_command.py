"""``mock-server drift-patch REPORT [--spec FILE] [--output FILE]``: a saved drift report as a change to the document.

``REPORT``: ``--drift-report FILE.json`` of ``mock-server --proxy``, or ``contract-tests --report
FILE`` (its ``undocumented`` warnings).
Prints (or writes to ``--output``) the unified diff :func:`billing_contract.drift_patch.drift_patch`
makes of the document (``--spec``, by default the one the mock serves): the undocumented
fields, enum values, statuses, media types and headers added, nothing removed. Apply it with
``patch -p0 < drift.diff`` or ``git apply drift.diff`` where the document is. A report or a
document that cannot be read is one line on stderr and exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from billing_contract.bounded_yaml import YamlRefused, load, read_file
from billing_contract.commands import CommandParser
from billing_contract.drift import REPORT_VERSION
from billing_contract.drift_patch import drift_patch

from .spec import SPEC_PATH

__all__ = ["COMMAND", "main"]

COMMAND = "drift-patch"
MAX_REPORT_BYTES = 16 * 1024 * 1024


def _parser() -> CommandParser:
    parser = CommandParser(
        prog=f"mock-server {COMMAND}",
        description="The undocumented facts of a drift report (--drift-report FILE.json) as a unified diff "
        "of the document that adds them.",
    )
    parser.add_argument(
        "report", type=Path, metavar="REPORT", help="a drift report in JSON, or the JSON report of contract-tests"
    )
    parser.add_argument("--spec", type=Path, help="the document to patch (default: the one the mock serves)")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write the diff here (default: stdout)")
    return parser


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    spec: Path = args.spec or SPEC_PATH
    try:
        report = orjson.loads(read_file(args.report, MAX_REPORT_BYTES))
    except FileNotFoundError:
        parser.error(f"there is no report {str(args.report)[:200]!r}")
    except (YamlRefused, orjson.JSONDecodeError) as error:
        parser.error(f"the report {str(args.report)[:200]!r} cannot be read: {str(error)[:200]}")
    if isinstance(report, dict) and isinstance(report.get("undocumented"), list) and "target" in report:
        # contract-tests --report FILE: its undocumented facts, each naming its operation
        facts = report["undocumented"]
        report = {"version": REPORT_VERSION, "operations": [{"operation": "", "undocumented": facts}]}
    if not isinstance(report, dict) or report.get("version") != REPORT_VERSION:
        parser.error(f"{str(args.report)[:200]!r} is not a drift report (mock-server --drift-report FILE.json)")
    try:
        raw = read_file(spec, MAX_REPORT_BYTES)
        text = raw.decode("utf-8")
        data = load(raw)
    except FileNotFoundError:
        parser.error(f"there is no document {str(spec)[:200]!r}")
    except (YamlRefused, UnicodeDecodeError) as error:
        parser.error(f"the document {str(spec)[:200]!r} cannot be read: {str(error)[:200]}")
    label = str(args.spec) if args.spec else "openapi.yaml"
    try:
        diff, skipped = drift_patch(text, data, report, label)
    except (KeyError, TypeError, ValueError) as error:
        parser.error(f"{str(args.report)[:200]!r} is not a drift report ({type(error).__name__}: {str(error)[:80]})")
    for said in skipped:
        print(f"mock-server {COMMAND}: skipped {said}", file=sys.stderr)
    if args.output is not None:
        try:
            args.output.write_text(diff, encoding="utf-8")
        except OSError as error:
            parser.error(f"cannot write {str(args.output)[:200]!r}: {error.strerror}")
    else:
        sys.stdout.write(diff)
    if not diff:
        print(f"mock-server {COMMAND}: nothing to add: the report names no undocumented fact", file=sys.stderr)
    return 0
