"""The built ICD-10-CM table kept in a file of the data home's cache folder, for the next process.

The file's name and contents carry the identity of what it was built from: the library's version, name,
size and modification time of each of its two data files, and the bytes of the modules that build and
store the table (so a new library version or new build rules give a new file). Stat-ing the files costs
microseconds where hashing their 10.5 MB would cost 12-25 ms of every start.

A file is written to a temporary name in the same folder and renamed into place, so a process never reads
half a file; one that cannot be read back whole (truncated, altered, another format) is built again and
replaced. A folder that cannot be written (read-only home) leaves the table in memory: never an error.

The data home is shared by every install of the user (another checkout, another library version), each
with its file: a file read is marked used (its modification time, at most once a day), and a new file
written removes the cache's files no process has used for `KEEP_UNUSED_S` (the files of a library version
installed over, the temporary file of a writer that stopped midway). Only such files are removed, so two
installs in use never take turns building the table; a process still reading a removed file is not
disturbed (on Linux an unlinked file stays readable to whoever has it open).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from config import icd10cm_table
from config.icd10cm_table import CodeTable, CorruptTable

_PREFIX = "icd10cm-"
_SUFFIX = ".table"
# The cache's own files: a table (`path_of`) and a writer's temporary file (`write`).
_OWN = re.compile(r"icd10cm-[0-9a-f]{24}\.table|\.icd10cm-\w+\.tmp")
KEEP_UNUSED_S = 7 * 86400  # a file nobody read or wrote for this long is removed by the next write
_MARK_USED_EVERY_S = 86400


def _library_version(data_file: Path) -> str:
    """The installed version, from its dist-info folder's name (importlib.metadata costs 30 ms to import)."""
    site = data_file.parent.parent.parent
    found = sorted(p.name for p in site.glob("simple_icd_10_cm-*.dist-info"))
    return ",".join(found) or "unknown"


def identity(sources: tuple[Path, ...], builders: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    digest.update(f"{sys.implementation.cache_tag} {sys.byteorder} {_library_version(sources[0])}\n".encode())
    for source in sources:
        stat = source.stat()
        digest.update(f"{source.resolve()} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    for builder in (*builders, Path(icd10cm_table.__file__)):
        digest.update(builder.read_bytes())
    return digest.hexdigest()


def path_of(folder: Path, identity: str) -> Path:
    return folder / f"{_PREFIX}{identity[:24]}{_SUFFIX}"


def read(folder: Path, identity: str) -> CodeTable | None:
    """The table kept for `identity`, or None when there is none or it is not whole."""
    path = path_of(folder, identity)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        table = CodeTable.from_bytes(data, identity)
    except CorruptTable:
        return None
    _mark_used(path)
    return table


def _mark_used(path: Path) -> None:
    """Keep a file in use from `prune`: its modification time, moved at most once a day."""
    with contextlib.suppress(OSError):  # a read-only home: the file is kept all the same until a write
        if path.stat().st_mtime < time.time() - _MARK_USED_EVERY_S:
            os.utime(path)


def prune(folder: Path, keep: Path, *, now: float | None = None) -> list[Path]:
    """Remove the cache's own files in `folder`, but `keep`, that nobody used for `KEEP_UNUSED_S`: the ones
    removed. Any other file is left alone; a file gone meanwhile (another process pruned it) is no error."""
    before = (time.time() if now is None else now) - KEEP_UNUSED_S
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if entry.name == keep.name or not _OWN.fullmatch(entry.name):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= before:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def write(folder: Path, identity: str, table: CodeTable) -> bool:
    """Keep `table` for the next process; False when the folder cannot be written."""
    temporary: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{_PREFIX}", suffix=".tmp", dir=folder)
        with os.fdopen(descriptor, "wb") as out:
            out.write(table.to_bytes(identity))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path_of(folder, identity))
        temporary = None
        prune(folder, path_of(folder, identity))
        return True
    except OSError:
        return False
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
