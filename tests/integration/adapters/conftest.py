"""Fixtures of the ledger tests: a ledger on an emptied database per test (the module's embedded Redis comes from
`tests/integration/conftest.py`)."""

from __future__ import annotations

import pytest
import redis

from pipeline.adapters.redis_ledger import Ledger


@pytest.fixture
def ledger(redis_url: str) -> Ledger:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    return Ledger(client)
