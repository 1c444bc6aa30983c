"""The pipeline with `[clearinghouse] adapter = "stedi"` against the sandbox's Stedi shape, as real processes:
no claim lost and none submitted twice under errors, timeouts, delayed payer 277CAs and a SIGKILLed worker;
the payer's 835s come through Stedi's transaction poll and are posted once; a payer's rejection carries its
277CA codes."""

from __future__ import annotations

import base64
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
from tests.e2e.conftest import body, example

pytestmark = pytest.mark.e2e


def va_events(n: int, tag: str) -> list[dict[str, Any]]:
    docs = []
    for i in range(n):
        doc = example("va_direct")
        unique = uuid.uuid4().hex[:6]
        doc["event_id"] = f"evt_{tag}{i}_{unique}"
        doc["session"]["session_id"] = f"ses_{tag}{i}_{unique}"
        doc["va_referral"]["referral_number"] = f"VA{i:010d}"
        docs.append(doc)
    return docs


def post(stack: Stack, docs: list[dict[str, Any]]) -> list[str]:
    ids = []
    for doc in docs:
        response = stack.post_event(body(doc))
        assert response.status_code == 202, response.text
        ids.append(response.json()["claim_id"])
    return ids


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def remittance_passes(stack: Stack) -> None:
    """A reconciler that asks the workers for a remittance pass (Stedi's poll, then posting) every second."""
    stack.extra_env["SUPERBILL_REMITTANCE_POLL"] = "1"
    stack.spawn("reconciler", [sys.executable, "-m", "pipeline.entrypoints.cli", "reconcile",
                                "--older-than", "5", "--every", "2"])


def settled(stack: Stack, ids: list[str], timeout_s: float) -> dict[str, str]:
    ledger = stack.ledger()
    wait_for(lambda: all(c.status in ("paid", "denied", "rejected", "failed") for c in ledger.get_many(ids)),
             timeout_s)
    return {c.claim_id: c.status for c in ledger.get_many(ids)}


def test_claims_through_stedi_are_paid_or_denied_exactly_once_through_faults(
        start_stack: Callable[..., Stack]) -> None:
    stack = start_stack(clearinghouse="stedi", faults="error_rate=0.3,timeout_rate=0.1,hang_ms=2500,ack_delay_ms=800,"
                                                      "remit_delay_ms=0,deny_rate=0.25,remit_duplicate_rate=0.5,seed=5")
    remittance_passes(stack)
    ids = post(stack, va_events(8, "stedi"))
    outcome = settled(stack, ids, 150)
    assert set(outcome.values()) <= {"paid", "denied"}, outcome
    assert "paid" in outcome.values()
    ledger = stack.ledger()
    assert stack.receipts() == dict.fromkeys(ids, 1)
    for cid in ids:
        kinds = [e["kind"] for e in ledger.timeline(cid)]
        remitted = [i for i, k in enumerate(kinds) if k.startswith("remittance.")]
        assert len(remitted) == 1, kinds  # posted once, whatever how often its 835 came
        # taken by Stedi first; the payer's 277CA or its 835, whichever the poll brought first, settles it
        assert kinds.index("submitted") < remitted[0], kinds
        claim = ledger.get(cid)
        assert claim is not None and claim.payer_claim_number


def test_a_payer_rejection_through_stedi_carries_its_277ca_codes(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack(clearinghouse="stedi", faults="reject_rate=1,ack_delay_ms=300")
    ids = post(stack, va_events(2, "stedirej"))
    assert stack.wait_final(ids, 90)
    for claim in stack.ledger().get_many(ids):
        assert claim.status == "rejected"
        assert claim.peer_reasons and claim.peer_reasons[0].startswith("277CA: A"), claim.peer_reasons
        assert "from the payer" in claim.peer_reasons[0]
    assert stack.receipts() == dict.fromkeys(ids, 1)


def test_a_sigkilled_worker_loses_no_stedi_claim_and_sends_none_twice(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack(clearinghouse="stedi", faults="latency_ms=400,ack_delay_ms=500,remit_delay_ms=0")
    ledger = stack.ledger()
    ids: list[str] = []
    poster = threading.Thread(target=lambda: ids.extend(post(stack, va_events(12, "stedikill"))))
    poster.start()
    assert wait_for(lambda: len(ledger.claim_ids(status="submitting")) >= 1, 60), "no submission in flight"
    os.killpg(stack.procs["worker"].pid, signal.SIGKILL)
    stack.procs["worker"].wait(timeout=10)
    status_at_kill = {c.claim_id: c.status for c in ledger.get_many(ledger.claim_ids())}
    stack.start_worker("worker2")
    remittance_passes(stack)
    poster.join(timeout=60)
    assert len(ids) == 12
    outcome = settled(stack, ids, 120)
    assert outcome == dict.fromkeys(ids, "paid"), Counter(outcome.values())
    assert stack.receipts() == dict.fromkeys(ids, 1)
    for cid in ids:
        kinds = [e["kind"] for e in ledger.timeline(cid)]
        assert kinds.count("submission.started") == 1, (cid, kinds)
        assert len([k for k in kinds if k.startswith("remittance.")]) == 1, (cid, kinds)
    for cid in [c for c, s in status_at_kill.items() if s == "submitting"]:
        kinds = [e["kind"] for e in ledger.timeline(cid)]
        assert "peer.lookup" in kinds, (cid, kinds)  # the key re-sent (a replay), never a new key


def test_stedi_webhook_events_bring_the_835s_in_with_no_remittance_poll_running(
        start_stack: Callable[..., Stack]) -> None:
    """No reconciler asks for remittance passes here (SUPERBILL_REMITTANCE_POLL=0): the sandbox's Stedi shape
    delivers a signed event for each 277CA and 835 it processes, the web process queues a pass for when the
    poll lists them (the sandbox leaves the newest 3 s out, as Stedi does 15 s), and each claim is paid once."""
    secret = "whsec_" + base64.b64encode(b"an event destination's key").decode()
    stack = start_stack(clearinghouse="stedi", stedi_webhook_secret=secret,
                        faults="ack_delay_ms=300,remit_delay_ms=0,list_delay_ms=3000,seed=7")
    ids = post(stack, va_events(3, "hook"))
    outcome = settled(stack, ids, 150)
    assert outcome == dict.fromkeys(ids, "paid"), outcome
    assert stack.receipts() == dict.fromkeys(ids, 1)
    web_log = (stack.workdir / "web.log").read_text(errors="replace")
    assert "stedi.event_received" in web_log and '"pass_queued": true' in web_log
    assert example("va_direct")["client"]["last_name"] not in web_log  # an event's log line carries no client
