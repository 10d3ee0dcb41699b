"""The files of a ``--record`` folder: read and checked at start, each replaced whole when it changes.

``organizations.yaml`` and ``prices.yaml`` are in the format ``--fixtures`` loads; ``README.md``
lists the demo credentials. A file is written to a temporary file beside it, then put in its place
(``os.replace``), so a crash leaves the old file or the new one, never half of one. A folder whose
files were not written by a recording, or that ``--fixtures`` would refuse, is refused, naming the
file: a recording never overwrites what it cannot read.

Writing (rendering the YAML, syncing it to disk: hundreds of milliseconds for thousands of
organizations) happens in one writer thread, never in the caller's: :meth:`RecordingFiles.changed`
marks the folder changed and returns. The writer renders what the folder holds when it gets to it,
so changes that come while it writes are written together, in one go, next: at most one write
waits, and the files on disk always end as the latest change left them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml

from billing_contract.bounded_yaml import YamlRefused, read_file

from .fixtures import FixtureError, Price, load_prices, load_tenants, read_entries
from .logs import log_failure
from .settings import DEFAULT_FIXTURES, MAX_FIXTURE_BYTES
from .spec import ApiSpec

__all__ = ["MARK", "README_MARK", "RecordingFiles"]

logger = logging.getLogger("mock_server.recording")

MARK = "# Recorded by mock-server --record"
README_MARK = "# Recorded organizations"
_HEADS = {
    "prices.yaml": f"{MARK} at {{stamp}}: the shipped catalog, and each price id a POST /billing\n"
    "# was given through --proxy, priced as the first catalog price of its tier.\n",
    "organizations.yaml": f"{MARK} at {{stamp}}, from the answers seen through --proxy.\n"
    "# One entry per organization, matched by organizationId; its credentials are generated demo ones (README.md).\n"
    "# Serve with: mock-server --fixtures {folder}. Recording into this folder again updates the entries.\n",
    "README.md": f"{README_MARK}\n\nWritten by `mock-server --record` at {{stamp}}, from the answers seen through\n"
    "`--proxy`. Serve them offline with `mock-server --fixtures {folder}`.\n\n"
    "Each organization has generated demo credentials; the real ones were never written here.\n\n",
}
_TABLE = (
    "| organization | organizationId | bearer key | basic: clientId | basic: clientSecret |",
    "| --- | --- | --- | --- | --- |",
)


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then put it in ``path``'s place."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, 0o644)  # mkstemp's 0600 would hide demo data from the rest of the team
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _head(path: Path) -> bytes:
    """The bytes of a file of the folder (regular files only, never waiting on a FIFO, within the fixtures' limit)."""
    try:
        return read_file(path, MAX_FIXTURE_BYTES)
    except (OSError, YamlRefused) as error:
        raise FixtureError(f"{path} {error}") from None


def _cell(text: str) -> str:
    """Text for a Markdown table cell."""
    return text.replace("|", "\\|")


def _dump(entries: dict[str, dict[str, Any]]) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's: a tenth of the time
    return yaml.dump(list(entries.values()), Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)


class RecordingFiles:
    """What the folder holds: ``entries`` (organizationId to entry) and ``prices`` (id to entry), changed only
    with ``lock`` held, each entry replaced, never changed in place (the writer copies the two dicts alone)."""

    def __init__(self, folder: Path, spec: ApiSpec) -> None:
        self.folder = folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise FixtureError(f"recording folder {folder}: {error.strerror or error}") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise FixtureError(f"recording folder {folder} cannot be written")
        for name in _HEADS:
            path = folder / name
            mark = README_MARK if name == "README.md" else MARK
            if path.exists() and not _head(path).startswith(mark.encode()):
                raise FixtureError(f"{path} was not written by a recording; record into a new folder")
        organizations, prices = folder / "organizations.yaml", folder / "prices.yaml"
        if organizations.exists():
            load_tenants(folder, spec)  # a broken file is refused, named, before anything is written
        if prices.exists():
            load_prices(folder)
        self.catalog: dict[str, Price] = load_prices(DEFAULT_FIXTURES)
        self.entries = {
            entry["organization"]["organizationId"]: entry
            for entry in (read_entries(organizations) if organizations.exists() else [])
        }
        shipped = prices if prices.exists() else DEFAULT_FIXTURES / "prices.yaml"
        self.prices = {entry["id"]: entry for entry in read_entries(shipped)}
        rendered = self._render(self.entries, self.prices)
        self._written = {name: text for name, text in rendered.items() if (folder / name).exists()}
        self.lock = threading.Condition()
        self.unwritten = False
        """A change is not on disk yet (a write failed): the next observation tries again."""
        self._stamp = ""
        self._pending = False
        self._writer: threading.Thread | None = None

    def _render(self, entries: dict[str, dict[str, Any]], prices: dict[str, dict[str, Any]]) -> dict[str, str]:
        """Each file's text below its header; prices first, so no organization is written before them."""
        rows = [
            f"| {_cell(entry['organization']['name'])} | `{organization_id}` | `{entry['apiKey']}` "
            f"| `{entry['clientId']}` | `{entry['clientSecret']}` |"
            for organization_id, entry in entries.items()
        ]
        added = [f"- `{key}` ({price['tier']} tier)" for key, price in prices.items() if key not in self.catalog]
        seen = "Prices seen in `POST /billing` beyond the shipped catalog:" if added else "No price beyond the catalog."
        return {
            "prices.yaml": _dump(prices),
            "organizations.yaml": _dump(entries),
            "README.md": "\n".join([*_TABLE, *rows, "", seen, *added, ""]),
        }

    def changed(self, stamp: str) -> None:
        """Have the writer thread write the folder as it will then be, its header saying ``stamp``; with ``lock``
        held. Returns at once: a write already under way is followed by one more, which writes this change."""
        self._stamp, self._pending = stamp, True
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_while_changed, name="recording-writer", daemon=True)
            self._writer.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every change so far is written (or failed to be); False if ``timeout`` s passed first."""
        with self.lock:
            return self.lock.wait_for(lambda: self._writer is None, timeout)

    def _write_while_changed(self) -> None:
        while True:
            with self.lock:
                if not self._pending:  # decided with the lock held: a change from now on starts a new writer
                    self._writer = None
                    self.lock.notify_all()
                    return
                self._pending = False
                entries, prices, stamp = dict(self.entries), dict(self.prices), self._stamp
            try:
                written = self._write(stamp, self._render(entries, prices))
            except Exception as error:  # a bug: logged, and tried again at the next change
                log_failure(logger, "recording: %s not written", self.folder, error=error)
                written = False
            with self.lock:
                self.unwritten = not written

    def _write(self, stamp: str, rendered: dict[str, str]) -> bool:
        """Replace each file whose content changed; a header says it was recorded, and when (``stamp``)."""
        for name, text in rendered.items():
            if self._written.get(name) == text:
                continue
            try:
                _replace(self.folder / name, _HEADS[name].format(stamp=stamp, folder=self.folder) + text)
            except OSError as error:
                logger.error("recording: %s not written: %s", self.folder / name, error.strerror or error)
                return False
            self._written[name] = text
        return True
