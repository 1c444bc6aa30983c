"""The booking system re-sends a session's event with the data the front desk fixed (here: the VA referral a
parked claim lacked). The event is kept on the claim's timeline and changes nothing by itself; the claim shows
it is waiting and what it changes; one action applies it as an amendment attributed to the person, onto the
version they saw, once."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from structlog.testing import capture_logs

from pipeline.application import booking_updates, ops
from pipeline.application.ingest import receive
from tests.integration.application.harness import InlinePipeline, example


@pytest.fixture
def pipeline(redis_url: str) -> InlinePipeline:
    return InlinePipeline(redis_url)


def resent_with_referral(first: dict[str, Any], event_id: str = "evt_fixed_referral") -> dict[str, Any]:
    again = copy.deepcopy(first)
    again["event_id"] = event_id
    again["va_referral"] = example("va_direct")["va_referral"]
    return again


def parked(pipeline: InlinePipeline) -> tuple[str, dict[str, Any]]:
    first = example("va_missing_referral")
    claim_id = pipeline.post(first)
    assert pipeline.claim(claim_id).status == "needs_attention"
    return claim_id, first


def test_a_resent_event_waits_on_the_claim_and_is_applied_once_attributed(pipeline: InlinePipeline) -> None:
    claim_id, first = parked(pipeline)
    with capture_logs() as logs:
        taken = receive(pipeline.ledger, json.dumps(resent_with_referral(first)).encode(), lambda *_: None,
                        source="test")
    assert taken.body["status"] == "kept_for_review"
    [kept] = [e for e in logs if e["event"] == "event.kept_changes"]
    assert (kept["sections"], kept["paths"]) == (["va_referral"], ["va_referral"])
    referral_number = example("va_direct")["va_referral"]["referral_number"]
    assert referral_number not in repr(logs)  # the paths, never the values
    assert pipeline.claim(claim_id).status == "needs_attention"  # nothing changed by the event itself
    assert "va_referral" not in pipeline.ledger.event_document(claim_id)

    shown = ops.show_claim(pipeline.ledger, claim_id)
    assert shown is not None and shown["pending_event"] is not None
    waiting = shown["pending_event"]
    assert waiting["event_id"] == "evt_fixed_referral"
    assert [s["section"] for s in waiting["sections"]] == ["va_referral"]
    assert waiting["sections"][0]["now"] is None
    assert waiting["sections"][0]["update"]["referral_number"] == example("va_direct")["va_referral"]["referral_number"]

    ahead = booking_updates.apply_update(pipeline.ledger, pipeline.deps.practice, claim_id, by="Dana",
                                         source="test", dry_run=True)
    assert ahead.ok and ahead.preview is not None and ahead.preview["route"] == "direct_billing", ahead
    assert "va_referral" not in pipeline.ledger.event_document(claim_id)  # a dry run stores nothing

    version = shown["event_version"]
    with capture_logs() as logs:
        done = booking_updates.apply_update(pipeline.ledger, pipeline.deps.practice, claim_id, by="Dana",
                                            source="test", based_on=version)
    assert referral_number not in repr(logs)
    assert [e["paths"] for e in logs if e["event"] == "claim.update_applied"] == [["va_referral"]]
    assert done.ok and done.applied == ["va_referral"], done
    assert pipeline.ledger.event_document(claim_id)["va_referral"] == example("va_direct")["va_referral"]
    [amended] = [e for e in pipeline.ledger.timeline(claim_id) if e["kind"] == "amended"]
    assert amended["by"] == "Dana" and amended["applied_event"] == "evt_fixed_referral"
    assert amended["changed"] == ["va_referral"]
    after = ops.show_claim(pipeline.ledger, claim_id)
    assert after is not None and after["pending_event"] is None

    again = booking_updates.apply_update(pipeline.ledger, pipeline.deps.practice, claim_id, by="Dana",
                                         source="test")
    assert not again.ok and again.conflict and again.message == booking_updates.NOTHING_WAITING
    assert [e["kind"] for e in pipeline.ledger.timeline(claim_id)].count("amended") == 1

    pipeline.resubmit(claim_id)
    assert pipeline.claim(claim_id).status == "accepted"


def test_applying_onto_an_older_version_is_refused_and_stores_nothing(pipeline: InlinePipeline) -> None:
    claim_id, first = parked(pipeline)
    receive(pipeline.ledger, json.dumps(resent_with_referral(first)).encode(), lambda *_: None, source="test")
    seen = ops.event_version(pipeline.claim(claim_id).amended_at)
    pipeline.amend(claim_id, {"client": {"phone": "312-555-0188"}})  # someone else, meanwhile
    refused = booking_updates.apply_update(pipeline.ledger, pipeline.deps.practice, claim_id, by="Dana",
                                           source="test", based_on=seen)
    assert not refused.ok and refused.conflict and refused.message == ops.CHANGED_MEANWHILE
    assert "va_referral" not in pipeline.ledger.event_document(claim_id)
    assert ops.show_claim(pipeline.ledger, claim_id)["pending_event"] is not None  # type: ignore[index]


def test_a_later_update_supersedes_an_earlier_one_and_a_paid_claim_points_to_a_correction(
        pipeline: InlinePipeline) -> None:
    first = example("va_direct")
    claim_id = pipeline.post(first)
    later = copy.deepcopy(first)
    later["event_id"] = "evt_minutes_fixed"
    later["session"]["services"][1]["minutes"] = 25
    receive(pipeline.ledger, json.dumps(later).encode(), lambda *_: None, source="test")
    waiting = booking_updates.waiting_update(pipeline.ledger, claim_id)
    assert waiting is not None and waiting.event_id == "evt_minutes_fixed"
    assert waiting.changes[0].paths == ["session.services[1].minutes"]
    status = pipeline.claim(claim_id).status
    assert status == "accepted"
    pipeline.ledger.transition(claim_id, "accepted", "submitted", kind="test")  # as if still at the peer
    status = "submitted"
    refused = booking_updates.apply_update(pipeline.ledger, pipeline.deps.practice, claim_id, by="Dana",
                                           source="test")
    assert not refused.ok and refused.conflict
    assert refused.message == booking_updates.ON_ITS_WAY.format(status=status)
    pipeline.ledger.transition(claim_id, status, "paid", kind="test")
    correct_instead = booking_updates.apply_update(pipeline.ledger, pipeline.deps.practice, claim_id, by="Dana",
                                                   source="test")
    assert not correct_instead.ok and "corrected claim" in correct_instead.message
    assert correct_instead.correction is not None
    assert correct_instead.correction["session"]["services"][1]["minutes"] == 25
    assert pipeline.ledger.event_document(claim_id)["session"]["services"][1]["minutes"] != 25
