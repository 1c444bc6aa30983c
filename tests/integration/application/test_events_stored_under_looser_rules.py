"""An event stored under older, looser rules (here a last name longer than today's bound of 200 characters)
that a later step can no longer read: the claim is parked for ops with what is wrong, field by field, at the
step that finds it, instead of failing every retry and ending `failed`. Nothing reaches a peer."""

from __future__ import annotations

import json

import pytest

from pipeline.adapters.ledger_codec import pack
from pipeline.application import ops, steps
from tests.integration.application.harness import InlinePipeline, example

STATUS_BEFORE = {steps.VALIDATE: "received", steps.ASSEMBLE: "validated", steps.ROUTE: "assembled",
                 steps.SUBMIT_DIRECT: "routed", steps.SUBMIT_COURTESY: "routed"}


def _stored_before_the_bound(pipeline: InlinePipeline, example_name: str, step: str) -> str:
    """A claim of the example whose steps before `step` ran before the upgrade, its stored event with a last name
    longer than today's bound (as stored before names were bounded); `step` is queued, not run."""
    doc = example(example_name)
    claim_id = pipeline.receive(doc)
    pipeline.run_until(step)
    assert pipeline.claim(claim_id).status == STATUS_BEFORE[step]
    doc["client"]["last_name"] = "L" * 300
    ledger = pipeline.ledger
    ledger.r.set(ledger._k("claim", claim_id, "event"), pack(json.dumps(doc)))
    return claim_id


@pytest.mark.parametrize(("example_name", "step"), [
    ("va_direct", steps.VALIDATE), ("va_direct", steps.ASSEMBLE), ("va_direct", steps.ROUTE),
    ("commercial_courtesy", steps.ROUTE), ("va_direct", steps.SUBMIT_DIRECT),
    ("commercial_courtesy", steps.SUBMIT_COURTESY),
])
def test_a_stored_event_no_longer_valid_parks_its_claim_at_the_step_that_reads_it(
        redis_url: str, example_name: str, step: str) -> None:
    pipeline = InlinePipeline(redis_url)
    claim_id = _stored_before_the_bound(pipeline, example_name, step)
    pipeline.run()

    claim = pipeline.claim(claim_id)
    assert claim.status == "needs_attention"
    assert [p.code for p in claim.problems] == ["input_invalid"]
    assert claim.problems[0].message.startswith("client.last_name: ")
    assert "LLLL" not in claim.problems[0].message  # the value itself is patient data
    assert pipeline.kinds(claim_id)[-2:] == ["validation.failed", "alert.sent"]
    assert pipeline.clearinghouse.sent == pipeline.billing_service.sent == 0
    assert [n["claim_id"] for n in pipeline.alerts.notices] == [claim_id]


def test_ops_fix_such_a_claim_by_amending_the_field_and_resubmitting(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    claim_id = _stored_before_the_bound(pipeline, "va_direct", steps.ROUTE)
    pipeline.run()
    assert pipeline.claim(claim_id).status == "needs_attention"

    pipeline.amend(claim_id, {"client": {"last_name": "Lindqvist"}})
    pipeline.resubmit(claim_id)
    assert pipeline.claim(claim_id).status == "accepted"
    assert pipeline.clearinghouse.sent == 1
    assert "NM1*IL*1*LINDQVIST*" in next(iter(pipeline.clearinghouse.taken.values()))


def test_a_dry_run_says_such_a_claim_would_be_parked_again_until_it_is_fixed(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    claim_id = _stored_before_the_bound(pipeline, "va_direct", steps.ROUTE)
    pipeline.run()
    ahead = ops.resubmit(pipeline.ledger, [claim_id], pipeline._send, source="test", dry_run=True,
                         practice=pipeline.deps.practice, anyway=True)
    assert ahead.previews == {claim_id: {"route": "needs_attention", "problems": ["input_invalid"]}}
    assert not pipeline.queue and pipeline.claim(claim_id).status == "needs_attention"
    again = ops.resubmit(pipeline.ledger, [claim_id], pipeline._send, source="test",
                         practice=pipeline.deps.practice)  # unfixed: not sent round to be parked and alerted again
    assert again.resubmitted == [] and again.skipped[0]["unchanged"] == "input_invalid"
    assert not pipeline.queue and pipeline.claim(claim_id).status == "needs_attention"
