"""Courtesy superbills and statements end to end: the billing service over HTTP through its faults,
rejections and bulk resubmission, document numbers across parallel workers, statement PDFs from the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.entrypoints.demo import Stack
from pipeline.sandbox.billing import REJECT_REASONS
from tests.e2e.submission_support import (
    assert_one_receipt_each,
    check_every_837p,
    courtesy_event,
    keys_by_claim,
    pdf_text,
    post_all,
    set_faults,
    statement_event,
    submissions,
    superbill,
    va_event,
    wait_for,
    worker_log_lines,
)

pytestmark = pytest.mark.e2e

StartStack = Callable[..., Stack]
# The sandbox draws its faults from one random source: with this seed its first peer call is taken and then
# held past the worker's timeout, and errors follow.
SEED = 42


def test_courtesy_claims_are_accepted_exactly_once_through_errors_and_timeouts(start_stack: StartStack) -> None:
    stack = start_stack(faults=f"error_rate=0.3,timeout_rate=0.1,hang_ms=2500,seed={SEED}")
    ids = post_all(stack, [courtesy_event(n) for n in range(1, 9)])

    claims = wait_for(stack, ids, 75)

    assert {cid: c.status for cid, c in claims.items()} == dict.fromkeys(ids, "accepted")
    assert_one_receipt_each(stack, ids)
    taken = {r["claim_id"]: r for r in submissions(stack)["billing_service"]}
    for cid, claim in claims.items():
        assert claim.route == "courtesy_submission"
        assert claim.peer_reference == taken[cid]["reference"]
        assert claim.document_number == taken[cid]["document_number"]
        assert taken[cid]["status"] == "accepted"
    assert len({c.document_number for c in claims.values()}) == len(ids)
    assert not submissions(stack)["refused"]
    sandbox_log = (stack.workdir / "sandbox.log").read_text()
    assert "sandbox.fault.hang" in sandbox_log, f"seed {SEED} no longer starts with a timeout"
    assert "sandbox.fault.error" in sandbox_log, f"seed {SEED} no longer brings errors"
    timeouts = [line for line in worker_log_lines(stack) if line.get("event") == "peer.retry_scheduled"
                and "no answer within 2 s" in line.get("error", "")]
    assert timeouts, "the worker never saw a timeout"


def test_rejected_claims_are_resubmitted_in_bulk_under_new_keys(start_stack: StartStack, tmp_path: Path) -> None:
    stack = start_stack(faults="reject_rate=1")
    va_docs = [va_event(n, tag="bk") for n in range(1, 3)]
    courtesy_ids = post_all(stack, [courtesy_event(n, tag="bk") for n in range(1, 4)])
    va_ids = post_all(stack, va_docs)
    ids = courtesy_ids + va_ids

    rejected = wait_for(stack, ids, 45)

    assert {cid: c.status for cid, c in rejected.items()} == dict.fromkeys(ids, "rejected")
    answers = {r["claim_id"]: r for r in submissions(stack)["billing_service"]}
    for cid in courtesy_ids:
        assert rejected[cid].peer_reasons, f"{cid} has no reasons"
        assert all(r in REJECT_REASONS for r in rejected[cid].peer_reasons)
        assert answers[cid]["status"] == "rejected"
    for cid in va_ids:
        assert rejected[cid].peer_reasons and rejected[cid].peer_reasons[0].startswith("277CA: ")
    assert_one_receipt_each(stack, ids)

    set_faults(stack, "")
    done = superbill(stack, "resubmit", "--status", "rejected")
    assert done.returncode == 0, done.stderr
    resubmitted = wait_for(stack, ids, 45)

    assert {cid: c.status for cid, c in resubmitted.items()} == dict.fromkeys(ids, "accepted")
    assert {cid: (c.submission_no, c.idempotency_key) for cid, c in resubmitted.items()} == {
        cid: (2, f"{cid}-2") for cid in ids}
    assert stack.receipts() == dict.fromkeys(sorted(ids), 2)
    assert {cid: sorted(keys) for cid, keys in keys_by_claim(stack).items()} == {
        cid: [f"{cid}-1", f"{cid}-2"] for cid in ids}
    check_every_837p(stack, {d["session"]["session_id"]: d["va_referral"]["referral_number"] for d in va_docs})
    documents = [(r["claim_id"], r["idempotency_key"], r["document_number"])
                 for r in submissions(stack)["billing_service"]]
    assert len({number for _, _, number in documents}) == len(documents) == 6
    for cid in courtesy_ids:
        second = next(n for c, k, n in documents if k == f"{cid}-2")
        assert resubmitted[cid].document_number == second
        out = tmp_path / f"{cid}.pdf"
        written = superbill(stack, "claims", "statement", cid, "-o", str(out))
        assert written.returncode == 0, written.stderr
        assert second in pdf_text(out)


def test_document_numbers_never_repeat_across_parallel_workers(start_stack: StartStack, tmp_path: Path) -> None:
    stack = start_stack(worker_processes=2)
    courtesy_ids = post_all(stack, [courtesy_event(n, tag="pw") for n in range(1, 11)])
    statement_ids = post_all(stack, [statement_event(n, tag="pw") for n in range(1, 11)])

    claims = wait_for(stack, courtesy_ids + statement_ids, 60)

    assert {cid: claims[cid].status for cid in courtesy_ids} == dict.fromkeys(courtesy_ids, "accepted")
    assert {cid: claims[cid].status for cid in statement_ids} == dict.fromkeys(statement_ids, "statement_ready")
    assert_one_receipt_each(stack, courtesy_ids)
    assert not any(cid in stack.receipts() for cid in statement_ids)
    sent = [r["document_number"] for r in submissions(stack)["billing_service"]]
    numbers = sent + [claims[cid].document_number for cid in statement_ids]
    assert all(n and n.startswith("SB-") for n in numbers)
    assert len(set(numbers)) == len(numbers) == 20
    for cid in statement_ids[:3]:
        out = tmp_path / f"{cid}.pdf"
        written = superbill(stack, "claims", "statement", cid, "-o", str(out))
        assert written.returncode == 0, written.stderr
        assert out.read_bytes().startswith(b"%PDF")
        assert claims[cid].document_number in pdf_text(out)
