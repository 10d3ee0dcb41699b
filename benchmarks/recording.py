"""What ``--record`` costs the proxy per answer: the time ``Recording.observe`` holds its caller (the event loop).

    python benchmarks/recording.py [--organizations 100,3000] [--answers 200]

For each size it makes a recording folder of that many organizations, then observes
``--answers`` answers that each change one of them (a new name), as the proxy does on the
event loop, and prints the time one call took (median, 90th percentile, max), how long the
whole run took until everything was on disk, and how many times ``organizations.yaml`` was
written. Run it with ``PYTHONPATH`` set to another checkout to compare builds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from mock_server.fixtures import read_entries
from mock_server.recording import Recording
from mock_server.recording_files import MARK
from mock_server.settings import DEFAULT_FIXTURES

ORGANIZATION = {
    **read_entries(DEFAULT_FIXTURES / "organizations.yaml")[0]["organization"],
    # As a deployment answers them: absolute dates, not the fixtures' dates relative to the clock.
    "anniversaryDate": "2027-01-06",
    "createdAt": "2025-12-17T00:00:00.000Z",
    "updatedAt": "2026-06-17T00:00:00.000Z",
}
"""The shipped fixtures' first organization, as answered: what each one of the folder is made of."""


def folder_of(count: int) -> Path:
    """A recording folder of ``count`` organizations, written as a recording writes it."""
    folder = Path(tempfile.mkdtemp(prefix="recording-bench-"))
    entries = [
        {
            "label": "recorded",
            "description": f"Org {number} (recorded)",
            "apiKey": f"sk_test_rec_{number:024x}",
            "clientId": f"client_rec_{number:024x}",
            "clientSecret": f"secret_rec_{number:024x}",
            "organization": {**ORGANIZATION, "organizationId": f"org_{number}", "name": f"Org {number}"},
        }
        for number in range(count)
    ]
    text = yaml.safe_dump(entries, sort_keys=False, width=120)
    (folder / "organizations.yaml").write_text(f"{MARK} for the benchmark\n{text}", encoding="utf-8")
    return folder


def measure(count: int, answers: int) -> str:
    folder = folder_of(count)
    recording = Recording(folder)
    writes = []
    replace = os.replace

    def counted(source: Any, target: Any) -> None:
        writes.append(Path(target).name)
        replace(source, target)

    os.replace = counted  # type: ignore[assignment]
    took = []
    started = time.perf_counter()
    try:
        for number in range(answers):
            organization = {**ORGANIZATION, "organizationId": f"org_{number % count}", "name": f"Renamed {number}"}
            before = time.perf_counter()
            recording.observe(("bearer", f"real-key-{number}"), "GET /account/organization", None, 200, organization)
            took.append((time.perf_counter() - before) * 1000)
        flush = getattr(recording, "flush", None)  # a build whose observe writes has nothing to wait for
        if flush is not None:
            flush()
        total = time.perf_counter() - started
    finally:
        os.replace = replace  # type: ignore[assignment]
    deciles = statistics.quantiles(took, n=10)
    return (
        f"| {count:,} | {answers} | {statistics.median(took):.3f} | {deciles[8]:.3f} | {max(took):.3f} "
        f"| {total:.2f} | {writes.count('organizations.yaml')} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--organizations", default="100,3000", help="comma-separated sizes (default 100,3000)")
    parser.add_argument("--answers", type=int, default=200, help="answers observed per size (default 200)")
    args = parser.parse_args()
    print(f"mock_server from {Path(sys.modules['mock_server'].__file__ or '').parent}")
    print("| organizations | answers | observe ms, median | p90 | max | s until on disk | organizations.yaml writes |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for count in (int(part) for part in args.organizations.split(",")):
        print(measure(count, args.answers), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
