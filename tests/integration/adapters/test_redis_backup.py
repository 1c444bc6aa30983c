"""Backup and restore on real Redis servers: a snapshot restores every key exactly, refuses to overwrite
pipeline data without `force`, and rejects a damaged or cut-short file."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pipeline.adapters.redis_backup import BackupError, backup, read_header, restore
from pipeline.adapters.redis_server import embedded_redis


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    with embedded_redis(tmp_path_factory.mktemp("source")) as a, embedded_redis(tmp_path_factory.mktemp("target")) as b:
        yield redis.Redis.from_url(a), redis.Redis.from_url(b)


@pytest.fixture
def source(servers: tuple[redis.Redis, redis.Redis]) -> redis.Redis:
    client = servers[0]
    client.flushdb()
    client.hset("sb:claim:ses_1", mapping={"status": "accepted", "claim_id": "ses_1"})
    client.set("sb:claim:ses_1:event", '{"event_id": "evt_1"}')
    client.xadd("sb:claim:ses_1:timeline", {"entry": '{"kind": "received"}'})
    client.zadd("sb:status:accepted", {"ses_1": 1.5})
    client.sadd("sb:referral:VA0012345678", "ses_1")
    client.set("sb:seq:interchange", 41)
    client.set("sb:lease:submit:ses_1", "x", px=600_000)
    client.set("superbill:validate.msgs", "a queued message, not pipeline data")
    return client


@pytest.fixture
def target(servers: tuple[redis.Redis, redis.Redis]) -> redis.Redis:
    servers[1].flushdb()
    return servers[1]


def test_a_backup_restores_every_key_of_the_ledger_exactly(source: redis.Redis, target: redis.Redis,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "ledger.backup"
    taken = backup(source, path)
    assert (taken.keys, taken.claims) == (7, 1)
    assert read_header(path)["keys"] == 7
    restored = restore(target, path)
    assert restored.keys == 7
    for key in source.scan_iter(match="sb:*"):
        assert target.dump(key) == source.dump(key), key
    assert target.get("sb:seq:interchange") == b"41"
    assert 0 < target.pttl("sb:lease:submit:ses_1") <= 600_000  # a lease keeps its remaining time
    assert target.get("superbill:validate.msgs") is None  # queues are triggers, not kept


def test_restore_refuses_a_store_holding_pipeline_data_unless_forced(source: redis.Redis, target: redis.Redis,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "ledger.backup"
    backup(source, path)
    target.set("sb:claim:other", "newer data")
    with pytest.raises(BackupError, match="--force"):
        restore(target, path)
    assert target.get("sb:claim:other") == b"newer data"
    restore(target, path, force=True)
    assert target.get("sb:claim:other") is None  # replaced by the backup's ledger, wholly
    assert target.hget("sb:claim:ses_1", "status") == b"accepted"


def test_a_damaged_or_cut_short_backup_is_refused_and_changes_nothing(source: redis.Redis, target: redis.Redis,
                                                                       tmp_path: Path) -> None:
    path = tmp_path / "ledger.backup"
    backup(source, path)
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    short = tmp_path / "short.backup"
    short.write_bytes(gzip.compress(("\n".join(lines[:-2]) + "\n").encode()))
    with pytest.raises(BackupError, match="incomplete"):
        restore(target, short)
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(gzip.compress(("\n".join([*lines[:2], "{not json", *lines[3:]]) + "\n").encode()))
    with pytest.raises(BackupError, match="line 3"):
        restore(target, damaged)
    plain = tmp_path / "plain.txt"
    plain.write_text("hello")
    with pytest.raises(BackupError):
        restore(target, plain)
    assert list(target.scan_iter(match="sb:*")) == []
