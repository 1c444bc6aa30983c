"""The pipeline on a replicated Redis: a Sentinel set whose master is SIGKILLed while events flow, and a TLS
server. Events go in through the signed webhook; the workers, the web app and the test reach Redis only
through `REDIS_URL`."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from pipeline.entrypoints.demo import Stack
from schemas.claim import FINAL_STATUSES
from tests.e2e.conftest import body
from tests.e2e.redis_servers import RedisProcesses, current_master, poll, sentinel_set, tls_certificate
from tests.e2e.submission_support import assert_one_receipt_each, courtesy_event, va_event, wait_for, wait_until

pytestmark = pytest.mark.e2e

EVENTS = 90


@pytest.fixture
def redis_processes(tmp_path: Path) -> Iterator[RedisProcesses]:
    folder = tmp_path / "redis"
    folder.mkdir()
    processes = RedisProcesses(folder)
    yield processes
    processes.stop()


def post_until_taken(stack: Stack, doc: dict[str, Any], deadline: float) -> str:
    """As the booking system does: a 503 (or no answer) is sent again; the event id makes that safe."""
    while True:
        try:
            response = stack.post_event(body(doc))
            if response.status_code in (200, 202):
                return str(response.json()["claim_id"])
            assert response.status_code == 503, (response.status_code, response.text)
            assert response.headers.get("Retry-After")
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"event {doc['event_id']} never taken"
        time.sleep(0.2)


def test_a_master_killed_while_events_flow_loses_no_claim_and_bills_none_twice(
        start_stack: Callable[..., Stack], redis_processes: RedisProcesses) -> None:
    master, sentinels = sentinel_set(redis_processes)
    url = "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in sentinels) + "/mymaster/0"
    stack = start_stack(redis_url=url, extra_env={"SUPERBILL_REDIS_WAIT_REPLICAS": "1"})
    stack.spawn("reconciler", [sys.executable, "-m", "pipeline.entrypoints.cli", "reconcile",
                                "--older-than", "10", "--every", "3"])
    docs = [(va_event if n % 2 else courtesy_event)(n, tag="failover") for n in range(EVENTS)]
    taken: dict[str, str] = {}
    failures: list[BaseException] = []

    def post_all() -> None:
        try:
            deadline = time.monotonic() + 240
            for doc in docs:
                taken[doc["event_id"]] = post_until_taken(stack, doc, deadline)
        except BaseException as exc:
            failures.append(exc)

    poster = threading.Thread(target=post_all)
    poster.start()
    wait_until(lambda: len(taken) >= EVENTS // 3, 120, "a third of the events taken")
    redis_processes.kill("master")
    poll(lambda: current_master(sentinels[0]) != master, 60, "a replica promoted by the sentinels")
    poster.join(300)
    assert not poster.is_alive() and not failures, failures

    claim_ids = sorted(set(taken.values()))
    assert len(claim_ids) == EVENTS
    claims = wait_for(stack, claim_ids, 300)
    assert all(c.status in FINAL_STATUSES for c in claims.values())
    assert {c.status for c in claims.values()} == {"accepted"}, {c.claim_id: c.status for c in claims.values()}
    assert_one_receipt_each(stack, claim_ids)


def test_the_pipeline_runs_on_a_tls_redis(start_stack: Callable[..., Stack], redis_processes: RedisProcesses,
                                          tmp_path: Path) -> None:
    cert, key = tls_certificate(tmp_path)
    port = redis_processes.server("tls", tls=(cert, key))
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}"
    stack = start_stack(redis_url=url)
    docs = [va_event(n, tag="tls") for n in range(3)] + [courtesy_event(n, tag="tls") for n in range(3)]
    deadline = time.monotonic() + 60
    claim_ids = [post_until_taken(stack, doc, deadline) for doc in docs]
    claims = wait_for(stack, claim_ids, 120)
    assert {c.status for c in claims.values()} == {"accepted"}
    assert_one_receipt_each(stack, claim_ids)
    # Nothing listens in plain text: the processes really spoke TLS.
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping()
