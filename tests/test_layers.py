"""One direction between the packages: mock_server and contract_tests both stand on billing_contract.

Every module is parsed with ``ast`` (nothing is imported), its imports resolved to
absolute names, relative ones included, wherever they sit (a function's body too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mock_server", "contract_tests", "billing_contract")
# package -> the packages of this project it must never import
FORBIDDEN = {
    "mock_server": {"contract_tests"},
    "contract_tests": {"mock_server"},
    "billing_contract": {"mock_server", "contract_tests"},
}
# billing_contract modules that need the contract extra: mock_server imports them only in proxy mode, inside a function
NEEDS_EXTRA = {"billing_contract.checks", "billing_contract.verdict"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str | None = None) -> list[tuple[str, bool]]:
    """Each module ``path`` (named ``name``) imports, absolute, and whether the import sits at its top level."""
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((module, id(node) in top))
            found += [(f"{module}.{alias.name}", id(node) in top) for alias in node.names]
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_one_it_must_not(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _modules(package)
        for module, _ in imports(path)
        if module.split(".")[0] in FORBIDDEN[package]
    ]
    assert not wrong


def test_mock_server_imports_the_extra_only_inside_a_function() -> None:
    """``mock-server`` runs without the contract extra: the oracle is imported in proxy mode only."""
    wrong = [
        f"{path.relative_to(ROOT)} imports {module} at its top level"
        for path in _modules("mock_server")
        for module, top in imports(path)
        if top and any(module == needs or module.startswith(needs + ".") for needs in NEEDS_EXTRA)
    ]
    assert not wrong


def test_the_check_sees_a_relative_import_that_goes_the_wrong_way(tmp_path: Path) -> None:
    """The parser itself: ``from ..contract_tests import x`` inside a function, in a module of mock_server."""
    module = tmp_path / "probe.py"
    module.write_text("def f():\n    from ..contract_tests import verdict\n    import contract_tests.cli\n")
    found = {name for name, _ in imports(module, "mock_server.probe")}
    assert {"contract_tests", "contract_tests.cli", "contract_tests.verdict"} <= found
