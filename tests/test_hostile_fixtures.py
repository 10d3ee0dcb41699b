"""The hostile fixture folders of make fuzz: each is judged, and a mock that mishandles them is reported."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import hostile_fixtures  # noqa: E402

pytestmark = pytest.mark.socket


def test_the_same_seed_makes_the_same_folders(tmp_path: Path) -> None:
    def make(seed: int, where: Path) -> list[tuple[str, str | None, bytes]]:
        rng = random.Random(seed)
        cases = [hostile_fixtures.folder(rng, where / str(index)) for index in range(12)]
        files = [where / str(index) / "organizations.yaml" for index in range(12)]
        return [(case.label, case.broken, path.read_bytes()[:4000] if path.is_file() else b"") for case, path in
                zip(cases, files, strict=True)]  # fmt: skip

    assert make(5, tmp_path / "a") == make(5, tmp_path / "b") != make(6, tmp_path / "c")


@pytest.mark.parametrize(
    ("behaviour", "reported"),
    [
        ("raise SystemExit('Traceback (most recent call last):\\n  boom')", "exit 1"),
        ("print('mock-server: error: no', file=sys.stderr); raise SystemExit(2)", "exit 2"),
    ],
)
def test_a_mock_that_does_not_name_the_file_is_reported(tmp_path: Path, behaviour: str, reported: str) -> None:
    fake = tmp_path / "fake_mock.py"
    fake.write_text(f"import sys\n{behaviour}\n", encoding="utf-8")
    summary, failures = hostile_fixtures.run(4, 3, command=[sys.executable, str(fake)], time_limit=10)
    assert len(failures) == 4, failures
    assert all(reported in failure for failure in failures), failures
    assert "4 failed" in summary[0]
