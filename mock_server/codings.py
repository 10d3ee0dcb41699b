"""The body of a deployment's answer, decoded from the codings its ``Content-Encoding`` lists, within a cap.

:class:`Body` takes the bytes as they arrive and keeps at most ``cap`` of them, before and after
decoding: ``gzip`` (``x-gzip``, several members too) and ``deflate`` (with its zlib wrapper or
without, as clients read it), in the reverse of the order they were applied; ``identity`` is
nothing. Each step inflates at most one byte past the cap, so a gzip bomb costs what the cap
allows and no more. A coding it does not know, or a body its coding does not hold, is
:class:`BadCoding`; a body past the cap is :class:`TooLarge`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

__all__ = ["BadCoding", "Body", "TooLarge"]

_GZIP = zlib.MAX_WBITS | 16
_NAMED = frozenset({"br", "zstd", "compress", "x-compress", "exi", "pack200-gzip", "aes128gcm", "dcb", "dcz"})
"""Codings the registry knows that are not decoded here: named in the error, any other is not quoted."""


class TooLarge(Exception):
    """The body passed the cap."""


class BadCoding(Exception):
    """A coding not decoded here, or a body its coding does not hold; the message is safe to show."""


class _Inflate:
    """One ``gzip`` or ``deflate`` step, giving at most ``room + 1`` bytes per call."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._pending = b""  # deflate: the first two bytes say whether the zlib wrapper is there
        self._inflater: zlib._Decompress | None = zlib.decompressobj(_GZIP) if coding == "gzip" else None

    def feed(self, data: bytes, room: int) -> bytes:
        if self._inflater is None:
            self._pending += data
            if len(self._pending) < 2:
                return b""
            head = self._pending[0] << 8 | self._pending[1]
            wrapped = self._pending[0] & 0x0F == 8 and head % 31 == 0
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._pending = self._pending, b""
        out = b""
        try:
            while data:
                out += self._inflater.decompress(data, room + 1 - len(out))
                if len(out) > room:
                    raise TooLarge
                data = self._inflater.unused_data
                if data and self._inflater.eof:
                    if self.coding != "gzip":
                        raise BadCoding(f"the {self.coding} body goes on past its end")
                    self._inflater = zlib.decompressobj(_GZIP)  # the next member of the gzip file
                else:
                    data = b""
        except zlib.error:
            raise BadCoding(f"the body is not valid {self.coding}") from None
        return out

    def finish(self) -> None:
        if self._pending or (self._inflater is not None and not self._inflater.eof):
            raise BadCoding(f"the {self.coding} body ends before its end")


class Body:
    """The decoded body of an answer, fed as it arrives; :class:`TooLarge` past ``cap`` bytes."""

    def __init__(self, codings: Iterable[str], cap: int) -> None:
        self.cap = cap
        self.received = 0
        self._chunks: list[bytes] = []
        self._size = 0
        self._steps: list[_Inflate] = []
        for header in codings:
            for part in header.split(","):
                coding = part.strip().lower()
                if coding in ("", "identity"):
                    continue
                if coding not in ("gzip", "x-gzip", "deflate"):
                    named = f"the content coding {coding!r}" if coding in _NAMED else "a content coding"
                    raise BadCoding(f"sent {named}, which the mock does not decode (it asks for identity)")
                self._steps.insert(0, _Inflate("gzip" if coding == "x-gzip" else coding))

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self.cap:
            raise TooLarge
        for number, step in enumerate(self._steps, 1):
            data = step.feed(data, self.cap - self._size if number == len(self._steps) else self.cap)
        self._size += len(data)
        if self._size > self.cap:
            raise TooLarge
        if data:
            self._chunks.append(data)

    def finish(self) -> bytes:
        """The whole decoded body; :class:`BadCoding` when a coding's body was cut short."""
        for step in self._steps:
            step.finish()
        return b"".join(self._chunks)
