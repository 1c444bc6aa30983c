"""The ICD-10-CM code set as a few flat byte strings: read from a file in milliseconds, small in memory.

A dict of 98,000 codes to `(is_leaf, description)` tuples costs about 60 ms to rebuild from any file
format (one Python object per code, tuple and description) and tens of MB per process. Here the codes are
one sorted string of fixed-width records, found by binary search (17 comparisons); the leaf flags are one
byte each; the descriptions are one UTF-8 string with the end offset of each. Loading is reading four byte
strings; a lookup decodes one description.
"""

from __future__ import annotations

import array
import struct
import zlib
from collections.abc import Iterator, Mapping

Entry = tuple[bool, str]  # (is a leaf, description)

WIDTH = 8  # the longest ICD-10-CM name, "S13.4XXA"
_PAD = b" "
_MAGIC = b"ICD10CM-TABLE/1\n"
_HEADER = struct.Struct("<5I")  # after the magic and the identity: checksum, then the four parts' sizes
_OFFSET = "I"  # unsigned 32-bit, native order (the identity names the byte order)


class CorruptTable(ValueError):
    """The bytes are not a table written by `CodeTable.to_bytes` for this identity."""


class CodeTable(Mapping[str, Entry]):
    """`code -> (is_leaf, description)`, read-only, in the code set's own spelling ("M54.50")."""

    __slots__ = ("_codes", "_count", "_descriptions", "_ends", "_leaves")

    def __init__(self, codes: bytes, leaves: bytes, descriptions: bytes, ends: bytes) -> None:
        count, rest = divmod(len(codes), WIDTH)
        if rest or len(leaves) != count or len(ends) != 4 * count:
            raise CorruptTable("the table's parts do not have the same number of codes")
        self._codes, self._leaves, self._descriptions = codes, leaves, descriptions
        self._ends = memoryview(ends).cast("I")
        self._count = count
        if count and self._ends[count - 1] != len(descriptions):
            raise CorruptTable("the descriptions do not end where the table says")

    @classmethod
    def of(cls, entries: Mapping[str, Entry]) -> CodeTable:
        codes = sorted(entries)
        records, leaves, descriptions, ends = [], bytearray(), bytearray(), array.array(_OFFSET)
        for code in codes:
            raw = code.encode("ascii")
            if len(raw) > WIDTH or _PAD in raw:
                raise ValueError(f"an ICD-10-CM name that does not fit the table: {code!r}")
            leaf, description = entries[code]
            records.append(raw.ljust(WIDTH, _PAD))
            leaves.append(1 if leaf else 0)
            descriptions += description.encode("utf-8")
            ends.append(len(descriptions))
        return cls(b"".join(records), bytes(leaves), bytes(descriptions), ends.tobytes())

    def to_bytes(self, identity: str) -> bytes:
        """A header (format, `identity`, checksum, the parts' sizes) and the four parts, nothing to unpickle."""
        parts = (self._codes, self._leaves, self._descriptions, self._ends.tobytes())
        return _header(identity, parts) + b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes, identity: str) -> CodeTable:
        """The table written for `identity`; `CorruptTable` for anything else (truncated, altered, stale)."""
        size = len(_MAGIC) + len(identity) + _HEADER.size
        if len(data) < size:
            raise CorruptTable("shorter than a table's header")
        magic, stored_identity = data[: len(_MAGIC)], data[len(_MAGIC): len(_MAGIC) + len(identity)]
        checksum, *sizes = _HEADER.unpack_from(data, len(_MAGIC) + len(identity))
        if magic != _MAGIC or stored_identity != identity.encode("ascii"):
            raise CorruptTable("a table of another format or source")
        if size + sum(sizes) != len(data):
            raise CorruptTable("the table's size is not the one its header gives")
        parts, at = [], size
        for length in sizes:
            parts.append(data[at: at + length])
            at += length
        if _checksum(parts) != checksum:
            raise CorruptTable("the table's checksum does not match")
        return cls(*parts)

    def _index(self, code: str) -> int | None:
        if not code.isascii() or len(code) > WIDTH:
            return None
        raw = code.encode("ascii")
        if _PAD in raw:
            return None
        key, blob = raw.ljust(WIDTH, _PAD), self._codes
        low, high = 0, self._count
        while low < high:
            middle = (low + high) // 2
            start = middle * WIDTH
            if blob[start:start + WIDTH] < key:
                low = middle + 1
            else:
                high = middle
        start = low * WIDTH
        return low if low < self._count and blob[start:start + WIDTH] == key else None

    def _entry(self, index: int) -> Entry:
        start = self._ends[index - 1] if index else 0
        return bool(self._leaves[index]), self._descriptions[start:self._ends[index]].decode("utf-8")

    def __getitem__(self, code: str) -> Entry:
        index = self._index(code)
        if index is None:
            raise KeyError(code)
        return self._entry(index)

    def get(self, code: str, default: Entry | None = None) -> Entry | None:  # type: ignore[override]
        index = self._index(code)
        return default if index is None else self._entry(index)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self._index(code) is not None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        blob = self._codes
        for start in range(0, len(blob), WIDTH):
            yield blob[start:start + WIDTH].rstrip(_PAD).decode("ascii")


def _checksum(parts: tuple[bytes, ...] | list[bytes]) -> int:
    checksum = 0
    for part in parts:
        checksum = zlib.crc32(part, checksum)
    return checksum


def _header(identity: str, parts: tuple[bytes, ...]) -> bytes:
    return _MAGIC + identity.encode("ascii") + _HEADER.pack(_checksum(parts), *(len(part) for part in parts))
