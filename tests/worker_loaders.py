"""A pytest plugin for tests/test_contract_cli.py: each xdist worker writes which loader imported Schemathesis."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    folder = os.environ.get("WORKER_LOADERS")
    if worker and folder:
        loader = type(getattr(sys.modules["schemathesis"], "__loader__", None)).__name__
        Path(folder, worker).write_text(loader, encoding="utf-8")
