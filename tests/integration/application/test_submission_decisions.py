"""The submission step's decisions (README "Exactly once at the peers", "A resubmission never bills twice";
CONTRACT.md 4 and 5.1): nothing is sent twice for one submission number, a never-answered submission is sent
again under its own key, an earlier submission the peer took is adopted, and a claim another worker is
submitting is looked at again later without spending retries."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from pipeline.application import stages
from tests.integration.application.harness import InlinePipeline, example


@pytest.fixture
def pipeline(redis_url: str) -> InlinePipeline:
    return InlinePipeline(redis_url)


def test_a_submission_is_sent_under_the_key_claim_id_dash_submission_number(pipeline: InlinePipeline) -> None:
    claim_id = pipeline.post(example("va_direct"))
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.idempotency_key, claim.peer_reference) == ("accepted", "ses_va_direct-1", "REF1")
    assert list(pipeline.clearinghouse.taken) == ["ses_va_direct-1"]
    assert pipeline.kinds(claim_id)[-3:] == ["submission.started", "submitted", "accepted"]


def test_a_never_answered_submission_is_sent_again_under_its_own_key(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "answer_lost"  # taken, but the answer never arrives
    claim_id = pipeline.post(example("va_direct"))
    pipeline.retries_run_out(claim_id)
    assert pipeline.claim(claim_id).status == "failed"

    pipeline.clearinghouse.outcome = "accepted"
    result = pipeline.resubmit(claim_id)
    assert result.resumed == [claim_id]
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.submission_no, claim.idempotency_key) == ("accepted", 1, "ses_va_direct-1")
    assert list(pipeline.clearinghouse.taken) == ["ses_va_direct-1"]  # one submission at the peer
    assert pipeline.clearinghouse.sent == 1


def test_a_resubmission_adopts_an_earlier_submission_the_peer_took_and_sends_nothing(
        pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "answer_lost"
    claim_id = pipeline.post(example("va_direct"))
    pipeline.retries_run_out(claim_id)
    # amended since: it goes again under a new number, but first the peer is asked about the earlier key
    pipeline.amend(claim_id, {"client": {"phone": "+1-217-555-0101"}})
    pipeline.clearinghouse.outcome = "accepted"
    pipeline.resubmit(claim_id)
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.submission_no, claim.idempotency_key) == ("accepted", 2, "ses_va_direct-1")
    assert "submission.adopted" in pipeline.kinds(claim_id)
    assert list(pipeline.clearinghouse.taken) == ["ses_va_direct-1"] and pipeline.clearinghouse.sent == 1


def test_a_resubmission_asks_the_peer_about_every_earlier_key_not_only_the_last(
        pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "answer_lost"  # submission 1 is taken, its answer never arrives
    claim_id = pipeline.post(example("va_direct"))
    pipeline.retries_run_out(claim_id)
    # submission 2 needs attention and never reaches the peer ...
    rx = example("va_direct")["prescription"]
    pipeline.amend(claim_id, {"prescription": {**rx, "signed": False}})
    pipeline.resubmit(claim_id)
    assert (pipeline.claim(claim_id).status, pipeline.claim(claim_id).submission_no) == ("needs_attention", 2)
    # ... so submission 3 finds the peer's answer under key 1, two numbers back, and bills nothing twice
    pipeline.amend(claim_id, {"prescription": rx})
    pipeline.clearinghouse.outcome = "accepted"
    pipeline.resubmit(claim_id)
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.submission_no, claim.idempotency_key) == ("accepted", 3, "ses_va_direct-1")
    assert list(pipeline.clearinghouse.taken) == ["ses_va_direct-1"] and pipeline.clearinghouse.sent == 1


def test_an_earlier_submission_the_peer_rejected_is_not_adopted(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "rejected"
    claim_id = pipeline.post(example("va_direct"))
    pipeline.clearinghouse.outcome = "accepted"
    pipeline.resubmit(claim_id)
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.idempotency_key) == ("accepted", "ses_va_direct-2")
    assert list(pipeline.clearinghouse.taken) == ["ses_va_direct-1", "ses_va_direct-2"]
    assert "submission.adopted" not in pipeline.kinds(claim_id)


def test_an_earlier_file_the_999_rejected_is_not_adopted(pipeline: InlinePipeline) -> None:
    from pipeline.application.ports import PeerAnswer

    claim_id = pipeline.post(example("va_direct") | {"prescription": None})  # needs attention first
    assert pipeline.claim(claim_id).status == "needs_attention"
    pipeline.clearinghouse.answers["ses_va_direct-1"] = PeerAnswer(outcome="rejected", file_accepted=False,
                                                                    reasons=["999: rejected"])
    pipeline.amend(claim_id, {"prescription": example("va_direct")["prescription"]})
    pipeline.resubmit(claim_id)
    assert pipeline.claim(claim_id).idempotency_key == "ses_va_direct-2"


def test_a_claim_another_worker_is_submitting_is_looked_at_again_once_its_lease_runs_out(
        pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "pending"
    claim_id = pipeline.post(example("va_direct"))
    pipeline.later.clear()
    with pipeline.ledger.lease(f"submit:{claim_id}", 3.0) as got:
        assert got
        stages.submit_direct(pipeline.deps, claim_id)
    (step, again, delay), = pipeline.later
    assert (step, again) == ("submit_direct", claim_id)
    assert 3_000 < delay <= 3_000 + stages.LEASE_MARGIN_MS  # the lease's remaining time and a margin
    assert pipeline.clearinghouse.sent == 1
    assert pipeline.claim(claim_id).attempts == 0  # no retry spent


def test_a_claim_in_submitted_whose_key_the_peer_does_not_know_yet_is_retried(pipeline: InlinePipeline) -> None:
    from pipeline.application.errors import TransientError

    pipeline.clearinghouse.outcome = "pending"
    claim_id = pipeline.post(example("va_direct"))
    pipeline.clearinghouse.answers.clear()  # the peer lost track of it for a moment
    with pytest.raises(TransientError, match="does not know ses_va_direct-1 yet"):
        stages.submit_direct(pipeline.deps, claim_id)
    assert pipeline.clearinghouse.sent == 1  # never sent again from `submitted`


def test_a_file_the_999_rejects_makes_the_claim_rejected_with_its_reasons(pipeline: InlinePipeline) -> None:
    from pipeline.application.ports import PeerAnswer

    class RejectingFile:
        name = "clearinghouse"

        def submit(self, x12: str, *, idempotency_key: str) -> PeerAnswer:
            return PeerAnswer(outcome="rejected", file_accepted=False, reasons=["999: IK3*N3"])

        def lookup(self, idempotency_key: str) -> PeerAnswer | None:
            return None

    pipeline.deps.clearinghouse = RejectingFile()
    claim_id = pipeline.post(example("va_direct"))
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.peer_reasons) == ("rejected", ["999: IK3*N3"])
    assert "submitted" not in pipeline.kinds(claim_id)
    assert [e["peer"] for e in pipeline.ledger.timeline(claim_id) if e["kind"] == "rejected"] == ["clearinghouse"]


class LatencyRecorder:
    def __init__(self) -> None:
        self.latencies: list[tuple[str, str | None]] = []

    def record_latency(self, peer: str, seconds: float, *, once: str | None = None) -> None:
        assert seconds >= 0
        self.latencies.append((peer, once))

    def record_message(self, actor: str, *, seconds: float, error: bool) -> None:
        pass


def entries(pipeline: InlinePipeline, claim_id: str, kind: str) -> list[dict[str, object]]:
    return [e for e in pipeline.ledger.timeline(claim_id) if e["kind"] == kind]


def test_the_timeline_names_the_peer_its_reference_and_its_reasons(pipeline: InlinePipeline) -> None:
    metrics = LatencyRecorder()
    pipeline.deps.metrics = metrics
    claim_id = pipeline.post(example("va_direct"))
    (submitted,) = entries(pipeline, claim_id, "submitted")
    (accepted,) = entries(pipeline, claim_id, "accepted")
    assert (submitted["peer"], submitted["reference"]) == ("clearinghouse", "REF1")
    assert (accepted["peer"], accepted["reference"]) == ("clearinghouse", "REF1")
    assert metrics.latencies == [("clearinghouse", f"{claim_id}:1")]

    pipeline.billing_service.outcome = "refused"
    courtesy = pipeline.post(example("commercial_courtesy"))
    (rejected,) = entries(pipeline, courtesy, "rejected")
    assert (rejected["peer"], rejected["reasons"], rejected["http_status"]) == (
        "billing_service", ["not allowed"], 403)
    assert pipeline.claim(courtesy).peer_reasons == ["not allowed"]
    assert metrics.latencies[-1] == ("billing_service", f"{courtesy}:1")


def test_a_claim_the_payer_rejects_names_the_peer_and_its_reasons_on_the_timeline(pipeline: InlinePipeline) -> None:
    metrics = LatencyRecorder()
    pipeline.deps.metrics = metrics
    pipeline.clearinghouse.outcome = "rejected"
    claim_id = pipeline.post(example("va_direct"))
    (rejected,) = entries(pipeline, claim_id, "rejected")
    assert (rejected["peer"], rejected["reasons"]) == ("clearinghouse", ["277CA: A7:21 Missing information"])
    assert metrics.latencies == [("clearinghouse", f"{claim_id}:1")]


def test_a_submitted_claim_keeps_the_peers_reference_while_it_waits(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "pending"
    claim_id = pipeline.post(example("va_direct"))
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.peer_reference) == ("submitted", "REF1")
    assert claim.submitted_at == pipeline.now.timestamp()


def test_an_accepted_claim_no_longer_shows_the_error_of_an_earlier_attempt(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "unreachable"
    claim_id = pipeline.post(example("va_direct"))
    assert pipeline.claim(claim_id).last_error == "clearinghouse: answered 503"
    pipeline.clearinghouse.outcome = "accepted"
    pipeline.queue.append(("submit_direct", claim_id))  # dramatiq's retry
    pipeline.run()
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.last_error, claim.peer_reference) == ("accepted", None, "REF1")


def test_the_timeline_names_the_peer_and_the_key_of_each_submission_started_or_adopted(
        pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "answer_lost"
    claim_id = pipeline.post(example("va_direct"))
    pipeline.retries_run_out(claim_id)
    pipeline.amend(claim_id, {"client": {"phone": "+1-217-555-0101"}})
    pipeline.clearinghouse.outcome = "accepted"
    pipeline.resubmit(claim_id)
    for kind in ("submission.started", "submission.adopted"):
        (entry,) = entries(pipeline, claim_id, kind)
        assert (entry["peer"], entry["idempotency_key"]) == ("clearinghouse", "ses_va_direct-1"), kind


def test_each_attempt_that_cannot_reach_the_peer_is_counted_also_when_asking_by_key(
        pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "answer_lost"  # sent once, then the peer cannot be reached at all
    claim_id = pipeline.post(example("va_direct"))
    pipeline.queue.append(("submit_direct", claim_id))  # dramatiq's retry: the claim is asked about by key
    pipeline.run()
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.attempts, claim.last_error) == ("submitting", 2, "clearinghouse: answered 503")
    assert [(e["peer"], e["error"]) for e in entries(pipeline, claim_id, "attempt.failed")] == [
        ("clearinghouse", "clearinghouse: answered 503")] * 2
    assert pipeline.clearinghouse.sent == 1


def test_a_submission_the_peer_can_no_longer_tell_about_fails_with_its_reason_and_nothing_is_sent(
        pipeline: InlinePipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.application.errors import SubmissionUnknown

    pipeline.clearinghouse.outcome = "answer_lost"
    claim_id = pipeline.post(example("va_direct"))
    reason = "clearinghouse: no answer to ses_va_direct-1 within its replay window; look it up in the portal"

    def past_the_window(key: str) -> None:
        raise SubmissionUnknown(reason)
    monkeypatch.setattr(pipeline.clearinghouse, "lookup", past_the_window)
    pipeline.queue.append(("submit_direct", claim_id))
    pipeline.run()
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.last_error) == ("failed", reason)
    assert pipeline.clearinghouse.sent == 1
    assert [(n["type"], n["claim_id"]) for n in pipeline.alerts.notices] == [("claim.failed", claim_id)]


def test_a_submission_step_of_another_route_leaves_the_claim_alone(pipeline: InlinePipeline) -> None:
    from pipeline.application.ingest import receive
    from tests.integration.application.harness import STEP_FUNCTIONS

    claim_id = str(receive(pipeline.ledger, json.dumps(example("va_direct")).encode(), pipeline.deps.send,
                           source="test").body["claim_id"])
    while pipeline.queue[0][0] != "submit_direct":
        step, cid = pipeline.queue.popleft()
        STEP_FUNCTIONS[step](pipeline.deps, cid)
    assert pipeline.claim(claim_id).status == "routed"
    stages.submit_courtesy(pipeline.deps, claim_id)  # a stale message: the claim goes to the clearinghouse
    assert pipeline.billing_service.sent == 0 and pipeline.claim(claim_id).status == "routed"
    pipeline.run()
    assert pipeline.claim(claim_id).status == "accepted" and pipeline.clearinghouse.sent == 1


def test_the_peers_own_answer_is_kept_with_the_claim_under_the_key_it_answers(pipeline: InlinePipeline) -> None:
    from datetime import UTC, datetime

    from pipeline.application.ports import PeerAnswer

    raw = {"status": "ACCEPTED", "claimReference": {"correlationId": "REF1"},
           "receivedAt": datetime(2026, 11, 21, 12, tzinfo=UTC)}

    class AnswersInFull(type(pipeline.clearinghouse)):  # type: ignore[misc]
        def _answer(self) -> PeerAnswer:
            return PeerAnswer(outcome="accepted", reference="REF1", raw=raw)

    pipeline.deps.clearinghouse = AnswersInFull("clearinghouse")
    claim_id = pipeline.post(example("va_direct"))
    kept = pipeline.ledger.documents(claim_id)
    assert json.loads(kept["clearinghouse answer to ses_va_direct-1"]) == {
        "status": "ACCEPTED", "claimReference": {"correlationId": "REF1"}, "receivedAt": "2026-11-21 12:00:00+00:00"}


def test_an_earlier_key_the_peer_cannot_tell_about_is_noted_and_the_keys_before_it_are_still_asked(
        pipeline: InlinePipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.application.errors import SubmissionUnknown

    pipeline.clearinghouse.outcome = "answer_lost"  # submission 1 is taken, its answer never arrives
    claim_id = pipeline.post(example("va_direct"))
    pipeline.retries_run_out(claim_id)
    rx = example("va_direct")["prescription"]
    pipeline.amend(claim_id, {"prescription": {**rx, "signed": False}})
    pipeline.resubmit(claim_id)  # submission 2 needs attention
    pipeline.amend(claim_id, {"prescription": rx})
    pipeline.clearinghouse.outcome = "accepted"
    knows = pipeline.clearinghouse.lookup

    def lookup(key: str) -> object:
        if key == "ses_va_direct-2":
            raise SubmissionUnknown("clearinghouse: no answer to ses_va_direct-2 within its replay window")
        return knows(key)
    monkeypatch.setattr(pipeline.clearinghouse, "lookup", lookup)
    pipeline.resubmit(claim_id)
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.idempotency_key) == ("accepted", "ses_va_direct-1")
    assert pipeline.clearinghouse.sent == 1
    assert [(e["peer"], e["key"], e["reason"]) for e in entries(pipeline, claim_id, "peer.lookup_unknown")] == [
        ("clearinghouse", "ses_va_direct-2", "clearinghouse: no answer to ses_va_direct-2 within its replay window")]


def test_each_look_by_key_is_on_the_timeline_with_the_key_and_whether_the_peer_knew_it(
        pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "pending"
    claim_id = pipeline.post(example("va_direct"))
    pipeline.run_later(after=timedelta(seconds=10))
    assert [(e["peer"], e["key"], e["known"]) for e in entries(pipeline, claim_id, "peer.lookup")] == [
        ("clearinghouse", "ses_va_direct-1", True)]


def test_a_refusal_without_reasons_is_rejected_with_the_peers_answer_as_its_reason(pipeline: InlinePipeline,
                                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                                   ) -> None:
    from pipeline.application.errors import PeerRefused

    def refuse(document: object, *, idempotency_key: str) -> None:
        raise PeerRefused("clearinghouse", 403, [])
    monkeypatch.setattr(pipeline.clearinghouse, "submit", refuse)
    claim_id = pipeline.post(example("va_direct"))
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.peer_reasons) == ("rejected", ["clearinghouse answered 403: no reason given"])


def test_a_key_the_peer_took_with_another_document_fails_the_claim_with_that_reason(
        pipeline: InlinePipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.application.errors import SubmissionUnknown

    reason = "clearinghouse: no answer to ses_va_direct-1: the key was used with a different 837P"

    def conflict(document: object, *, idempotency_key: str) -> None:
        raise SubmissionUnknown(reason)
    monkeypatch.setattr(pipeline.clearinghouse, "submit", conflict)
    claim_id = pipeline.post(example("va_direct"))
    claim = pipeline.claim(claim_id)
    assert (claim.status, claim.last_error) == ("failed", reason)
    assert [(n["type"], n["claim_id"]) for n in pipeline.alerts.notices] == [("claim.failed", claim_id)]
