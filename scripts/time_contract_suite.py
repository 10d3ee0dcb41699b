"""Time the contract suite's ``ci`` profile against the mock in-process (CI runs it on every commit).

    python scripts/time_contract_suite.py [--runs N] [--budget SECONDS] [-- extra contract-tests options]

Each run is a fresh process, as in CI. Prints each wall time and the slowest, and
exits 1 when the slowest run is over the budget (60 s by default).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--budget", type=float, default=60.0)
    args, extra = parser.parse_known_args()
    extra = [arg for arg in extra if arg != "--"]
    command = [sys.executable, "-m", "contract_tests.cli", "--profile", "ci", *extra, "--", "-q"]
    times = []
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        print(f"run {run}: {elapsed:.1f} s, exit {result.returncode}")
        if result.returncode != 0:
            print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
            return 1
    slowest = max(times)
    print(f"ci profile, in-process mock: slowest {slowest:.1f} s of {len(times)} run(s); budget {args.budget:.0f} s")
    return 0 if slowest <= args.budget else 1


if __name__ == "__main__":
    raise SystemExit(main())
