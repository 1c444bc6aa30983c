"""README and CONTRACT.md 5.5: when a claim ends `failed`, `rejected` or `needs_attention`, a short notice
(claim id, route, status, reason codes; never patient data) is posted; `accepted` and `statement_ready`
claims post none."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from tests.integration.application.harness import InlinePipeline, example

PATIENT_DATA = ("John", "Doe", "JOHN", "DOE", "1970-01-01", "19700101", "123456789", "XYZ123456789", "Oak",
                "OAK", "62701", "john@example.com", "555-0100")


@pytest.fixture
def pipeline(redis_url: str) -> InlinePipeline:
    return InlinePipeline(redis_url)


def only_notice(pipeline: InlinePipeline) -> dict[str, object]:
    assert len(pipeline.alerts.notices) == 1, pipeline.alerts.notices
    notice = pipeline.alerts.notices[0]
    text = json.dumps(notice)
    leaked = [value for value in PATIENT_DATA if value in text]
    assert leaked == [], f"patient data in the alert: {leaked}"
    return notice


def test_a_claim_the_payer_rejects_posts_a_rejected_notice(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "rejected"
    claim_id = pipeline.post(example("va_direct"))
    assert only_notice(pipeline) == {
        "type": "claim.rejected", "claim_id": claim_id, "route": "direct_billing", "status": "rejected",
        "reason_codes": [], "peer_reason_codes": ["277CA:A7:21"], "error_code": None, "attempts": 0}
    assert "alert.sent" in [e["kind"] for e in pipeline.ledger.timeline(claim_id)]


def test_a_courtesy_submission_the_billing_service_refuses_posts_a_rejected_notice(
        pipeline: InlinePipeline) -> None:
    pipeline.billing_service.outcome = "refused"  # a 4xx: a permanent no
    claim_id = pipeline.post(example("commercial_courtesy"))
    notice = only_notice(pipeline)
    assert (notice["type"], notice["claim_id"], notice["route"], notice["status"]) == (
        "claim.rejected", claim_id, "courtesy_submission", "rejected")


def test_a_claim_whose_retries_run_out_posts_a_failed_notice(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "unreachable"
    claim_id = pipeline.post(example("va_direct"))
    assert pipeline.alerts.notices == []  # still being retried: nothing final yet
    pipeline.retries_run_out(claim_id)
    notice = only_notice(pipeline)
    assert (notice["type"], notice["claim_id"], notice["route"], notice["status"]) == (
        "claim.failed", claim_id, "direct_billing", "failed")
    assert notice["error_code"] == "clearinghouse:http_503"
    assert notice["attempts"] == 1


def test_a_claim_that_needs_attention_posts_its_problem_codes(pipeline: InlinePipeline) -> None:
    claim_id = pipeline.post(example("va_missing_referral"))
    notice = only_notice(pipeline)
    assert (notice["type"], notice["claim_id"], notice["status"], notice["reason_codes"]) == (
        "claim.needs_attention", claim_id, "needs_attention", ["va_referral_missing"])


@pytest.mark.parametrize("name", ["va_direct", "commercial_courtesy", "commercial_statement", "self_pay"])
def test_accepted_and_statement_ready_claims_post_no_notice(pipeline: InlinePipeline, name: str) -> None:
    claim_id = pipeline.post(example(name))
    assert pipeline.claim(claim_id).status in ("accepted", "statement_ready")
    assert pipeline.alerts.notices == []


def test_a_failed_claim_logs_one_claim_failed_line_and_keeps_it_on_its_timeline(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "unreachable"
    claim_id = pipeline.post(example("va_direct"))
    with capture_logs() as logs:
        pipeline.retries_run_out(claim_id)
    failed = [entry for entry in logs if entry["event"] == "claim.failed"]
    assert failed == [{"event": "claim.failed", "log_level": "error", "claim_id": claim_id, "route": "direct_billing",
                       "attempts": 1, "error": "clearinghouse:http_503"}]
    last = pipeline.ledger.timeline(claim_id)[-2]  # then alert.sent
    assert (last["kind"], last["error"]) == ("claim.failed", "clearinghouse: answered 503")
    assert pipeline.claim(claim_id).last_error == "clearinghouse: answered 503"


def test_a_claim_whose_retries_ran_out_without_an_error_says_so(pipeline: InlinePipeline) -> None:
    pipeline.clearinghouse.outcome = "pending"  # taken, never decided; each look raised no error
    claim_id = pipeline.post(example("va_direct"))
    pipeline.retries_run_out(claim_id)
    assert (pipeline.claim(claim_id).status, pipeline.claim(claim_id).last_error) == ("failed", "retries exhausted")
    assert only_notice(pipeline)["error_code"] == "retries_exhausted"


def test_the_error_given_when_marking_a_claim_failed_is_its_last_error(pipeline: InlinePipeline) -> None:
    from pipeline.application import stages

    pipeline.clearinghouse.outcome = "pending"
    claim_id = pipeline.post(example("va_direct"))
    stages.mark_failed(pipeline.deps, claim_id, error="clearinghouse: no answer within 2 s")
    assert pipeline.claim(claim_id).last_error == "clearinghouse: no answer within 2 s"


def test_a_routed_claim_whose_peer_cannot_even_be_asked_fails_when_retries_run_out(pipeline: InlinePipeline) -> None:
    # CONTRACT.md 4: routed -> failed, "the peer could not be reached, even to ask about earlier submissions"
    pipeline.clearinghouse.outcome = "rejected"
    claim_id = pipeline.post(example("va_direct"))
    pipeline.alerts.notices.clear()
    pipeline.clearinghouse.outcome = "unreachable"
    pipeline.resubmit(claim_id)  # a new submission number: first the peer is asked about the earlier key
    assert pipeline.claim(claim_id).status == "routed"
    attempts = [e for e in pipeline.ledger.timeline(claim_id) if e["kind"] == "attempt.failed"]
    assert [(e["peer"], e["error"]) for e in attempts] == [("clearinghouse", "clearinghouse: answered 503")]
    pipeline.retries_run_out(claim_id)
    assert pipeline.claim(claim_id).status == "failed"
    assert only_notice(pipeline)["status"] == "failed"


def test_a_final_claim_is_never_marked_failed(pipeline: InlinePipeline) -> None:
    claim_id = pipeline.post(example("va_direct"))
    pipeline.retries_run_out(claim_id)
    assert pipeline.claim(claim_id).status == "accepted"
    assert pipeline.alerts.notices == []
