"""A few hundred events through everything going wrong at once: peers failing 30% of calls and timing out on
10%, worker processes SIGKILLed twice while claims are in flight, and the Redis server itself SIGKILLed (the
next process that needs it starts it again). Whatever happens: every event the webhook took has a claim,
every claim ends in a final status, and no claim was taken by a peer more than once."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests

from pipeline.adapters.redis_server import server_pid
from pipeline.entrypoints.demo import Stack
from schemas.claim import FINAL_STATUSES
from tests.e2e.conftest import body
from tests.e2e.submission_support import courtesy_event, statement_event, va_event, wait_for, wait_until

pytestmark = pytest.mark.e2e

EVENTS = 240
FINAL_WITHIN_S = 420.0


def documents() -> list[dict[str, Any]]:
    makers = (va_event, courtesy_event, va_event, statement_event)
    return [makers[n % len(makers)](n, tag="soak") for n in range(EVENTS)]


def post_until_taken(stack: Stack, doc: dict[str, Any], deadline: float) -> tuple[int, str]:
    """Post as the booking system does: a 5xx or no answer is sent again (the event id makes that safe)."""
    while True:
        try:
            response = stack.post_event(body(doc))
            if response.status_code in (200, 202):
                return response.status_code, response.json()["claim_id"]
            assert response.status_code == 503, (response.status_code, response.text)
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"event {doc['event_id']} never taken"
        time.sleep(0.2)


def test_workers_and_redis_killed_under_faulty_peers(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack(faults="error_rate=0.3,timeout_rate=0.1")
    stack.start_worker("worker2")
    stack.spawn("reconciler", [sys.executable, "-m", "pipeline.entrypoints.cli", "reconcile",
                                "--older-than", "10", "--every", "3"])
    ledger = stack.ledger()
    docs = documents()
    taken: dict[str, str] = {}
    posted = threading.Event()
    failures: list[BaseException] = []

    def post_all() -> None:
        try:
            deadline = time.monotonic() + 300
            for doc in docs:
                _, claim_id = post_until_taken(stack, doc, deadline)
                taken[doc["event_id"]] = claim_id
        except BaseException as exc:
            failures.append(exc)
        finally:
            posted.set()

    poster = threading.Thread(target=post_all)
    poster.start()

    def in_flight() -> bool:
        return len(ledger.claim_ids(status="submitting")) + len(ledger.claim_ids(status="submitted")) >= 2

    # 1. a worker SIGKILLed with submissions in flight, replaced
    wait_until(lambda: len(taken) >= EVENTS // 4 and in_flight(), 120, "a quarter posted, submissions in flight")
    kill_worker(stack, "worker")
    stack.start_worker("worker3")
    # 2. the Redis server SIGKILLed: nobody restarts it by hand
    wait_until(lambda: len(taken) >= EVENTS // 2, 120, "half posted")
    redis_dir = stack.workdir / "redis"
    old_pid = server_pid(redis_dir)
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    wait_until(lambda: server_pid(redis_dir) not in (None, old_pid), 60, "Redis started again by a process")
    # 3. the other original worker SIGKILLed, replaced
    wait_until(lambda: len(taken) >= 3 * EVENTS // 4 and in_flight(), 120, "three quarters posted, in flight")
    kill_worker(stack, "worker2")
    stack.start_worker("worker4")

    assert posted.wait(300) and not failures, failures
    claim_ids = sorted(set(taken.values()))
    assert len(claim_ids) == EVENTS  # every taken event has its own claim ...
    claims = wait_for(stack, claim_ids, FINAL_WITHIN_S)  # ... and every claim ends final
    assert all(c.status in FINAL_STATUSES for c in claims.values())

    receipts = stack.receipts()
    assert max(receipts.values()) == 1, {cid: n for cid, n in receipts.items() if n > 1}
    submitted = [cid for cid, c in claims.items() if c.route in ("direct_billing", "courtesy_submission")]
    accepted = [cid for cid in submitted if claims[cid].status == "accepted"]
    assert {cid: receipts.get(cid) for cid in accepted} == dict.fromkeys(accepted, 1)
    # With 8 retries against a 40% failure rate nearly every submission gets through in the end.
    assert len(accepted) >= 0.95 * len(submitted), Counter(c.status for c in claims.values())
    statements = [c for c in claims.values() if c.route == "statement_only"]
    assert statements and all(c.status == "statement_ready" for c in statements)


def kill_worker(stack: Stack, name: str) -> None:
    proc = stack.procs[name]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
