"""After "Resubmit all" on the ops page, the claims left alone are said in one short message, grouped by why and a
few named per group, whether there are 2 or 2,000 of them; one claim keeps its whole reason."""

from __future__ import annotations

from pipeline.application.ops import NO_SUCH_CLAIM
from pipeline.entrypoints.web.ops_page.views import NAMED_AT_MOST, skipped_text


def unchanged(claim_id: str, codes: str) -> dict[str, str]:
    return {"claim_id": claim_id, "unchanged": codes,
            "reason": f"still needs attention for the same reasons: {codes}; fix the data first, or resubmit anyway"}


def test_one_claim_left_alone_keeps_its_whole_reason() -> None:
    assert skipped_text([unchanged("ses_1", "va_referral_missing")]) == (
        "Not resubmitted: ses_1 (still needs attention for the same reasons: va_referral_missing; fix the data "
        "first, or resubmit anyway).")


def test_many_claims_left_alone_are_grouped_by_why_with_a_few_named() -> None:
    skipped = [unchanged(f"ses_{n:04d}", "va_referral_missing,prescription_missing") for n in range(2000)]
    skipped += [{"claim_id": "ses_gone", "reason": NO_SUCH_CLAIM}, {"claim_id": "ses_paid", "reason": "status is paid"}]
    text = skipped_text(skipped)
    assert text.startswith("Not resubmitted: 2000 still need attention for the same reasons (fix their data "
                           "first, or resubmit anyway): ses_0000 (va_referral_missing, prescription_missing), ")
    assert f"ses_{NAMED_AT_MOST - 1:04d} (" in text and f"ses_{NAMED_AT_MOST:04d}" not in text
    assert f"and {2000 - NAMED_AT_MOST} more; 1 {NO_SUCH_CLAIM}: ses_gone; 1 status is paid: ses_paid." in text
    assert len(text) < 1000
    assert skipped_text([]) == ""
