"""The project's scripts (``scripts/``, ``benchmarks/``), which are no package, loaded as modules for a test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["load_script"]

ROOT = Path(__file__).resolve().parent.parent


def load_script(path: str) -> ModuleType:
    """The script at ``path`` (from the top of the checkout), as the module named after its file."""
    name = Path(path).stem
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
