"""VA referral visits end to end: `visits_authorized` is enforced across sessions, a session never uses
two visits, and concurrent sessions racing for the last visit get it exactly once."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from pipeline.entrypoints.demo import Stack
from schemas.claim import Claim
from tests.e2e.conftest import body, example

pytestmark = pytest.mark.e2e

FINAL_WAIT_S = 60.0


def new_referral_number() -> str:
    return "VA" + "".join(random.choice("0123456789") for _ in range(10))


def va_session(referral_number: str, authorized: int, label: str) -> dict[str, Any]:
    doc = example("va_direct")
    tag = uuid.uuid4().hex[:6]
    doc["event_id"] = f"evt_{label}_{tag}"
    doc["session"]["session_id"] = f"ses_{label}_{tag}"
    doc["va_referral"]["referral_number"] = referral_number
    doc["va_referral"]["visits_authorized"] = authorized
    return doc


def post(stack: Stack, doc: dict[str, Any]) -> str:
    response = stack.post_event(body(doc))
    assert response.status_code == 202, response.text
    return str(response.json()["claim_id"])


def final(stack: Stack, claim_ids: list[str]) -> dict[str, Claim]:
    assert stack.wait_final(claim_ids, FINAL_WAIT_S), {
        c.claim_id: c.status for c in stack.ledger().get_many(claim_ids)}
    return {c.claim_id: c for c in stack.ledger().get_many(claim_ids)}


def post_and_finish(stack: Stack, doc: dict[str, Any]) -> Claim:
    claim_id = post(stack, doc)
    return final(stack, [claim_id])[claim_id]


def resubmit(stack: Stack, claim_id: str, *options: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "resubmit", claim_id, *options],
                          env=stack.env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 or not options, done.stdout + done.stderr
    return done


def wait_resubmitted_final(stack: Stack, claim_id: str, submission_no: int) -> Claim:
    claim = final(stack, [claim_id])[claim_id]
    assert claim.submission_no == submission_no
    return claim


def codes(claim: Claim) -> list[str]:
    return [p.code for p in claim.problems]


def sessions_on(stack: Stack, referral_number: str) -> set[str]:
    return {m.decode() for m in stack.ledger().r.smembers(f"sb:referral:{referral_number}")}


def set_faults(stack: Stack, spec: str) -> None:
    response = requests.put(stack.sandbox_url + "/_sandbox/faults", json={"spec": spec}, timeout=10)
    assert response.status_code == 200, response.text


def test_two_authorised_visits_bill_two_sessions_and_flag_the_third(
        start_stack: Callable[..., Stack]) -> None:
    stack = start_stack()
    referral = new_referral_number()
    docs = [va_session(referral, 2, f"v{n}") for n in (1, 2, 3)]

    first, second, third = (post_and_finish(stack, d) for d in docs)

    assert (first.route, first.status) == ("direct_billing", "accepted")
    assert (second.route, second.status) == ("direct_billing", "accepted")
    assert (third.route, third.status) == ("needs_attention", "needs_attention")
    assert codes(third) == ["va_visits_exhausted"]
    assert sessions_on(stack, referral) == {first.session_id, second.session_id}
    receipts = stack.receipts()
    assert [receipts.get(c.claim_id, 0) for c in (first, second, third)] == [1, 1, 0]


def test_reposting_and_redriving_a_session_never_counts_its_visit_twice(
        start_stack: Callable[..., Stack]) -> None:
    stack = start_stack()
    referral = new_referral_number()
    s1, s2, s3 = (va_session(referral, 2, f"r{n}") for n in (1, 2, 3))

    # Session 1 is billed but the payer rejects it: it keeps its visit while ops fix and resubmit it.
    set_faults(stack, "reject_rate=1")
    rejected = post_and_finish(stack, s1)
    assert (rejected.route, rejected.status) == ("direct_billing", "rejected")
    set_faults(stack, "")

    # The same event again, and a second event for the same session: neither is a new visit.
    assert stack.post_event(body(s1)).status_code == 200
    again = {**s1, "event_id": s1["event_id"] + "_again"}
    assert stack.post_event(body(again)).json()["status"] == "kept_for_review"
    assert sessions_on(stack, referral) == {rejected.session_id}

    accepted = post_and_finish(stack, s2)
    assert (accepted.route, accepted.status) == ("direct_billing", "accepted")

    # Resubmitting session 1 routes it again: it uses the visit it already holds, not a third one.
    assert resubmit(stack, rejected.claim_id).returncode == 0
    redriven = wait_resubmitted_final(stack, rejected.claim_id, 2)
    assert (redriven.route, redriven.status) == ("direct_billing", "accepted")
    assert sessions_on(stack, referral) == {rejected.session_id, accepted.session_id}

    flagged = post_and_finish(stack, s3)
    assert (flagged.route, flagged.status) == ("needs_attention", "needs_attention")
    assert codes(flagged) == ["va_visits_exhausted"]

    # Re-driving the flagged session as it is: the dry run finds the same problem, so it is refused unless
    # asked for anyway; then the referral is counted again: still two other sessions, still exhausted.
    refused = resubmit(stack, flagged.claim_id)
    assert refused.returncode == 1 and "still needs attention for the same reasons: va_visits_exhausted" \
        in refused.stdout
    resubmit(stack, flagged.claim_id, "--anyway")
    reflagged = wait_resubmitted_final(stack, flagged.claim_id, 2)
    assert (reflagged.route, codes(reflagged)) == ("needs_attention", ["va_visits_exhausted"])
    assert sessions_on(stack, referral) == {rejected.session_id, accepted.session_id}
    receipts = stack.receipts()
    assert (receipts.get(redriven.claim_id), receipts.get(accepted.claim_id), receipts.get(flagged.claim_id)) \
        == (2, 1, None)  # session 1: its rejected submission and its resubmission


def test_sessions_racing_for_the_last_visit_get_it_exactly_once(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack(worker_processes=2, worker_threads=4)
    referral = new_referral_number()
    docs = [va_session(referral, 1, f"race{n}") for n in range(8)]

    with ThreadPoolExecutor(max_workers=len(docs)) as pool:
        claim_ids = list(pool.map(lambda d: post(stack, d), docs))
    claims = final(stack, claim_ids)

    routes = Counter(c.route for c in claims.values())
    assert routes == {"direct_billing": 1, "needs_attention": 7}
    winner = next(c for c in claims.values() if c.route == "direct_billing")
    assert winner.status == "accepted"
    assert all(codes(c) == ["va_visits_exhausted"] for c in claims.values() if c is not winner)
    assert sessions_on(stack, referral) == {winner.session_id}
    receipts = stack.receipts()
    assert {cid: n for cid, n in receipts.items() if cid in claims} == {winner.claim_id: 1}
