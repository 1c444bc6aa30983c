"""Fixtures of the ledger tests: one embedded Redis per test module, a ledger on an emptied database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pipeline.adapters.redis_ledger import Ledger
from pipeline.adapters.redis_server import embedded_redis


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with embedded_redis(Path(tmp_path_factory.mktemp("redis"))) as url:
        yield url


@pytest.fixture
def ledger(redis_url: str) -> Ledger:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    return Ledger(client)
