"""A worker killed with SIGKILL mid-stream: with a new worker and the reconciler running, every claim still
reaches a final status, none is lost, and nothing is submitted to a peer twice."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.entrypoints.demo import Stack
from schemas.claim import FINAL_STATUSES
from tests.e2e.conftest import body, example

pytestmark = pytest.mark.e2e

EVENTS = 30
RECOVERY_WAIT_S = 75.0
EXPECTED_END = {
    "direct_billing": "accepted",
    "courtesy_submission": "accepted",
    "statement_only": "statement_ready",
}


def events() -> list[dict[str, Any]]:
    """Direct, courtesy and statement claims in turn, each with its own session and event id."""
    docs = []
    for n in range(EVENTS):
        doc = example(("va_direct", "commercial_courtesy", "self_pay")[n % 3])
        tag = uuid.uuid4().hex[:6]
        doc["event_id"] = f"evt_crash{n}_{tag}"
        doc["session"]["session_id"] = f"ses_crash{n}_{tag}"
        if doc.get("va_referral"):
            doc["va_referral"]["referral_number"] = f"VA{n:010d}"
        docs.append(doc)
    return docs


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_killed_worker_loses_no_claim_and_submits_nothing_twice(start_stack: Callable[..., Stack]) -> None:
    # Peer latency keeps submissions in flight, so the kill lands in the middle of some of them.
    stack = start_stack(faults="latency_ms=400")
    ledger = stack.ledger()
    answers: list[tuple[int, str]] = []

    def post_all() -> None:
        for doc in events():
            response = stack.post_event(body(doc))
            answers.append((response.status_code, response.json().get("claim_id", "")))
            time.sleep(0.05)

    poster = threading.Thread(target=post_all)
    poster.start()
    assert wait_for(lambda: len(ledger.claim_ids(status="submitting")) >= 2, 30), "no submission in flight"

    os.killpg(stack.procs["worker"].pid, signal.SIGKILL)
    stack.procs["worker"].wait(timeout=10)
    status_at_kill = {c.claim_id: c.status for c in ledger.get_many(ledger.claim_ids())}
    at_kill = Counter(status_at_kill.values())
    stack.start_worker("worker2")
    stack.spawn("reconciler", [sys.executable, "-m", "pipeline.entrypoints.cli", "reconcile",
                                "--older-than", "5", "--every", "2"])
    poster.join(timeout=60)
    assert not poster.is_alive()

    assert [status for status, _ in answers] == [202] * EVENTS
    claim_ids = [cid for _, cid in answers]
    assert len(set(claim_ids)) == EVENTS
    assert at_kill["submitting"] >= 1, at_kill
    assert sum(n for s, n in at_kill.items() if s not in FINAL_STATUSES) >= 2, at_kill

    done = stack.wait_final(claim_ids, RECOVERY_WAIT_S)
    claims = {c.claim_id: c for c in ledger.get_many(claim_ids)}
    assert done, Counter(c.status for c in claims.values())
    assert set(claims) == set(claim_ids) == set(ledger.claim_ids())
    assert {cid: c.status for cid, c in claims.items()} == {
        cid: EXPECTED_END[c.route or ""] for cid, c in claims.items()}
    assert Counter(c.route for c in claims.values()) == {
        "direct_billing": 10, "courtesy_submission": 10, "statement_only": 10}

    receipts = stack.receipts()
    submitted = {cid for cid, c in claims.items() if c.route in ("direct_billing", "courtesy_submission")}
    assert {cid: receipts.get(cid, 0) for cid in submitted} == dict.fromkeys(submitted, 1)
    assert set(receipts) <= submitted
    # A submission cut off by the kill is settled by asking the peer about its key, not by sending again.
    cut_off = [cid for cid, status in status_at_kill.items() if status == "submitting"]
    for cid in cut_off:
        kinds = [e["kind"] for e in ledger.timeline(cid)]
        assert "peer.lookup" in kinds, (cid, kinds)
        assert kinds.count("submission.started") == 1, (cid, kinds)


# The goal is 15 s (measured 5-11 s on the 2-core development machine, README); the suite allows 20 s so
# that a busy CI machine running two test files at once does not turn a slow second into a red run.
RECOVERY_BOUND_S = 20.0


def test_a_claim_in_flight_in_a_sigkilled_worker_is_final_within_15_seconds_and_sent_once(
        start_stack: Callable[..., Stack]) -> None:
    # The peer takes 1.5 s to answer, so the kill lands while submissions are at the peer.
    stack = start_stack(faults="latency_ms=1500", worker_processes=1)
    stack.start_worker("worker2")  # the survivor, as in production (the Procfile runs two processes)
    ledger = stack.ledger()
    ids = []
    for doc in events()[:6]:
        response = stack.post_event(body(doc))
        assert response.status_code == 202, response.text
        ids.append(response.json()["claim_id"])
    assert wait_for(lambda: any(c.status == "submitting" for c in ledger.get_many(ids)), 60)
    in_flight = [c.claim_id for c in ledger.get_many(ids) if c.status == "submitting"]
    os.killpg(stack.procs["worker"].pid, signal.SIGKILL)
    killed_at = time.monotonic()

    assert wait_for(lambda: all(c.status in FINAL_STATUSES for c in ledger.get_many(in_flight)), 60)
    recovered_in = time.monotonic() - killed_at
    print(f"in-flight claims of the killed worker final {recovered_in:.1f} s after the kill")
    assert recovered_in <= RECOVERY_BOUND_S, f"in-flight claims final {recovered_in:.1f} s after the kill"
    assert wait_for(lambda: all(c.status in FINAL_STATUSES for c in ledger.get_many(ids)), 60)
    claims = ledger.get_many(ids)
    assert {c.claim_id: c.status for c in claims} == {
        c.claim_id: EXPECTED_END[c.route or ""] for c in claims}
    receipts = stack.receipts()
    assert all(receipts.get(c.claim_id, 0) == 1 for c in claims if c.route != "statement_only"), receipts
