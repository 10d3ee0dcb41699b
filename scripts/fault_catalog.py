"""Measure the contract suite on the project's fault catalog: faults caught per seed, correct habits passed.

    python scripts/fault_catalog.py [--seeds 20261122,7,4242] [--profile quick] [--jobs 2]

Each fault of ``tests/faulty_app.py`` and each habit of a correct deployment is run
in full (no stopping at the first failure) against the in-process app, once per
seed. A fault is caught when the run exits 1; a habit passes when it exits 0. Prints
one line per seed and the faults missed or habits failed, and exits 1 if any.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract_tests.cli import OK, VIOLATIONS, main
from tests.faulty_app import CONDITIONAL_FAULTS, FAULTS, VARIANTS, create_faulty_app
from tests.test_contract_faults import TARGET_OPTIONS

SLOW = ("rate_limited", "overloaded")  # a second of waiting each; tests/test_contract_faults.py runs them


def _run(job: tuple[str, str, int, str]) -> tuple[str, str, int, int, float, str]:
    kind, name, seed, profile = job
    app = create_faulty_app(name, variant=None) if kind == "fault" else create_faulty_app(variant=name or None)
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        options = [*TARGET_OPTIONS, "--profile", profile, "--seed", str(seed), "--report", str(report)]
        options += ["--", "-q", "-p", "no:unraisableexception"]
        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status = main(options, app=app)
        took = time.monotonic() - started
        failures = json.loads(report.read_text())["failures"] if report.exists() else []
    checks = ", ".join(sorted({failure["check"] for failure in failures}))
    return kind, name, seed, status, took, checks


def main_() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="20261122,7,4242")
    parser.add_argument("--profile", default="quick", choices=("quick", "ci", "deep"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated faults or habits to run (default: all)")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    habits = ["", *(variant for variant in VARIANTS if variant not in SLOW)]
    jobs = [("fault", fault, seed, args.profile) for seed in seeds for fault in (*FAULTS, *CONDITIONAL_FAULTS)]
    jobs += [("habit", habit, seed, args.profile) for seed in seeds for habit in habits]
    if args.only:
        jobs = [job for job in jobs if job[1] in args.only.split(",")]
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        results = pool.map(_run, jobs, chunksize=1)
    bad = []
    for seed in seeds:
        faults = [result for result in results if result[0] == "fault" and result[2] == seed]
        caught = [result for result in faults if result[3] == VIOLATIONS]
        passing = [result for result in results if result[0] == "habit" and result[2] == seed]
        passed = [result for result in passing if result[3] == OK]
        print(
            f"seed {seed}: faults caught {len(caught)} of {len(faults)}; "
            f"correct deployments passed {len(passed)} of {len(passing)} (the plain one and {len(passing) - 1} habits)"
        )
        bad += [
            f"  seed {seed}: fault {name} exit {status} ({checks or 'no failure'})"
            for _, name, _, status, _, checks in faults
            if status != VIOLATIONS
        ]
        bad += [
            f"  seed {seed}: habit {name or '(none)'} exit {status} ({checks or 'no failure'})"
            for _, name, _, status, _, checks in passing
            if status != OK
        ]
    slowest = max(results, key=lambda result: result[4])
    print(f"{len(jobs)} runs in {time.monotonic() - started:.0f} s; slowest {slowest[1]} {slowest[4]:.1f} s")
    print("\n".join(bad) if bad else "every fault caught and every correct deployment passed under every seed")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main_())
