"""The benchmark reads the messages the workers processed, per actor, from the counts their metrics middleware
writes: the same numbers `/metrics` shows as `dramatiq_messages`."""

from __future__ import annotations

import redis

from pipeline.adapters.metrics import record_messages
from pipeline.adapters.redis_ledger import Ledger
from tests.benchmark_module import load_benchmark


def test_the_benchmark_counts_what_the_workers_recorded_per_actor(redis_url: str) -> None:
    bench = load_benchmark()
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    ledger = Ledger(client)
    assert bench.messages_by_actor(ledger) == {}
    record_messages(ledger, {"validate": (3, 0, 0.1), "send_statement": (2, 1, 0.2)})
    record_messages(ledger, {"validate": (2, 0, 0.1), "route": (4, 0, 0.3)})
    assert bench.messages_by_actor(ledger) == {"validate": 5, "send_statement": 2, "route": 4}
    claim_messages = sum(n for actor, n in bench.messages_by_actor(ledger).items() if actor not in bench.AFTER_FINAL)
    assert claim_messages == 9
