"""Recovering submissions: retries running out (`failed`, then bulk resubmission), a peer that takes a claim
but never answers, and a worker killed with SIGKILL in the middle of submissions."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable

import pytest

from pipeline.application.reason_codes import error_code
from pipeline.entrypoints.demo import Stack
from tests.e2e.submission_support import (
    PATIENT_MARKERS,
    assert_one_receipt_each,
    check_every_837p,
    courtesy_event,
    keys_by_claim,
    post_all,
    set_faults,
    superbill,
    va_event,
    wait_for,
    wait_until,
    worker_log_lines,
)

pytestmark = pytest.mark.e2e

StartStack = Callable[..., Stack]
FEW_RETRIES = {"SUPERBILL_SUBMIT_MAX_RETRIES": "2", "SUPERBILL_SUBMIT_MIN_BACKOFF_MS": "100",
               "SUPERBILL_SUBMIT_MAX_BACKOFF_MS": "300"}


def referrals(documents: list[dict]) -> dict[str, str]:
    return {d["session"]["session_id"]: d["va_referral"]["referral_number"] for d in documents}


def test_claims_fail_when_retries_run_out_and_a_bulk_resubmission_sends_each_once(
        start_stack: StartStack) -> None:
    stack = start_stack(faults="error_rate=1", extra_env=FEW_RETRIES)
    va_docs = [va_event(n, tag="fl") for n in range(1, 3)]
    ids = post_all(stack, va_docs) + post_all(stack, [courtesy_event(n, tag="fl") for n in range(1, 3)])

    failed = wait_for(stack, ids, 60)

    assert {cid: c.status for cid, c in failed.items()} == dict.fromkeys(ids, "failed")
    for cid, claim in failed.items():
        assert claim.last_error and "answered" in claim.last_error, (cid, claim.last_error)
        assert claim.attempts == 3  # the first try and two retries
    assert stack.receipts() == {}
    lines = [line for line in worker_log_lines(stack) if line.get("event") == "claim.failed"]
    assert sorted(line["claim_id"] for line in lines) == sorted(ids)
    for line in lines:
        assert line["level"] == "error"
        # the log carries the error's code, never its text (a peer's answer may quote the claim's data)
        assert line["error"] == error_code(failed[line["claim_id"]].last_error)
        assert re.fullmatch(r"(clearinghouse|billing_service):http_(5\d\d|429)", line["error"]), line["error"]
        assert not [m for m in PATIENT_MARKERS if m in str(line)], line
    every_line = "\n".join(str(line) for line in worker_log_lines(stack))
    assert not [m for m in PATIENT_MARKERS if m in every_line]

    set_faults(stack, "")
    done = superbill(stack, "resubmit", "--status", "failed")
    assert done.returncode == 0, done.stderr
    resubmitted = wait_for(stack, ids, 45)

    assert {cid: c.status for cid, c in resubmitted.items()} == dict.fromkeys(ids, "accepted")
    assert {cid: c.last_error for cid, c in resubmitted.items()} == dict.fromkeys(ids)
    assert stack.receipts() == dict.fromkeys(sorted(ids), 1)
    # never answered (5xx is not a no): sent again under their own key, never under a new one
    assert keys_by_claim(stack) == {cid: [f"{cid}-1"] for cid in ids}
    assert {cid: c.submission_no for cid, c in resubmitted.items()} == dict.fromkeys(ids, 1)
    check_every_837p(stack, referrals(va_docs))


def test_a_peer_that_took_the_claim_but_never_answered_is_asked_before_anything_is_sent_again(
        start_stack: StartStack) -> None:
    # every call is taken, then held past the 2 s peer timeout
    stack = start_stack(faults="timeout_rate=1,hang_ms=2500")
    va_docs = [va_event(n, tag="to") for n in range(1, 3)]
    ids = post_all(stack, va_docs) + post_all(stack, [courtesy_event(n, tag="to") for n in range(1, 3)])
    ledger = stack.ledger()

    wait_until(lambda: set(stack.receipts()) == set(ids), 30, "the peers take every claim")
    wait_until(lambda: all(c.status == "submitting" and c.attempts >= 1 for c in ledger.get_many(ids)), 30,
               "every claim has a failed attempt")
    set_faults(stack, "")
    claims = wait_for(stack, ids, 45)

    assert {cid: c.status for cid, c in claims.items()} == dict.fromkeys(ids, "accepted")
    assert_one_receipt_each(stack, ids)
    for cid in ids:
        lookups = [e for e in ledger.timeline(cid) if e["kind"] == "peer.lookup"]
        assert lookups and lookups[-1]["known"] is True, ledger.timeline(cid)
    check_every_837p(stack, referrals(va_docs))


def test_a_worker_killed_mid_submission_leaves_exactly_one_receipt_per_claim(start_stack: StartStack) -> None:
    # slow, unanswered peers keep the worker's threads inside their calls when it is killed
    stack = start_stack(faults="latency_ms=500,timeout_rate=1,hang_ms=2500")
    va_docs = [va_event(n, tag="kl") for n in range(1, 5)]
    ids = post_all(stack, va_docs) + post_all(stack, [courtesy_event(n, tag="kl") for n in range(1, 5)])
    ledger = stack.ledger()

    def submitting_and_taken() -> bool:
        submitting = {c.claim_id for c in ledger.get_many(ids) if c.status == "submitting"}
        return len(submitting) >= 4 and bool(submitting & set(stack.receipts()))

    wait_until(submitting_and_taken, 30, "claims in submitting, some of them taken by a peer")
    worker = stack.procs["worker"]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    in_flight = {c.claim_id: c.status for c in ledger.get_many(ids)}
    taken_before = {cid for cid in stack.receipts() if in_flight.get(cid) == "submitting"}
    assert taken_before, in_flight

    set_faults(stack, "")
    stack.start_worker("worker2")
    stack.spawn("reconciler", [sys.executable, "-m", "pipeline.entrypoints.cli", "reconcile", "--older-than", "3",
                                "--every", "1"])
    claims = wait_for(stack, ids, 70)

    assert {cid: c.status for cid, c in claims.items()} == dict.fromkeys(ids, "accepted"), in_flight
    assert_one_receipt_each(stack, ids)
    for cid in taken_before:  # asked the peer, which knew the key: nothing sent again
        lookups = [e for e in ledger.timeline(cid) if e["kind"] == "peer.lookup"]
        assert lookups and lookups[-1]["known"] is True, ledger.timeline(cid)
    check_every_837p(stack, referrals(va_docs))


def test_a_claim_that_failed_after_the_peer_took_it_is_not_sent_twice_when_resubmitted(
        start_stack: StartStack) -> None:
    # every call is taken, then held past the 2 s peer timeout, until retries run out
    stack = start_stack(faults="timeout_rate=1,hang_ms=2500", extra_env={**FEW_RETRIES,
                                                                         "SUPERBILL_SUBMIT_MAX_RETRIES": "1"})
    va_docs = [va_event(1, tag="tf")]
    ids = post_all(stack, va_docs) + post_all(stack, [courtesy_event(1, tag="tf")])

    failed = wait_for(stack, ids, 60)

    assert {cid: c.status for cid, c in failed.items()} == dict.fromkeys(ids, "failed")
    assert all("no answer within" in (c.last_error or "") for c in failed.values())
    assert_one_receipt_each(stack, ids)  # the peers took them; their answers never arrived

    set_faults(stack, "")
    done = superbill(stack, "resubmit", "--status", "failed")
    assert done.returncode == 0, done.stderr
    claims = wait_for(stack, ids, 45)

    assert {cid: c.status for cid, c in claims.items()} == dict.fromkeys(ids, "accepted")
    assert_one_receipt_each(stack, ids)
    ledger = stack.ledger()
    for cid, claim in claims.items():
        # resumed under its own key: the peer is asked about it, knows it, and nothing is sent again
        assert (claim.submission_no, claim.idempotency_key) == (1, f"{cid}-1")
        timeline = ledger.timeline(cid)
        kinds = [e["kind"] for e in timeline]
        assert kinds.index("claim.failed") < kinds.index("resubmitted") < kinds.index("accepted")
        assert any(e["kind"] == "peer.lookup" and e.get("known") for e in timeline)
    check_every_837p(stack, referrals(va_docs))


def test_resubmitting_a_claim_the_peer_is_still_taking_sends_it_under_its_own_key_and_bills_once(
        start_stack: StartStack) -> None:
    # the peer answers after 15 s, the pipeline waits 2 s and gives up at once: the claim fails while the
    # peer is still taking its submission; a resubmission right away must not send it under a new key
    stack = start_stack(extra_env={"SUPERBILL_SUBMIT_MAX_RETRIES": "0", "SUPERBILL_PEER_TIMEOUT": "2"})
    set_faults(stack, "latency_ms=15000")
    ids = post_all(stack, [va_event(1, tag="slow"), courtesy_event(1, tag="slow")])
    failed = wait_for(stack, ids, 90)
    assert {cid: c.status for cid, c in failed.items()} == dict.fromkeys(ids, "failed")
    set_faults(stack, "")

    done = superbill(stack, "resubmit", *ids, "--json")
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)["resumed"]) == sorted(ids)
    resubmitted = wait_for(stack, ids, 60)
    assert {cid: c.status for cid, c in resubmitted.items()} == dict.fromkeys(ids, "accepted")
    assert {cid: c.idempotency_key for cid, c in resubmitted.items()} == {cid: f"{cid}-1" for cid in ids}

    # the requests held by the slow peer are all answered by now (15 s after they came): none was a second bill
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
            (time.time() - c.status_changed_at) > 16 for c in failed.values()):
        time.sleep(0.5)
    assert stack.receipts() == dict.fromkeys(sorted(ids), 1)
    assert keys_by_claim(stack) == {cid: [f"{cid}-1"] for cid in ids}
