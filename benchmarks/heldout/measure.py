"""The contract suite's power on a deployment its authors never saw (``make heldout``).

    .venv/bin/python -m benchmarks.heldout.measure [--seeds 1 2 3] [--profile quick] [--jobs 2]
                                                   [--only NAME ...] [--logs DIR] [--output FILE]
    .venv/bin/python -m benchmarks.heldout.measure --list      the faults and the variants

Runs the contract suite in-process (``contract_tests.cli.main(argv, app=...)``) against
the held-out deployment of app.py: once correct, once with each fault of faults.py,
once as each correct variant of variants.py, under each seed. Every run is a fresh
process in an empty working directory (no Hypothesis example database carried from
one run to the next) and gets every credential and price the deployment has: both
bearer keys, the basic pair, a price of each tier.

Prints one row per deployment and seed column: a fault is ``caught`` when the suite
exits 1 and ``missed`` when it exits 0; a correct deployment ``passed`` (exit 0) or
``FAILED`` (exit 1); ``exit 2`` is a usage, configuration or connection error and
``timeout`` a run killed after --timeout seconds, neither a verdict. Each run's
output and JSON report are kept in --logs.

First, selfcheck.py checks the deployment itself (the correct app and the variants
answer as openapi.yaml gives, every fault's switch is live); the suite is not run
when it finds a problem (exit 1). Otherwise the exit status is 0 whatever the suite
caught or missed (this is a measure, not a test); 2 on bad options.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import selfcheck
from .accounts import BUDGET_PRICE, MAIN, MESSAGE_PRICE, OTHER
from .faults import FAULTS
from .variants import VARIANTS

ROOT = Path(__file__).resolve().parents[2]
CORRECT = "correct"


@dataclass(frozen=True)
class Run:
    kind: str  # "correct", "fault" or "variant"
    name: str
    seed: int


@dataclass(frozen=True)
class Outcome:
    run: Run
    exit_code: int | None  # None: killed after the timeout
    seconds: float

    @property
    def verdict(self) -> str:
        if self.exit_code is None:
            return "timeout"
        if self.exit_code not in (0, 1):
            return f"exit {self.exit_code}"
        if self.run.kind == "fault":
            return "caught" if self.exit_code == 1 else "missed"
        return "passed" if self.exit_code == 0 else "FAILED"


def suite_argv(seed: int, profile: str, report: Path) -> list[str]:
    """The contract suite's options: every credential and price of the deployment."""
    assert MAIN.client_id is not None and MAIN.client_secret is not None
    return [
        "--api-key", MAIN.key,
        "--basic", f"{MAIN.client_id}:{MAIN.client_secret}",
        "--other-api-key", OTHER.key,
        "--message-price-id", MESSAGE_PRICE,
        "--budget-price-id", BUDGET_PRICE,
        "--profile", profile,
        "--seed", str(seed),
        "--report", str(report),
        "--", "-q", "-p", "no:cacheprovider",
    ]  # fmt: skip


def run_one(kind: str, name: str, seed: int, profile: str, report: Path) -> int:
    """In this process: the suite against a fresh app; its exit code (0, 1 or 2)."""
    from contract_tests.cli import main

    from .app import create_app

    app = create_app(fault=name if kind == "fault" else None, variant=name if kind == "variant" else None)
    return int(main(suite_argv(seed, profile, report), app=app))


def launch(run: Run, profile: str, logs: Path, timeout: float) -> Outcome:
    """One run in a child process, in an empty working directory; its output goes to ``logs``."""
    stem = logs / f"{run.kind}-{run.name}-seed{run.seed}"
    command = [sys.executable, "-m", "benchmarks.heldout.measure", "--child", run.kind, run.name, str(run.seed)]
    command += ["--profile", profile, "--report-path", str(stem.with_suffix(".json"))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="heldout-") as workdir, stem.with_suffix(".log").open("wb") as log:
        try:
            done = subprocess.run(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)  # noqa: S603
            code: int | None = done.returncode
        except subprocess.TimeoutExpired:
            code = None
    return Outcome(run, code, time.perf_counter() - started)


def table(outcomes: list[Outcome], seeds: list[int]) -> str:
    by_key = {(o.run.kind, o.run.name, o.run.seed): o for o in outcomes}
    rows = list(dict.fromkeys((o.run.kind, o.run.name) for o in outcomes))  # the order of the runs: the catalogs'

    width = max(len(name) for _, name in rows)
    lines = [f"{'kind':8} {'deployment':{width}} " + " ".join(f"{'seed ' + str(seed):>9}" for seed in seeds)]
    for kind, name in rows:
        cells = [by_key[(kind, name, seed)].verdict if (kind, name, seed) in by_key else "-" for seed in seeds]
        family = f"  ({FAULTS[name].family})" if kind == "fault" else ""
        lines.append(f"{kind:8} {name:{width}} " + " ".join(f"{cell:>9}" for cell in cells) + family)
    return "\n".join(lines)


def totals(outcomes: list[Outcome], seeds: list[int]) -> str:
    lines = []
    for kind, good, noun in (("fault", "caught", "faults caught"), ("variant", "passed", "variants passed")):
        verdicts: dict[str, dict[int, str]] = {}
        for outcome in outcomes:
            if outcome.run.kind == kind:
                verdicts.setdefault(outcome.run.name, {})[outcome.run.seed] = outcome.verdict
        if not verdicts:
            continue
        every = len(verdicts)
        per_seed = ", ".join(f"seed {s}: {sum(v.get(s) == good for v in verdicts.values())}/{every}" for s in seeds)
        always = sum(all(verdict == good for verdict in v.values()) for v in verdicts.values())
        never = sum(good not in v.values() for v in verdicts.values())
        lines.append(f"{noun}: {per_seed}; under every seed {always}/{every}, under none {never}/{every}")
        if kind == "fault":
            for family in dict.fromkeys(FAULTS[name].family for name in verdicts):
                names = [name for name in verdicts if FAULTS[name].family == family]
                caught = sum(all(verdict == good for verdict in verdicts[name].values()) for name in names)
                lines.append(f"  {family}: {caught}/{len(names)} caught under every seed")
        unjudged = sum(
            verdict not in ("caught", "missed", "passed", "FAILED") for v in verdicts.values() for verdict in v.values()
        )
        if unjudged:
            lines.append(f"  {unjudged} {kind} run(s) without a verdict (exit 2 or timeout): see the logs")
    return "\n".join(lines)


def catalog() -> str:
    lines = [f"{len(FAULTS)} faults:"]
    lines += [f"  {name} ({fault.family}): {fault.description}" for name, fault in FAULTS.items()]
    lines.append(f"{len(VARIANTS)} correct variants:")
    for name, variant in VARIANTS.items():
        lines += [f"  {name}: {variant.description}", f"    correct: {variant.why_correct}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--profile", choices=["quick", "ci", "deep"], default="quick")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these faults or variants (and the correct app)")
    parser.add_argument("--logs", type=Path, default=ROOT / "reports" / "heldout", help="each run's output and report")
    parser.add_argument("--output", type=Path, help="also write the table and totals to this file")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before one run is killed")
    parser.add_argument("--list", action="store_true", help="print the faults and variants, run nothing")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "NAME", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--report-path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, name, seed = args.child
        return run_one(kind, name, int(seed), args.profile, args.report_path)
    if args.list:
        print(catalog())
        return 0
    unknown = [name for name in args.only or [] if name not in FAULTS and name not in VARIANTS]
    if unknown or args.jobs < 1:
        parser.error(f"no fault or variant named {', '.join(unknown)}" if unknown else "--jobs must be 1 or more")
    problems = selfcheck.main()
    if problems:
        print("the held-out deployment is not ready to measure:", *problems, sep="\n  ")
        return 1
    runs = [Run(CORRECT, "(no fault)", seed) for seed in args.seeds]
    runs += [Run("variant", n, s) for n in VARIANTS if not args.only or n in args.only for s in args.seeds]
    runs += [Run("fault", n, s) for n in FAULTS if not args.only or n in args.only for s in args.seeds]
    args.logs.mkdir(parents=True, exist_ok=True)
    print(f"{len(runs)} runs of the contract suite ({args.profile} profile, seeds {args.seeds}, {args.jobs} at once)")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(lambda run: launch(run, args.profile, args.logs, args.timeout), runs))
    elapsed = time.perf_counter() - started
    slowest = max(outcomes, key=lambda outcome: outcome.seconds)
    summary = "\n".join(
        [
            table(outcomes, args.seeds),
            "",
            totals(outcomes, args.seeds),
            f"wall time {elapsed / 60:.1f} min for {len(runs)} runs ({args.jobs} at once); "
            f"slowest run {slowest.seconds:.0f} s ({slowest.run.kind} {slowest.run.name}, seed {slowest.run.seed})",
            f"logs and JSON reports: {args.logs}",
        ]
    )
    print(summary)
    if args.output is not None:
        args.output.write_text(summary + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
