"""README: `claim_id`, `actor` and `message_id` are on every log line of a step, structlog's and the standard
library's (dramatiq's) alike, each line with the id of the message it belongs to."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import structlog
from dramatiq.brokers.stub import StubBroker

from config.logging import configure_logging
from workers.middleware import LogContext


@pytest.fixture
def broker() -> Iterator[StubBroker]:
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    broker = StubBroker(middleware=[])
    broker.add_middleware(LogContext())
    broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    yield broker
    broker.flush_all()
    broker.close()
    root.handlers[:], root.level = handlers, level
    structlog.configure(**config)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_line_a_step_logs_carries_claim_id_actor_and_message_id(broker: StubBroker) -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)

    @dramatiq.actor(actor_name="route", queue_name="route")
    def route(claim_id: str) -> None:
        structlog.get_logger("pipeline.application.stages").info("claim.routed", route="direct_billing")
        logging.getLogger("dramatiq.some_module").warning("a standard library line")
        structlog.get_logger("pipeline.adapters.http_peer").warning("peer.retry", peer="clearinghouse")

    sent = [route.send("ses_1001"), route.send("ses_1002")]
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        broker.join(route.queue_name)
        worker.join()
    finally:
        worker.stop()

    logged = lines(stream)
    step_lines = [line for line in logged if not line.get("logger", "").startswith("dramatiq.worker")]
    assert len(step_lines) == 6, logged
    by_claim: dict[str, set[str]] = {}
    for line in step_lines:
        assert line["actor"] == "route", line
        assert line["claim_id"] in ("ses_1001", "ses_1002"), line
        by_claim.setdefault(line["claim_id"], set()).add(line["message_id"])
    assert by_claim == {"ses_1001": {sent[0].message_id}, "ses_1002": {sent[1].message_id}}
