"""The built ICD-10-CM table kept in a file of the data home's cache folder, for the next process.

The file's name and contents carry the identity of what it was built from: the library's version, name,
size and modification time of each of its two data files, and the bytes of the modules that build and
store the table (so a new library version or new build rules give a new file). Stat-ing the files costs
microseconds where hashing their 10.5 MB would cost 12-25 ms of every start.

A file is written to a temporary name in the same folder and renamed into place, so a process never reads
half a file; one that cannot be read back whole (truncated, altered, another format) is built again and
replaced. A folder that cannot be written (read-only home) leaves the table in memory: never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from pathlib import Path

from config import icd10cm_table
from config.icd10cm_table import CodeTable, CorruptTable

_PREFIX = "icd10cm-"
_SUFFIX = ".table"


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
    try:
        data = path_of(folder, identity).read_bytes()
    except OSError:
        return None
    try:
        return CodeTable.from_bytes(data, identity)
    except CorruptTable:
        return None


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
        return True
    except OSError:
        return False
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
