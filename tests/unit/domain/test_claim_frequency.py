"""What the payer's yes means for a claim, by its frequency (CLM05-3)."""

from __future__ import annotations

from pipeline.domain.claim_frequency import ORIGINAL, REPLACEMENT, VOID, status_when_accepted
from schemas.claim import FINAL_STATUSES, RESUBMITTABLE_STATUSES, STATUSES


def test_an_accepted_void_ends_voided_and_anything_else_accepted() -> None:
    assert status_when_accepted(VOID) == "voided"
    assert status_when_accepted(ORIGINAL) == "accepted"
    assert status_when_accepted(REPLACEMENT) == "accepted"


def test_voided_is_a_final_status_that_cannot_be_resubmitted() -> None:
    assert "voided" in STATUSES and "voided" in FINAL_STATUSES
    assert "voided" not in RESUBMITTABLE_STATUSES
    assert STATUSES[:13] == ("received", "validated", "assembled", "routed", "submitting", "submitted",
                             "accepted", "rejected", "failed", "statement_ready", "needs_attention", "paid",
                             "denied")  # the earlier statuses keep their names and order


def test_a_replacement_or_void_the_payer_never_decided_is_resubmitted_as_what_it_was() -> None:
    """The payer still holds its decision on the original: a new original would bill the session twice."""
    from pipeline.domain.claim_frequency import resubmission_frequency

    for status in ("rejected", "failed", "needs_attention"):
        assert resubmission_frequency(REPLACEMENT, status) == REPLACEMENT
        assert resubmission_frequency(VOID, status) == VOID
        assert resubmission_frequency(None, status) == ORIGINAL
        assert resubmission_frequency(ORIGINAL, status) == ORIGINAL
    assert resubmission_frequency(REPLACEMENT, "denied") == ORIGINAL  # documented: a denied claim goes anew
    assert resubmission_frequency(None, "denied") == ORIGINAL
