"""The broker's settings reach dramatiq's worker: an idle queue is polled again within the idle poll."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
from dramatiq import Worker

from pipeline.adapters import dramatiq_queue
from pipeline.adapters.redis_server import embedded_redis


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with embedded_redis(Path(tmp_path_factory.mktemp("broker"))) as url:
        yield url


@pytest.mark.parametrize(("env", "expected"), [(None, dramatiq_queue.IDLE_POLL_MS), ("40", 40)])
def test_every_consumer_of_a_worker_polls_an_idle_queue_within_the_idle_poll(
        redis_url: str, monkeypatch: pytest.MonkeyPatch, env: str | None, expected: int) -> None:
    if env is None:
        monkeypatch.delenv("SUPERBILL_WORKER_IDLE_POLL_MS", raising=False)
    else:
        monkeypatch.setenv("SUPERBILL_WORKER_IDLE_POLL_MS", env)
    broker = dramatiq_queue.build_broker(redis_url)
    dramatiq.set_broker(broker)
    worker = Worker(broker, worker_threads=1)  # dramatiq's default idle timeout is 1000 ms
    worker.start()
    try:
        assert worker.worker_timeout == expected
        assert len(worker.consumers) == 2 * len(dramatiq_queue.QUEUES)  # each queue and its delay queue
        assert {c.worker_timeout for c in worker.consumers.values()} == {expected}
    finally:
        worker.stop()
        broker.close()
