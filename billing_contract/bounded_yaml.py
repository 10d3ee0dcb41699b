"""The one reader of YAML that comes from outside: within limits, regular files only, no repeated key.

PyYAML's safe loader builds the node an alias names once and shares it, so an alias bomb of a
kilobyte ("billion laughs") loads at once and exhausts memory later, when the value is copied,
compared or turned into text. Here the composer counts each alias and the nodes it stands for,
and refuses the document past :class:`YamlLimits`: its size in bytes, its nesting depth, the
number of aliases and the nodes they add, an alias to a node that contains it. A mapping that
repeats a key is refused (PyYAML keeps the last value silently), and so is an integer written
with more digits than Python converts (4,300).

:func:`read_file` opens regular files only, and never waits: a FIFO, a device (``/dev/zero``) or a
folder is refused without being read, and at most ``max_bytes`` + 1 bytes are read of a file.

libyaml does the scanning and parsing when PyYAML has it. A text without ``&`` or ``*`` can hold no
anchor and no alias, so libyaml composes it as well (libyaml's speed), and its depth is measured
after; any other text is composed by PyYAML's composer, which counts.

Every refusal is a :class:`YamlRefused` (a ``yaml.YAMLError``) whose message is one line, quoting
at most a short excerpt of the input.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.error import MarkedYAMLError
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import Resolver

from .excerpt import clip, excerpt

__all__ = ["YamlLimits", "YamlRefused", "load", "load_file", "read_file"]

_MAX_INTEGER_CHARS = 4300  # Python's own limit for int(): a longer integer is refused, named
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"


@dataclasses.dataclass(frozen=True)
class YamlLimits:
    """What one document may hold. The defaults are far above any fixture or OpenAPI document."""

    max_bytes: int = 16 * 1024 * 1024
    """The file or text, in bytes (characters for a text given as ``str``)."""
    max_depth: int = 64
    """Nesting of sequences and mappings."""
    max_aliases: int = 1_000
    """Aliases (``*name``) in the document."""
    max_alias_nodes: int = 100_000
    """Nodes the aliases stand for, counted as if each alias were written out in full."""


class YamlRefused(yaml.YAMLError):
    """The document cannot be read, is not YAML, or is past a limit (``limit`` names the field of
    :class:`YamlLimits`, or is None)."""

    def __init__(self, reason: str, limit: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit

    def __str__(self) -> str:
        return self.reason


def read_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path`` (links followed), at most ``max_bytes`` of them.

    Raises ``FileNotFoundError`` when nothing is there, :class:`YamlRefused` for anything else.
    """
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise
    except OSError as error:
        raise YamlRefused(f"cannot be opened: {error.strerror or error}") from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise YamlRefused(f"is not a regular file (a {_kind(info.st_mode)}): only files are read")
        if info.st_size > max_bytes:
            raise YamlRefused(f"is {info.st_size:,} bytes, over the limit of {max_bytes:,}", "max_bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(handle, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise YamlRefused(f"is over the limit of {max_bytes:,} bytes", "max_bytes")
        return b"".join(chunks)
    except OSError as error:
        raise YamlRefused(f"cannot be read: {error.strerror or error}") from None
    finally:
        os.close(handle)


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))  # fmt: skip
    return next((name for test, name in kinds if test(mode)), "special file")


def load_file(path: Path, limits: YamlLimits = YamlLimits()) -> Any:
    """The one document of the file at ``path``; see :func:`read_file` and :func:`load`."""
    return load(read_file(path, limits.max_bytes), limits)


def load(text: str | bytes, limits: YamlLimits = YamlLimits()) -> Any:
    """The one document of ``text`` (bytes must be UTF-8), as PyYAML's safe loader builds it, within ``limits``."""
    if len(text) > limits.max_bytes:
        raise YamlRefused(f"is {len(text):,} bytes, over the limit of {limits.max_bytes:,}", "max_bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise YamlRefused(
                f"is not UTF-8 (byte {error.object[error.start]:#04x} at offset {error.start:,})"
            ) from None
    plain = "&" not in text and "*" not in text  # no anchor, no alias: libyaml may compose it all
    loader_class = _PLAIN if plain and _PLAIN is not None else _COUNTING
    loader = loader_class(text)
    loader.limits = limits
    try:
        data = loader.get_single_data()
    except YamlRefused:
        raise
    except MarkedYAMLError as error:
        raise YamlRefused(_marked(error)) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as error:
        first = str(error).splitlines()[:1] or ["unreadable"]
        raise YamlRefused(f"is not valid YAML: {clip(first[0], 120)}") from None
    finally:
        loader.dispose()
    if loader_class is _PLAIN and _deeper_than(data, limits.max_depth):
        raise YamlRefused(f"nests more than {limits.max_depth} levels deep", "max_depth")
    return data


def _marked(error: MarkedYAMLError) -> str:
    """PyYAML's error in one line: where, and the problem (cut short: it may quote the input)."""
    mark = error.problem_mark or error.context_mark
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    problem = " ".join(part for part in (error.context, error.problem) if part)
    return f"is not valid YAML{where}: {clip(problem.replace(chr(10), ' '), 120) or 'unreadable'}"


def _deeper_than(data: Any, most: int) -> bool:
    """Whether ``data`` nests more than ``most`` levels of lists and mappings (without recursion)."""
    stack = [(data, 1)] if isinstance(data, dict | list | tuple) else []
    while stack:
        value, depth = stack.pop()
        if depth > most:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))
    return False


class _Constructor(SafeConstructor):
    """PyYAML's safe constructor, refusing a repeated key and an integer longer than Python converts."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE:
                    continue
                # a text key is its scalar's value (the common case, without a call); others are built
                key = key_node.value if key_node.tag == _STR else self.construct_object(key_node, deep=deep)
                try:
                    repeated = key in seen
                except TypeError:  # an unhashable key: PyYAML says so below
                    continue
                if repeated:
                    raise ConstructorError(
                        None, None, f"the key {excerpt(key)} appears twice in one mapping", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        if len(node.value) > _MAX_INTEGER_CHARS:
            raise ConstructorError(
                None, None, f"an integer of {len(node.value):,} characters (at most {_MAX_INTEGER_CHARS:,})",
                node.start_mark,
            )  # fmt: skip
        value: int = super().construct_yaml_int(node)
        return value


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)  # type: ignore[type-var]


class _Counting(Composer):
    """PyYAML's composer, counting depth, aliases and the nodes each alias stands for."""

    limits: YamlLimits
    peek_event: Callable[[], Any]  # the parser's, beside this class in a loader

    def compose_document(self) -> Node | None:
        self._depth = 0
        self._nodes = 0  # nodes composed so far, each alias counted as the nodes it stands for
        self._aliases = 0
        self._alias_nodes = 0
        self._sizes: dict[str, int] = {}  # anchor -> nodes it stands for, once its node is complete
        return super().compose_document()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        limits = self.limits
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            anchor = event.anchor or ""
            size = self._sizes.get(anchor)
            if size is None and anchor in self.anchors:
                raise YamlRefused(f"has the alias {excerpt(anchor)} inside the node it names{_at(event)}")
            self._aliases += 1
            self._alias_nodes += size or 0
            self._nodes += size or 0
            if self._aliases > limits.max_aliases:
                raise YamlRefused(f"has more than {limits.max_aliases:,} aliases{_at(event)}", "max_aliases")
            if self._alias_nodes > limits.max_alias_nodes:
                raise YamlRefused(
                    f"has aliases that stand for more than {limits.max_alias_nodes:,} nodes{_at(event)}",
                    "max_alias_nodes",
                )
            return super().compose_node(parent, index)
        if self._depth >= limits.max_depth and not isinstance(event, ScalarEvent):
            raise YamlRefused(f"nests more than {limits.max_depth} levels deep{_at(event)}", "max_depth")
        before = self._nodes
        self._depth += 1
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._nodes += 1
        if event.anchor is not None:
            self._sizes[event.anchor] = self._nodes - before
        return node


def _at(event: Any) -> str:
    mark = event.start_mark
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def _loaders() -> tuple[Any, Any]:
    """(the counting loader, the plain one or None): libyaml's parser when PyYAML has it."""
    if yaml.__with_libyaml__:
        from yaml.cyaml import CParser  # type: ignore[attr-defined]

        class _LibyamlCounting(_Counting, CParser, _Constructor, Resolver):
            def __init__(self, stream: str) -> None:
                CParser.__init__(self, stream)
                _Constructor.__init__(self)
                Resolver.__init__(self)
                _Counting.__init__(self)

        class _LibyamlPlain(CParser, _Constructor, Resolver):
            def __init__(self, stream: str) -> None:
                CParser.__init__(self, stream)
                _Constructor.__init__(self)
                Resolver.__init__(self)

        return _LibyamlCounting, _LibyamlPlain

    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _PythonCounting(Reader, Scanner, Parser, _Counting, _Constructor, Resolver):
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            _Counting.__init__(self)
            _Constructor.__init__(self)
            Resolver.__init__(self)

    return _PythonCounting, None


_COUNTING, _PLAIN = _loaders()
