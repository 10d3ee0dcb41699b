"""What the package carries: the document, the fixtures and the templates, read with importlib.resources."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import mock_server
from mock_server.pages import TEMPLATES
from mock_server.settings import DEFAULT_FIXTURES
from mock_server.spec import SPEC_PATH

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(mock_server.__file__).parent


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def test_the_package_carries_the_top_level_document_byte_for_byte() -> None:
    packaged = resources.files("mock_server") / "data" / "openapi.yaml"
    assert packaged.read_bytes() == (ROOT / "openapi.yaml").read_bytes()


def test_the_package_carries_every_top_level_fixture_byte_for_byte() -> None:
    packaged = Path(str(resources.files("mock_server") / "data" / "fixtures"))
    assert _files(packaged) == _files(ROOT / "fixtures")
    assert {"organizations.yaml", "prices.yaml"} <= set(_files(packaged))


def test_the_document_fixtures_and_templates_are_found_inside_the_package() -> None:
    for path in (SPEC_PATH, DEFAULT_FIXTURES, TEMPLATES):
        assert path.is_relative_to(PACKAGE), f"{path} is outside {PACKAGE}"
        assert path.exists()
    assert (TEMPLATES / "dashboard.html").is_file()


def test_contract_tests_without_the_contract_extra_names_the_extra() -> None:
    """Without pytest (the extra's packages), one line on stderr and exit 2, for --help too."""
    for argv in ([], ["--help"]):
        code = f"import sys; sys.modules['pytest'] = None; import contract_tests; sys.exit(contract_tests.main({argv}))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.splitlines() == [
            "contract-tests: the contract suite needs the contract extra (pytest is missing): "
            "pip install 'org-billing-mock[contract]'"
        ]
