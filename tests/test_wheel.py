"""The built wheel and sdist, installed into fresh virtualenvs and run from outside the checkout.

Builds with the dev extra's ``build`` and setuptools, and installs offline from
the wheels of the dependencies that ``make wheelhouse`` keeps in ``.venv/wheels``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = Path(os.environ.get("WHEELHOUSE", ROOT / ".venv" / "wheels"))
PAID = {"Authorization": "Bearer sk_test_paid_org"}


def _missing() -> str | None:
    if importlib.util.find_spec("build") is None:
        return "needs the dev extra's build"
    if int(importlib.metadata.version("setuptools").split(".")[0]) < 77:
        return "needs the dev extra's setuptools>=77"
    if not any(WHEELHOUSE.glob("*.whl")):
        return f"needs the dependencies' wheels in {WHEELHOUSE}: make wheelhouse"
    return None


pytestmark = [pytest.mark.socket, pytest.mark.skipif(_missing() is not None, reason=str(_missing()))]


# Nothing of the checkout on the path (the project's own tests run with PYTHONPATH at the checkout).
CLEAN = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}


def _run(*argv: str | Path, cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=CLEAN
    )
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The sdist, the wheel built from it, and the build's log."""
    out = tmp_path_factory.mktemp("dist")
    log = _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT, cwd=out)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel, log


def _venv(home: Path, requirement: str) -> Path:
    """A fresh virtualenv with ``requirement`` installed offline; its bin folder."""
    _run(sys.executable, "-m", "venv", "--without-pip", home, cwd=home.parent)
    python = home / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index"]
    _run(*pip, "--find-links", WHEELHOUSE, requirement, cwd=home.parent)
    return home / "bin"


@pytest.fixture(scope="module")
def bare(dist: tuple[Path, Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel without the contract extra."""
    return _venv(tmp_path_factory.mktemp("bare") / "venv", str(dist[1]))


@pytest.fixture(scope="module")
def full(dist: tuple[Path, Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel with the contract extra."""
    return _venv(tmp_path_factory.mktemp("full") / "venv", f"{dist[1]}[contract]")


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory outside the checkout."""
    return tmp_path_factory.mktemp("elsewhere")


@pytest.fixture(scope="module")
def server(bare: Path, elsewhere: Path) -> Iterator[str]:
    """``mock-server --port 0`` of the wheel without the extra; its base URL. Its log goes to a file."""
    log = elsewhere / "mock-server.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [bare / "mock-server", "--port", "0"],
            cwd=elsewhere,
            env=CLEAN,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first)
        assert found, first + log.read_text()
        yield found.group(1)
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _packaged(root: str) -> dict[str, Path]:
    """Where the checkout keeps each file the package must carry, by its path inside the archive."""
    files = {
        f"{root}mock_server/data/openapi.yaml": ROOT / "openapi.yaml",
        f"{root}mock_server/admin.yaml": ROOT / "mock_server" / "admin.yaml",
    }
    for path in (ROOT / "fixtures").glob("*.yaml"):
        files[f"{root}mock_server/data/fixtures/{path.name}"] = path
    for path in (ROOT / "mock_server" / "templates").iterdir():
        files[f"{root}mock_server/templates/{path.name}"] = path
    for path in (ROOT / "docs").glob("*.md"):
        files[f"{root}mock_server/data/docs/{path.name}"] = path
    return files


def test_the_build_warns_of_nothing(dist: tuple[Path, Path, str]) -> None:
    log = dist[2]
    assert "Successfully built" in log
    assert "warning" not in log.lower() and "!!" not in log, log


def test_the_wheel_carries_the_document_fixtures_templates_and_license(dist: tuple[Path, Path, str]) -> None:
    with zipfile.ZipFile(dist[1]) as wheel:
        for name, source in _packaged("").items():
            assert wheel.read(name) == source.read_bytes(), name
        metadata = wheel.read("org_billing_mock-0.1.0.dist-info/METADATA").decode()
        assert "License-Expression: MIT" in metadata.splitlines()
        assert wheel.read("org_billing_mock-0.1.0.dist-info/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        entry_points = wheel.read("org_billing_mock-0.1.0.dist-info/entry_points.txt").decode()
        assert "[pytest11]\nbilling_mock = mock_server.pytest_plugin" in entry_points


def test_the_sdist_carries_the_top_level_files_and_the_packaged_copies(dist: tuple[Path, Path, str]) -> None:
    root = "org_billing_mock-0.1.0/"
    files = {**_packaged(root), f"{root}openapi.yaml": ROOT / "openapi.yaml", f"{root}LICENSE": ROOT / "LICENSE"}
    files |= {f"{root}fixtures/{path.name}": path for path in (ROOT / "fixtures").glob("*.yaml")}
    files |= {f"{root}docs/{path.name}": path for path in (ROOT / "docs").glob("*.md")}
    with tarfile.open(dist[0]) as sdist:
        for name, source in files.items():
            member = sdist.getmember(name)
            assert member.isfile(), f"{name} is not a regular file"
            extracted = sdist.extractfile(member)
            assert extracted is not None and extracted.read() == source.read_bytes(), name


def test_installed_the_package_reads_its_files_from_site_packages(bare: Path, elsewhere: Path) -> None:
    code = textwrap.dedent(
        """
        import sysconfig
        from pathlib import Path
        from mock_server.pages import TEMPLATES
        from mock_server.settings import DEFAULT_FIXTURES
        from mock_server.spec import SPEC_PATH
        from mock_server.docs import DOCS
        site = Path(sysconfig.get_paths()["purelib"]).resolve()
        for path in (SPEC_PATH, DEFAULT_FIXTURES, TEMPLATES, DOCS):
            assert path.resolve().is_relative_to(site / "mock_server"), path
            assert path.exists(), path
        print("ok")
        """
    )
    assert _run(bare / "python", "-c", code, cwd=elsewhere).strip() == "ok"


def test_installed_the_pages_messages_name_are_printed(bare: Path, elsewhere: Path) -> None:
    """``--state`` and ``--proxy`` errors say ``see mock-server --docs state``: that works installed."""
    printed = _run(bare / "mock-server", "--docs", "state", cwd=elsewhere)
    assert printed == (ROOT / "docs" / "state.md").read_text()
    refused = subprocess.run(
        [bare / "mock-server", "--state", "postgres://db"], cwd=elsewhere, env=CLEAN, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "see mock-server --docs state" in refused.stderr


def test_mock_server_runs_from_any_directory_without_the_extra(server: str) -> None:
    answer = httpx.get(f"{server}/account/organization", headers=PAID, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["organizationId"] == "org_paid_demo"
    assert httpx.get(f"{server}/__mock__/", timeout=10).status_code == 200, "the templates are found"


def test_contract_tests_without_the_extra_names_the_extra(bare: Path, elsewhere: Path) -> None:
    for argv in ([], ["--help"]):
        done = subprocess.run(
            [bare / "contract-tests", *argv], cwd=elsewhere, env=CLEAN, capture_output=True, text=True
        )
        assert done.returncode == 2
        assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
        assert "pip install 'org-billing-mock[contract]'" in done.stderr


def test_mock_server_proxy_without_the_extra_names_the_extra(bare: Path, elsewhere: Path) -> None:
    argv = [bare / "mock-server", "--port", "0", "--proxy", "https://staging.example.com"]
    done = subprocess.run(argv, cwd=elsewhere, env=CLEAN, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "pip install 'org-billing-mock[contract]'" in done.stderr


def test_contract_tests_with_the_extra_passes_against_the_installed_mock(
    full: Path, server: str, elsewhere: Path
) -> None:
    assert "--base-url" in _run(full / "contract-tests", "--help", cwd=elsewhere)
    out = _run(
        full / "contract-tests",
        *("--base-url", server, "--profile", "quick", "--api-key", "sk_test_paid_org"),
        *("--other-api-key", "sk_test_free_org", "--message-price-id", "price_message_starter"),
        cwd=elsewhere,
    )
    assert "the target honours the contract" in out


def test_another_projects_tests_get_the_fixture_from_the_entry_point(full: Path, elsewhere: Path) -> None:
    project = elsewhere / "other-project"
    project.mkdir()
    (project / "test_uses_the_mock.py").write_text(
        textwrap.dedent(
            """
            import httpx

            def test_the_paid_organization(billing_mock):
                answer = httpx.get(
                    billing_mock.url + "/account/organization", headers={"Authorization": "Bearer sk_test_paid_org"}
                )
                assert answer.json()["organizationType"] == "paid"
                assert billing_mock.requests()[-1]["status"] == 200
            """
        )
    )
    out = _run(full / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", cwd=project)
    assert "1 passed" in out


def test_the_suite_runs_under_pytest_from_its_installed_folder(full: Path, elsewhere: Path) -> None:
    """docs/install.md: pytest given the suite's folder takes the suite's options."""
    folder = _run(full / "python", "-c", "import contract_tests; print(contract_tests.__path__[0])", cwd=elsewhere)
    assert Path(folder.strip()).is_relative_to(full.parent / "lib")
    out = _run(full / "python", "-m", "pytest", folder.strip(), "--profile", "quick", "--seed", "3", cwd=elsewhere)
    assert "seed 3" in out and "the target honours the contract" in out
