"""The bounded YAML reader: what PyYAML's safe loader reads, within limits, from regular files only."""

from __future__ import annotations

import os
import re
import resource
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from billing_contract import bounded_yaml
from billing_contract.bounded_yaml import YamlLimits, YamlRefused, load, load_file, read_file
from mock_server.settings import DEFAULT_FIXTURES
from mock_server.spec import SPEC_PATH

from .conftest import outcome_within


def billion_laughs(levels: int = 9, width: int = 9, *, key: str = "lol") -> str:
    """A kilobyte that stands for width**levels strings once its aliases are written out."""
    lines = [f"{key}0: &{key}0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"{key}{level}: &{key}{level} [{', '.join([f'*{key}{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def refused(text: str | bytes, limits: YamlLimits | None = None) -> YamlRefused:
    with pytest.raises(YamlRefused) as caught:
        load(text, limits or YamlLimits())
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300, str(caught.value)
    return caught.value


def test_ordinary_documents_read_as_pyyaml_reads_them() -> None:
    for path in (SPEC_PATH, DEFAULT_FIXTURES / "organizations.yaml", DEFAULT_FIXTURES / "prices.yaml"):
        expected = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert load_file(path) == expected
        # the same document with an anchor goes through the counting composer: the same data
        assert load(path.read_text(encoding="utf-8") + "\n# &anchor *alias in a comment\n") == expected


def test_aliases_within_the_limits_are_read() -> None:
    assert load("base: &base {a: 1}\nfirst: *base\nsecond: {<<: *base, b: 2}\n") == {
        "base": {"a": 1},
        "first": {"a": 1},
        "second": {"a": 1, "b": 2},
    }
    assert load(billion_laughs(levels=3, width=9))["lol2"][0][0] == ["lol"] * 9


def test_an_alias_bomb_is_refused_at_once_in_little_memory() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    error = refused(billion_laughs())
    assert error.limit == "max_alias_nodes"
    assert "more than 100,000 nodes (line 6" in str(error)
    assert time.monotonic() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB


def test_many_aliases_of_a_small_node_are_refused() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 1001) + "]\n"
    assert refused(text).limit == "max_aliases"
    assert load(text, YamlLimits(max_aliases=2000))["b"][1000] == 1


def test_an_alias_inside_the_node_it_names_is_refused() -> None:
    """PyYAML builds a list that contains itself: printing, copying or checking it never ends."""
    assert "has the alias 'a' inside the node it names" in str(refused("a: &a [1, *a]\n"))
    assert "inside the node it names" in str(refused("a: &a {b: *a}\n"))


@pytest.mark.parametrize("opening", ["[", "{a: ", "- "])
def test_nesting_past_the_depth_limit_is_refused(opening: str) -> None:
    closing = {"[": "]", "{a: ": "}", "- ": ""}[opening]
    ok, deep = (opening * levels + "1" + closing * levels for levels in (64, 65))
    if opening == "- ":  # block style: each level on its own line, indented
        ok, deep = ("\n".join("  " * level + "-" for level in range(levels)) + " 1" for levels in (64, 65))
    load(ok)
    assert refused(deep).limit == "max_depth"
    assert refused(deep + "\n# & *").limit == "max_depth"  # the counting composer checks it too


def test_a_key_repeated_in_one_mapping_is_refused() -> None:
    assert "the key 'apiKey' appears twice in one mapping" in str(refused("apiKey: a\nlabel: x\napiKey: b\n"))
    assert "(line 3, column 1)" in str(refused("apiKey: a\nlabel: x\napiKey: b\n"))
    assert "the key 1 appears twice" in str(refused("{1: a, 0x1: b}"))  # the same key, written two ways
    assert load("base: &b {a: 1}\nover: {<<: *b, a: 2}\n")["over"] == {"a": 2}  # a merge may be overridden


@pytest.mark.parametrize("digits", ["9" * 5000, "0x" + "f" * 5000, ":".join(["59"] * 3000)])
def test_an_integer_longer_than_python_converts_is_refused(digits: str) -> None:
    assert "an integer of" in str(refused(f"amount: {digits}\n"))


def test_a_document_over_the_size_limit_is_refused() -> None:
    assert refused("a: 1234\n", YamlLimits(max_bytes=4)).limit == "max_bytes"


def test_only_utf8_is_read() -> None:
    assert "is not UTF-8 (byte 0xff at offset 3)" in str(refused(b"a: \xff\n"))
    assert "not UTF-8" in str(refused("a: 1\n".encode("utf-16")))
    assert load("\ufeffa: 1\n".encode()) == {"a": 1}  # a byte order mark is UTF-8 too


def test_errors_quote_a_short_excerpt_of_the_input() -> None:
    for text in ("a: *" + "x" * 100_000, "a: !" + "t" * 100_000 + " 1", "a: [" + "b" * 100_000):
        refused(text)  # one short line, whatever the input


def test_only_one_document_is_read() -> None:
    assert "expected a single document" in str(refused("a: 1\n---\nb: 2\n"))


def test_a_python_tag_is_refused() -> None:
    assert "could not determine a constructor" in str(refused("a: !!python/object/apply:os.system [ls]\n"))


def test_the_plain_path_is_taken_only_without_anchors_and_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []
    for name in ("_PLAIN", "_COUNTING"):
        original = getattr(bounded_yaml, name)
        if original is None:
            pytest.skip("PyYAML without libyaml: every document is counted")

        def make(text: str, _original: Any = original, _name: str = name) -> Any:
            used.append(_name)
            return _original(text)

        monkeypatch.setattr(bounded_yaml, name, make)
    load("a: [1, 2]\n")
    load("a: &x 1\nb: *x\n")
    load("a: '&'\n")  # an ampersand in a string: counted, to be safe
    assert used == ["_PLAIN", "_COUNTING", "_COUNTING"]


# files ----------------------------------------------------------------------


def test_a_file_is_read_whole_within_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"a: 1\n")
    assert read_file(path, 5) == b"a: 1\n"
    with pytest.raises(YamlRefused, match="is 5 bytes, over the limit of 4"):
        read_file(path, 4)
    with pytest.raises(FileNotFoundError):
        read_file(tmp_path / "missing.yaml", 5)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "organizations.yaml"
    os.mkfifo(fifo)
    error = outcome_within(5, lambda: load_file(fifo))
    assert isinstance(error, YamlRefused) and "is not a regular file (a FIFO)" in str(error)


@pytest.mark.parametrize(("target", "kind"), [("/dev/zero", "character device"), (".", "folder")])
def test_a_link_to_a_device_or_a_folder_is_refused(tmp_path: Path, target: str, kind: str) -> None:
    link = tmp_path / "prices.yaml"
    link.symlink_to(target if target.startswith("/") else tmp_path)
    error = outcome_within(5, lambda: load_file(link))
    assert isinstance(error, YamlRefused) and f"(a {kind})" in str(error)


def test_a_link_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.yaml").write_text("- 1\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    assert load_file(tmp_path / "link.yaml") == [1]


# the contract suite's --spec ---------------------------------------------------


@pytest.mark.parametrize(
    ("tail", "why"),
    [
        (billion_laughs(key="x-lol"), "has aliases that stand for more than 100,000 nodes"),
        ("paths: {}\n", "the key 'paths' appears twice in one mapping"),
        ("x-deep: " + "[" * 70 + "]" * 70 + "\n", "nests more than 64 levels deep"),
    ],
)
def test_a_hostile_spec_is_refused_in_one_line(tmp_path: Path, tail: str, why: str) -> None:
    from contract_tests.document import DocumentError
    from contract_tests.document import load as load_spec

    path = tmp_path / "openapi.yaml"
    path.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n" + tail, encoding="utf-8")
    with pytest.raises(DocumentError, match=f"--spec {re.escape(str(path))} is not YAML or JSON: .*{why}") as caught:
        load_spec(str(path))
    assert "\n" not in str(caught.value)
