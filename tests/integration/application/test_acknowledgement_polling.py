"""A clearinghouse that took the 837P but has not decided (no 277CA yet) is asked again by key: after a quarter
of the time waited so far, 2 s to 15 minutes later; a claim still undecided 7 days after it was submitted
is `failed` (CONTRACT.md 5.4), and announced."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.application.harness import InlinePipeline, example


def test_an_undecided_claim_is_asked_about_after_a_quarter_of_the_time_waited(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    pipeline.clearinghouse.outcome = "pending"
    claim_id = pipeline.post(example("va_direct"))
    assert pipeline.claim(claim_id).status == "submitted"
    assert [delay for *_, delay in pipeline.later] == [2_000]  # at first: the 2 s floor

    assert pipeline.run_later(after=timedelta(seconds=60)) == [2_000]
    assert [delay for *_, delay in pipeline.later] == [15_000]  # 60 s waited: a quarter is 15 s
    assert pipeline.run_later(after=timedelta(minutes=39)) == [15_000]
    assert [delay for *_, delay in pipeline.later] == [600_000]  # 40 min waited: 10 min
    assert pipeline.run_later(after=timedelta(hours=5)) == [600_000]
    assert [delay for *_, delay in pipeline.later] == [900_000]  # hours waited: the 15 min ceiling
    assert pipeline.clearinghouse.sent == 1  # asked by key each time, never sent again
    assert pipeline.claim(claim_id).status == "submitted"
    kinds = [(e["kind"], e.get("peer")) for e in pipeline.ledger.timeline(claim_id)]
    assert kinds.count(("peer.pending", "clearinghouse")) == 4  # the first answer and three looks by key
    assert kinds.count(("peer.lookup", "clearinghouse")) == 3


def test_a_claim_undecided_7_days_after_submission_is_failed_and_announced(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    pipeline.clearinghouse.outcome = "pending"
    claim_id = pipeline.post(example("va_direct"))

    pipeline.run_later(after=timedelta(days=7))  # exactly 7 days: still waiting
    assert pipeline.claim(claim_id).status == "submitted"
    assert pipeline.alerts.notices == []

    pipeline.run_later(after=timedelta(seconds=1))
    claim = pipeline.claim(claim_id)
    assert claim.status == "failed"
    assert claim.last_error is not None and "no final answer" in claim.last_error
    assert pipeline.later == [] and pipeline.clearinghouse.sent == 1
    assert [(n["type"], n["claim_id"]) for n in pipeline.alerts.notices] == [("claim.failed", claim_id)]


def test_the_reason_of_a_claim_never_decided_gives_the_hours_waited_to_the_nearest_hour(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    pipeline.clearinghouse.outcome = "pending"
    claim_id = pipeline.post(example("va_direct"))
    pipeline.run_later(after=timedelta(days=7))
    pipeline.run_later(after=timedelta(minutes=30, seconds=1))  # 168 h 30 min 1 s after it was submitted
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.last_error) == (
        "failed", "clearinghouse took the claim but gave no final answer in 169 h")
