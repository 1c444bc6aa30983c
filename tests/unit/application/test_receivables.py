"""What is owed: totals, buckets by age from the date of service, timely filing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.application.receivables import accounts_receivable, bucket
from schemas.claim import Claim

TODAY = date(2026, 12, 31)


def claim(cid: str, status: str, dos: str, **fields: Any) -> Claim:
    return Claim(claim_id=cid, session_id=cid, event_id=f"e_{cid}", status=status, route="direct_billing",  # type: ignore[arg-type]
                 payer="VA CCN", date_of_service=dos, superbill={"total_charge": "260.00"}, **fields)


def test_buckets() -> None:
    assert [bucket(d) for d in (0, 30, 31, 60, 61, 90, 91, 400)] == [
        "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "90+", "90+"]


def test_totals_buckets_and_timely_filing() -> None:
    claims = [
        claim("paid", "paid", "2026-12-20", paid_amount=Decimal("208"), adjusted_amount=Decimal("52")),
        claim("denied", "denied", "2026-11-15", paid_amount=Decimal("0"), adjusted_amount=Decimal("260"),
              denial_reasons=[{"code": "CO-197", "text": "..."}]),
        claim("waiting", "accepted", "2026-09-01"),
        claim("old", "failed", "2026-07-01"),
        claim("void", "accepted", "2026-07-01", frequency_code="8", remittance_ids=["rem_1"],
              paid_amount=Decimal("0")),
        claim("voided", "voided", "2026-06-01", frequency_code="8", remittance_ids=["rem_1", "rem_2"],
              paid_amount=Decimal("0")),
        Claim(claim_id="other", session_id="o", event_id="o", status="accepted", route="courtesy_submission",
              date_of_service="2026-12-01"),
    ]
    report = accounts_receivable(claims, today=TODAY, warning_days=150)
    assert report["claims"] == 4
    assert report["voided"] == ["void", "voided"]  # owe nothing, never late
    assert report["totals"] == {"billed": "1040.00", "paid": "208.00", "adjusted": "52.00",
                                "patient_responsibility": "0.00", "outstanding": "780.00", "recovered": "0.00"}
    assert report["by_bucket"] == {"0-30": "0.00", "31-60": "260.00", "61-90": "0.00", "90+": "520.00"}
    assert report["by_payer"]["VA CCN"]["total"] == "780.00"
    assert [r["claim_id"] for r in report["outstanding"]] == ["old", "waiting", "denied"]
    assert report["outstanding"][-1]["denial_codes"] == ["CO-197"]
    late = report["timely_filing"]["claims"]
    assert [(r["claim_id"], r["age_days"], r["days_left"]) for r in late] == [("old", 183, -3)]
    assert [r["claim_id"] for r in accounts_receivable(claims, today=TODAY, warning_days=100)
            ["timely_filing"]["claims"]] == ["old", "waiting"]


def test_a_va_session_not_yet_billed_is_on_the_timely_filing_list_but_not_owed() -> None:
    stuck = Claim(claim_id="stuck", session_id="s", event_id="s", status="needs_attention",  # type: ignore[arg-type]
                  route="needs_attention", coverage_kind="va_ccn", payer="VA CCN", date_of_service="2026-07-01",
                  superbill={"total_charge": "260.00"})
    recent = stuck.model_copy(update={"claim_id": "recent", "date_of_service": "2026-12-01"})
    commercial = stuck.model_copy(update={"claim_id": "commercial", "coverage_kind": "commercial"})
    report = accounts_receivable([stuck, recent, commercial, claim("paid", "paid", "2026-07-01",
                                                                    paid_amount=Decimal("260"))],
                                 today=TODAY, warning_days=150)
    assert report["totals"]["billed"] == "260.00" and report["outstanding"] == []  # the VA was never billed
    assert report["timely_filing"]["claims"] == [
        {"claim_id": "stuck", "status": "needs_attention", "date_of_service": "2026-07-01", "age_days": 183,
         "days_left": -3}]
