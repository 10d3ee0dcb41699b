"""Hostile fixture folders, drawn from a seeded ``random.Random``, each started with ``mock-server --fixtures``.

    python scripts/hostile_fixtures.py [--folders 40] [--seed 1]

:func:`folder` copies the shipped fixtures and breaks one file in one way: an alias bomb, too
many aliases, an alias inside its own node, deep nesting (flow or block), a file over the size
limit, a FIFO, a link to ``/dev/zero`` or a folder, a repeated key, a field of the wrong type
(infinities, NaN, numbers past 2**53, a date, bytes, lists, control characters, long text), bytes
that are not UTF-8, a truncated file, a Python tag, two documents. A few folders are tricky but
valid (aliases within the limits, merge keys, CRLF, a byte order mark, JSON, Unicode names).

:func:`run` starts each folder in a process limited to ``--memory`` and waits ``--time-limit``
seconds at most: a broken folder must exit 2 with one line naming its file, a valid one must start
and answer health and a paid organization. It prints the counts, the largest RSS and the longest
start, and every failure with the seed that reproduces it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "fixtures"
FILES = ("organizations.yaml", "prices.yaml")
MARK = "__HOSTILE__"
NUMBERS = [".inf", "-.inf", ".nan", "1.0e+30", "9007199254740993", "1" + "0" * 30, "9" * 5000, "0x" + "f" * 40,
           "abc", "[1, 2]", "{a: 1}", "~", "true", "2026-12-01", "!!binary aGk=", "!!set {a}"]  # fmt: skip
TEXTS = ["[1, 2]", "{a: 1}", "12345", "~", "true", "2026-12-01", "!!binary aGk=", '"a\\e[31mb"', '"a\\0b"',
         "x" * 5000, ".inf", "!!set {a}"]  # fmt: skip
CHOICES = ["gold", "[message]", "~", "1", "''"]
CREDENTIALS = ["sk test", "12345", "~", "[a]", "''", '"k\\tey"', "k" * 300]
ORGANIZATION_FIELDS = {"messagesCap": NUMBERS, "costCap": NUMBERS, "smsCap": NUMBERS, "callCap": NUMBERS,
                       "name": TEXTS, "creator": TEXTS, "organizationType": CHOICES, "status": CHOICES,
                       "anniversaryDate": ["2026-12-01", "'2026-02-30'", *TEXTS[:4]], "allowOverage": ["1", "'yes'", "~"]}  # fmt: skip
ENTRY_FIELDS = {"apiKey": CREDENTIALS, "clientId": [*CREDENTIALS, "a:b"], "clientSecret": CREDENTIALS,
                "label": TEXTS, "description": TEXTS, "stripeFailure": [*TEXTS[:4], "Card Declined"]}  # fmt: skip
PRICE_FIELDS = {"amount": [*NUMBERS, "29.5", "-1"], "name": TEXTS, "tier": CHOICES, "currency": ["840", "dollars", "~"],
                "interval": ["fortnight", "~", "[month]"], "channels": ["[FAX]", "[SMS, EMAIL]", "[]", "EMAIL"],
                "caps": ["[]", "{}", "{seats: 3}", "{messagesCap: .inf}", "{messagesCap: -1}", "~"]}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Case:
    label: str
    broken: str | None
    """The file the error must name, or None: the folder is valid and must be served."""


def _entries(path: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return entries


def _write(path: Path, entries: Any, snippet: str | None = None) -> None:
    """``entries`` as YAML, with the placeholder value written as the raw YAML ``snippet``."""
    text = yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=10_000)
    assert snippet is None or text.count(MARK) == 1
    path.write_text(text.replace(MARK, snippet) if snippet is not None else text, encoding="utf-8")


def _bomb(levels: int) -> str:
    """A flow list whose aliases stand for 9**levels strings."""
    parts = ["&a0 [" + ", ".join(["lol"] * 9) + "]"]
    parts += [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


def _field(rng: random.Random, folder: Path, snippet: Callable[[list[Any]], str] | None = None) -> Case:
    """A random field of a random entry, written as a hostile value (``snippet``, or one of its field's)."""
    name = rng.choice(FILES)
    entries = _entries(folder / name)
    index = rng.randrange(len(entries))
    if name == "prices.yaml":
        field = rng.choice(list(PRICE_FIELDS))
        target, values = entries[index], PRICE_FIELDS[field]
    elif rng.random() < 0.6:
        field = rng.choice(list(ORGANIZATION_FIELDS))
        target, values = entries[index]["organization"], ORGANIZATION_FIELDS[field]
    else:
        field = rng.choice(list(ENTRY_FIELDS))
        target, values = entries[index], ENTRY_FIELDS[field]
    value = snippet(values) if snippet else rng.choice(values)
    target[field] = MARK
    _write(folder / name, entries, value)
    return Case(f"{name} entry {index} {field}: {value[:40]}", name)


def _text(folder: Path, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8")


def _breakers() -> list[tuple[str, Callable[[random.Random, Path], Case]]]:
    def alias_bomb(rng: random.Random, folder: Path) -> Case:
        levels = rng.randint(6, 12)
        return _field(rng, folder, lambda values: _bomb(levels))

    def many_aliases(rng: random.Random, folder: Path) -> Case:
        count = rng.choice([1001, 5000, 50_000])
        return _field(rng, folder, lambda values: "[&x 1, " + ", ".join(["*x"] * count) + "]")

    def own_alias(rng: random.Random, folder: Path) -> Case:
        return _field(rng, folder, lambda values: rng.choice(["&r [1, *r]", "&r {a: *r}", "&r [[[*r]]]"]))

    def deep(rng: random.Random, folder: Path) -> Case:
        depth = rng.choice([65, 200, 999, 1001, 5000, 100_000])
        if rng.random() < 0.5:
            return _field(rng, folder, lambda values: "[" * depth + "]" * depth)
        name = rng.choice(FILES)
        block = "\n".join("  " * level + "-" for level in range(min(depth, 1200))) + " 1\n"
        (folder / name).write_text(_text(folder, name) + block, encoding="utf-8")
        return Case(f"{name}: block nesting {depth}", name)

    def huge(rng: random.Random, folder: Path) -> Case:
        name = rng.choice(FILES)
        size = rng.choice([16 * 1024 * 1024 + 1, 20 * 1024 * 1024])
        with (folder / name).open("a", encoding="utf-8") as handle:
            handle.write(("#" + "x" * 1023 + "\n") * (size // 1024 + 1))
        return Case(f"{name}: {size:,} bytes of comments", name)

    def special(rng: random.Random, folder: Path) -> Case:
        name = rng.choice(FILES)
        (folder / name).unlink()
        kind = rng.choice(["fifo", "/dev/zero", "/dev/urandom", "folder", "dangling link", "missing"])
        if kind == "fifo":
            os.mkfifo(folder / name)
        elif kind == "folder":
            (folder / name).mkdir()
        elif kind == "dangling link":
            (folder / name).symlink_to(folder / "nowhere.yaml")
        elif kind != "missing":
            (folder / name).symlink_to(kind)
        return Case(f"{name}: {kind}", name)

    def repeated_key(rng: random.Random, folder: Path) -> Case:
        name = rng.choice(FILES)
        lines = _text(folder, name).splitlines(keepends=True)
        keys = [index for index, line in enumerate(lines) if re.match(r"^ {2,4}[a-zA-Z]+: \S", line)]
        index = rng.choice(keys)
        lines.insert(index + 1, lines[index])
        (folder / name).write_text("".join(lines), encoding="utf-8")
        return Case(f"{name}: line {index + 1} repeated", name)

    def wrong_type(rng: random.Random, folder: Path) -> Case:
        return _field(rng, folder)

    def bad_bytes(rng: random.Random, folder: Path) -> Case:
        name = rng.choice(FILES)
        data = (folder / name).read_bytes()
        kind = rng.choice(["flipped", "utf-16", "latin-1", "truncated", "random", "empty", "nul"])
        if kind == "flipped":
            changed = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                changed[rng.randrange(len(changed))] = rng.choice([0xFF, 0xC3, 0x80, 0xFE])
            data = bytes(changed)
        elif kind == "utf-16":
            data = data.decode("utf-8").encode("utf-16")
        elif kind == "latin-1":
            data = data.replace(b"Lovelace Labs", "Lövelace Labs".encode("latin-1")).replace(
                b"Messages Starter", "Mességes".encode("latin-1")
            )
        elif kind == "truncated":  # inside a quoted date: never a shorter valid file
            name = "organizations.yaml"
            data = (folder / name).read_bytes()
            data = data[: rng.choice([found.start() + 1 for found in re.finditer(rb'"\d', data)])]
        elif kind == "random":
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4000)))
        elif kind == "empty":
            data = b""
        else:
            data = data.replace(b"\n", b"\n\x00", 1)
        (folder / name).write_bytes(data)
        return Case(f"{name}: {kind} bytes", name)

    def odd_yaml(rng: random.Random, folder: Path) -> Case:
        name = rng.choice(FILES)
        tail = rng.choice(["--- \n- a: 1\n", "- !!python/object/apply:os.system [ls]\n", "- *undefined\n",
                           "- !custom {a: 1}\n", "- {? [a, b]: 1}\n", "\t- tab\n", "- " + "9" * 5000 + "\n"])  # fmt: skip
        (folder / name).write_text(_text(folder, name) + tail, encoding="utf-8")
        return Case(f"{name}: + {tail[:30]!r}", name)

    def valid(rng: random.Random, folder: Path) -> Case:
        kind = rng.choice(["anchors", "merge", "crlf", "bom", "json", "unicode", "comments"])
        prices, organizations = folder / "prices.yaml", folder / "organizations.yaml"
        if kind == "anchors":
            text = _text(folder, "prices.yaml").replace("caps: {costCap: 50", "caps: &budget {costCap: 50", 1)
            copy = "- {id: price_copy, tier: budget, name: Copy, amount: 1, currency: usd, caps: *budget}\n"
            prices.write_text(text + copy, encoding="utf-8")
        elif kind == "merge":
            base = "- &base {id: price_base, tier: message, name: Base, amount: 100, currency: usd, caps: {messagesCap: 10}}\n"
            more = "- {<<: *base, id: price_more, amount: 200}\n"
            prices.write_text(_text(folder, "prices.yaml") + base + more, encoding="utf-8")
        elif kind == "crlf":
            for path in (prices, organizations):
                path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
        elif kind == "bom":
            organizations.write_bytes(b"\xef\xbb\xbf" + organizations.read_bytes())
        elif kind == "json":
            for path in (prices, organizations):
                path.write_text(json.dumps(_entries(path), indent=1), encoding="utf-8")
        elif kind == "unicode":
            text = _text(folder, "organizations.yaml").replace("Lovelace Labs", "Zoë's Café 🎉 ★")
            organizations.write_text(text, encoding="utf-8")
        else:
            text = ("# " + "c" * 1000 + "\n") * 2000 + _text(folder, "organizations.yaml")
            organizations.write_text(text, encoding="utf-8")
        return Case(f"valid: {kind}", None)

    return [("alias bomb", alias_bomb), ("many aliases", many_aliases), ("own alias", own_alias), ("deep", deep),
            ("huge", huge), ("special file", special), ("repeated key", repeated_key), ("wrong type", wrong_type),
            ("wrong type", wrong_type), ("wrong type", wrong_type), ("bad bytes", bad_bytes), ("odd yaml", odd_yaml),
            ("valid", valid), ("valid", valid)]  # fmt: skip


BREAKERS = _breakers()


def folder(rng: random.Random, where: Path) -> Case:
    """A copy of the shipped fixtures at ``where``, broken (or made tricky but valid) one way."""
    where.mkdir(parents=True)
    for name in FILES:
        shutil.copyfile(SHIPPED / name, where / name)
    _, make = rng.choice(BREAKERS)
    return make(rng, where)


@dataclasses.dataclass
class Outcome:
    case: Case
    seconds: float
    rss_mib: float
    problem: str | None


def _get(url: str, key: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - our own loopback server
        return int(answer.status)


def check(case: Case, where: Path, command: list[str], memory: int, time_limit: float) -> Outcome:
    """Start ``command --fixtures where``: a broken folder must exit 2 with one line naming its file, in time and
    memory; a valid one must serve."""
    out, err = where / "stdout.log", where / "stderr.log"
    started = time.monotonic()

    # The limit is set by a small launcher that then becomes the command (preexec_fn is unsafe with threads).
    launcher = f"import os, resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory})); " \
               "os.execv(sys.argv[1], sys.argv[1:])"  # fmt: skip
    argv = [sys.executable, "-c", launcher, *command, "--fixtures", str(where), "--port", "0"]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(argv, stdout=stdout, stderr=stderr)  # noqa: S603 - our own command line
    problem, served, status, usage = None, False, None, None
    while status is None:
        pid, raw, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            status = process.returncode = os.waitstatus_to_exitcode(raw)  # reaped here, for its rusage
            break
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", out.read_text(errors="replace"))
        if found and not served:
            served = True
            try:
                codes = (
                    _get(found.group(1) + "/__mock__/health"),
                    _get(found.group(1) + "/account/organization", "sk_test_paid_org"),
                )
                problem = None if codes == (200, 200) else f"served, answering {codes}"
            except OSError as error:
                problem = f"served, but {error}"
            if case.broken is not None:
                problem = f"started with a broken {case.broken}"
            seconds = time.monotonic() - started
            process.send_signal(signal.SIGTERM)
        elif time.monotonic() - started > time_limit + (10 if served else 0):
            process.kill()
            problem = problem or f"neither refused nor served within {time_limit:.0f} s"
        time.sleep(0.05)
    if not served:
        seconds = time.monotonic() - started
    rss = (usage.ru_maxrss if usage else 0) / 1024
    stderr_lines = err.read_text(errors="replace").strip().splitlines()
    if problem is None and case.broken is not None:
        line = stderr_lines[0] if len(stderr_lines) == 1 else ""
        if status != 2 or not line.startswith("mock-server: error: ") or case.broken not in line:
            problem = f"exit {status}: {' | '.join(stderr_lines)[-600:]!r}"
        elif len(line) > 500:
            problem = f"a line of {len(line)} characters"
    if problem is None and case.broken is None and (not served or status not in (0, -signal.SIGTERM)):
        problem = f"exit {status} {'after' if served else 'without'} serving: {' | '.join(stderr_lines)[-600:]!r}"
    return Outcome(case, seconds, rss, problem)


def run(count: int, seed: int, *, command: list[str] | None = None, memory_mib: int = 1024,
        time_limit: float = 20, jobs: int = 2) -> tuple[list[str], list[str]]:  # fmt: skip
    """Make and start ``count`` folders: (the summary lines, the failures)."""
    command = command or [str(Path(sys.executable).parent / "mock-server")]
    rng = random.Random(seed)
    base = Path(tempfile.mkdtemp(prefix="hostile-fixtures-"))
    cases = [(folder(rng, base / f"folder-{index:03d}"), base / f"folder-{index:03d}") for index in range(count)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(lambda item: check(*item, command, memory_mib << 20, time_limit), cases))
    failures = [f"{outcome.case.label}: {outcome.problem}" for outcome in outcomes if outcome.problem]
    refused = sum(1 for outcome in outcomes if outcome.case.broken and not outcome.problem)
    served = sum(1 for outcome in outcomes if not outcome.case.broken and not outcome.problem)
    summary = [
        f"fixture folders: {count} (seed {seed}): {refused} refused in one line (exit 2), {served} valid and served, "
        f"{len(failures)} failed",
        f"fixture folders: max RSS {max((o.rss_mib for o in outcomes), default=0):.0f} MiB (limit {memory_mib}), "
        f"max time {max((o.seconds for o in outcomes), default=0):.1f} s (limit {time_limit:.0f})",
    ]
    if failures:
        summary.append(f"fixture folders kept in {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
    return summary, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folders", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory", type=int, default=1024, help="MiB of address space each start may use")
    parser.add_argument("--time-limit", type=float, default=20, help="seconds to refuse or serve a folder")
    args = parser.parse_args()
    summary, failures = run(args.folders, args.seed, memory_mib=args.memory, time_limit=args.time_limit)
    print("\n".join(summary))
    for failure in failures[:20]:
        print("  " + failure)
    if failures:
        print(f"reproduce: python scripts/hostile_fixtures.py --seed {args.seed} --folders {args.folders}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
