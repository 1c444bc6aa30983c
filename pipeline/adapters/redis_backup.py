"""Backup and restore of everything the pipeline keeps in Redis: claims, their events, timelines and
statements, the indexes, refused events, counters (control and document numbers), VA visit counts, leases
and metrics: every key under the ledger's prefix.

The snapshot is consistent: one Lua script lists and dumps every key at one instant (Redis runs a script
atomically), so it can be taken while the pipeline runs; a claim is either wholly in it or not at all.
Queued dramatiq messages are not kept: they are only triggers, and after a restore the reconciler re-drives
every claim that is not final.

The file is gzip-compressed JSON lines: a header, then one line per key with its name, its remaining time
to live and its value in Redis's own serialisation (`DUMP`), restored with `RESTORE`. It is as sensitive as
the ledger itself (it holds patient data): store it encrypted and access-controlled.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import itertools
import json
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import redis

FORMAT = "superbill-backup"
VERSION = 1
BATCH = 500

# Every key under the prefix, with its PTTL and DUMP, in one atomic step.
_SNAPSHOT = """
local out = {}
for _, key in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do
  out[#out + 1] = key
  out[#out + 1] = redis.call('PTTL', key)
  out[#out + 1] = redis.call('DUMP', key)
end
return out
"""


class BackupError(Exception):
    """A backup file that cannot be read, or a store that may not be overwritten."""


@dataclass(frozen=True)
class BackupSummary:
    keys: int
    claims: int
    created_at: float
    redis_version: str


def _claims_in(keys: list[str], prefix: str) -> int:
    head = prefix + "claim:"
    return sum(1 for k in keys if k.startswith(head) and ":" not in k[len(head):])


def backup(client: redis.Redis, path: Path, *, prefix: str = "sb:") -> BackupSummary:
    """Write a consistent snapshot of every key under `prefix` to `path` (written whole, then renamed)."""
    flat = client.eval(_SNAPSHOT, 0, prefix)
    entries = [(flat[i], int(flat[i + 1]), flat[i + 2]) for i in range(0, len(flat), 3)]
    keys = [bytes(k).decode() for k, _, _ in entries]
    version = str(client.info("server").get("redis_version", "?"))
    summary = BackupSummary(keys=len(entries), claims=_claims_in(keys, prefix), created_at=time.time(),
                            redis_version=version)
    header = {"format": FORMAT, "version": VERSION, "prefix": prefix, "keys": summary.keys,
              "claims": summary.claims, "created_at": summary.created_at, "redis_version": version}
    partial = path.with_name(path.name + ".partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # every client's data: owner only
        os.fchmod(fd, 0o600)  # also a partial file an interrupted backup left behind
        with os.fdopen(fd, "wb") as raw, gzip.open(raw, "wt", encoding="utf-8") as out:
            out.write(json.dumps(header) + "\n")
            for key, ttl, value in entries:
                out.write(json.dumps({"k": base64.b64encode(bytes(key)).decode(), "ttl": max(ttl, 0),
                                      "v": base64.b64encode(bytes(value)).decode()}) + "\n")
        partial.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise BackupError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return summary


def read_header(path: Path) -> dict[str, Any]:
    with _open(path) as lines:
        return _header(lines)


def _open(path: Path) -> IO[str]:
    try:
        return gzip.open(path, "rt", encoding="utf-8")
    except OSError as exc:
        raise BackupError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _header(lines: IO[str]) -> dict[str, Any]:
    try:
        header = json.loads(lines.readline())
    except (OSError, EOFError, ValueError, zlib.error):
        raise BackupError("not a superbill backup (unreadable header)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError("not a superbill backup")
    if header.get("version") != VERSION:
        raise BackupError(f"backup format version {header.get('version')} is not supported (only {VERSION})")
    return header


def _entries(lines: IO[str]) -> Iterator[tuple[bytes, int, bytes]]:
    for number in itertools.count(2):
        try:  # reading can fail too: a gzip stream cut short ends in EOFError, a damaged one in zlib.error
            line = lines.readline()
        except (OSError, EOFError, ValueError, zlib.error):
            raise BackupError(f"the backup is cut short or damaged at line {number}") from None
        if not line:
            return
        try:
            entry = json.loads(line)
            yield base64.b64decode(entry["k"]), int(entry["ttl"]), base64.b64decode(entry["v"])
        except (ValueError, KeyError, TypeError, OSError, EOFError):
            raise BackupError(f"line {number} of the backup is damaged") from None


def store_is_empty(client: redis.Redis, prefix: str = "sb:") -> bool:
    return next(iter(client.scan_iter(match=prefix + "*", count=100)), None) is None


def restore(client: redis.Redis, path: Path, *, force: bool = False) -> BackupSummary:
    """Load a backup into the store. Refuses a store that holds pipeline data unless `force`, and then the
    store's keys under the prefix are replaced by the backup's (keys the backup lacks are deleted)."""
    with _open(path) as lines:
        header = _header(lines)
        prefix = str(header["prefix"])
        if not store_is_empty(client, prefix) and not force:
            raise BackupError("the store already holds pipeline data: restore into an empty store, or add "
                              "--force to replace it")
        entries = list(_entries(lines))
    if len(entries) != header.get("keys"):
        raise BackupError(f"the backup is incomplete: {len(entries)} keys of {header.get('keys')}")
    if force:
        stale = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(stale), BATCH):
            client.delete(*stale[start:start + BATCH])
    for start in range(0, len(entries), BATCH):
        pipe = client.pipeline(transaction=False)
        for key, ttl, value in entries[start:start + BATCH]:
            pipe.restore(key, ttl, value, replace=True)
        pipe.execute()
    keys = [k.decode() for k, _, _ in entries]
    return BackupSummary(keys=len(entries), claims=_claims_in(keys, prefix),
                         created_at=float(header.get("created_at") or 0),
                         redis_version=str(header.get("redis_version")))
