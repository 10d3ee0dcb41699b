"""CPU milliseconds to read fixtures: PyYAML's libyaml loader beside the bounded reader, and the whole check.

    .venv/bin/python benchmarks/fixtures_load.py [--organizations 3000] [--runs 5]

For the shipped fixtures and for a ``--record`` folder of N organizations (written as a
recording writes them), prints the best of ``--runs`` for: ``yaml.load`` with ``CSafeLoader``
(what read the fixtures before the bounded reader), the bounded reader on the file as it is
(libyaml composes a text without ``&`` or ``*``), the bounded reader's counting composer (the
same text with an anchor in a comment), and ``load_tenants`` / ``load_prices`` (the reader and
every field's check).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from billing_contract.bounded_yaml import load
from mock_server.fixtures import load_prices, load_tenants
from mock_server.generate import generate_tenants
from mock_server.settings import DEFAULT_FIXTURES
from mock_server.spec import ApiSpec, load_spec


def best(runs: int, call: Callable[[], Any]) -> float:
    """The fastest of ``runs`` calls, in milliseconds of this process's CPU time (steadier than wall time when
    the machine is shared)."""
    times = []
    for _ in range(runs):
        started = time.process_time()
        call()
        times.append(time.process_time() - started)
    return min(times) * 1000


def recording(folder: Path, count: int) -> Path:
    """A folder of ``count`` organizations in the format and style ``--record`` writes."""
    entries = [
        {
            "label": "recorded",
            "description": f"{tenant.organization['name']} (recorded)",
            "apiKey": tenant.api_key,
            "clientId": tenant.client_id,
            "clientSecret": tenant.client_secret,
            "organization": tenant.organization,
        }
        for tenant in generate_tenants(count, seed=1)
    ]
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(entries, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)
    (folder / "organizations.yaml").write_text("# Recorded by mock-server --record\n" + text, encoding="utf-8")
    (folder / "prices.yaml").write_bytes((DEFAULT_FIXTURES / "prices.yaml").read_bytes())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--organizations", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    spec = load_spec()
    folders = {
        "shipped fixtures": DEFAULT_FIXTURES,
        f"--record folder of {args.organizations:,}": recording(Path(tempfile.mkdtemp()), args.organizations),
    }
    columns = ("bytes", "CSafeLoader", "bounded", "counted", "checked")
    print(f"{'(ms, best of ' + str(args.runs) + ')':44}" + " ".join(f"{column:>11}" for column in columns))
    for name, folder in folders.items():
        for file in ("organizations.yaml", "prices.yaml"):
            print(f"{name + ' ' + file:44}" + " ".join(f"{cell:>11}" for cell in row(folder, file, spec, args.runs)))


def row(folder: Path, file: str, spec: ApiSpec, runs: int) -> list[str]:
    text = (folder / file).read_text(encoding="utf-8")
    anchored = text + "\n# & *\n"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    times = [
        best(runs, lambda: yaml.load(text, Loader=loader)),  # noqa: S506 - the safe loader, in C
        best(runs, lambda: load(text)),
        best(runs, lambda: load(anchored)),
        best(runs, lambda: load_tenants(folder, spec) if file == "organizations.yaml" else load_prices(folder)),
    ]
    return [f"{len(text.encode()):,}", *(f"{ms:.1f}" for ms in times)]


if __name__ == "__main__":
    main()
