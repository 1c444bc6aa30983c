"""`superbill claims show` of a claim resubmitted but not yet run again: its problems are those of its last run,
and the text says so (the ops page says the same), so nobody fixes again what was already fixed."""

from __future__ import annotations

from pipeline.application import explanations, ops
from pipeline.entrypoints.cli.text import claim_text
from tests.integration.application.harness import InlinePipeline


def test_a_claim_waiting_to_be_run_again_says_its_reasons_are_from_its_last_run(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    claim_id = pipeline.park("ses_last_run")
    parked = ops.show_claim(pipeline.ledger, claim_id)
    assert parked is not None and parked["status"] == "needs_attention"
    assert explanations.LAST_RUN not in claim_text(parked)  # its reasons are today's

    assert ops.resubmit(pipeline.ledger, [claim_id], lambda *a, **k: None, source="test").resubmitted == [claim_id]
    waiting = ops.show_claim(pipeline.ledger, claim_id)
    assert waiting is not None and waiting["status"] == "received" and waiting["problems"]
    text = claim_text(waiting)
    assert explanations.LAST_RUN in text
    assert text.index(explanations.LAST_RUN) < text.index("problems:")  # said before the reasons it is about
