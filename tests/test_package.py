"""What the package carries: the document, the fixtures and the templates, read with importlib.resources."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

import mock_server
from mock_server import docs
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


def test_the_package_carries_every_page_of_the_docs_byte_for_byte() -> None:
    packaged = Path(str(resources.files("mock_server") / "data" / "docs"))
    pages = {name: text for name, text in _files(ROOT / "docs").items() if name.endswith(".md")}
    assert {name: text for name, text in _files(packaged).items() if name.endswith(".md")} == pages
    assert {"state.md", "proxy.md", "guide.md"} <= set(pages)
    assert docs.pages() == sorted(name.removesuffix(".md") for name in pages)


def _messages() -> list[tuple[str, str]]:
    """Every string of the packages' code that is not a docstring, with its file; and admin.yaml's text."""
    found = []
    for package in ("mock_server", "contract_tests", "billing_contract"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text())
            docstrings = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                and node.body
                and isinstance(node.body[0], ast.Expr)
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                    found.append((str(path.relative_to(ROOT)), node.value))
    found.append(("mock_server/admin.yaml", (ROOT / "mock_server" / "admin.yaml").read_text()))
    return found


def test_messages_name_only_pages_an_installed_package_can_show() -> None:
    """A path such as docs/state.md does not exist where the package is installed: messages name
    ``mock-server --docs state``, which prints the page the package carries."""
    named = set()
    for where, text in _messages():
        assert not re.search(r"docs/[\w-]+\.md", text), f"{where}: {text[:120]!r}"
        named |= set(re.findall(r"mock-server --docs ([a-z][\w-]*)", text))
    assert {"state", "proxy"} <= named
    for page in named:
        assert docs.read(page), f"a message names mock-server --docs {page}, which the package does not carry"


def test_mock_server_docs_prints_a_page_and_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    from mock_server.cli import parse_args

    with pytest.raises(SystemExit) as stopped:
        parse_args(["--docs", "state"], environ={})
    assert stopped.value.code == 0
    assert capsys.readouterr().out == (ROOT / "docs" / "state.md").read_text()
    with pytest.raises(SystemExit):
        parse_args(["--docs"], environ={})
    listing = capsys.readouterr().out
    pages = sorted(path.stem for path in (ROOT / "docs").glob("*.md"))
    assert listing.startswith("Pages: " + ", ".join(pages) + " (mock-server --docs PAGE prints one")
    for page in ("../README", "nope", "state.md"):
        with pytest.raises(SystemExit) as stopped:
            parse_args(["--docs", page], environ={})
        assert stopped.value.code == 2
        assert "the pages are architecture, contract-tests, guide" in capsys.readouterr().err


def test_the_version_the_commands_say_is_the_packages() -> None:
    import tomllib

    import billing_contract

    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == billing_contract.__version__
    assert mock_server.__version__ == billing_contract.__version__


def test_the_document_fixtures_and_templates_are_found_inside_the_package() -> None:
    for path in (SPEC_PATH, DEFAULT_FIXTURES, TEMPLATES, docs.DOCS):
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
