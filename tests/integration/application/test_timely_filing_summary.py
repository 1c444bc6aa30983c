"""The timely-filing list is the same wherever it is shown: a VA claim the payer denied 168 days after the visit
(12 days left of the VA's 180) is at risk in `superbill status`, `GET /v1/ops/summary`, the overview and the daily
summary alike, as in `superbill ar`; the 30-day `past_timely_filing_warning` keeps saying what it always said
(claims not accepted 30 days after the visit), which a denied claim is not."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pipeline.application import ops
from pipeline.application.receivables import receivables
from pipeline.entrypoints.cli.text import summary_text
from pipeline.entrypoints.web.ops_page import views
from tests.integration.application.harness import InlinePipeline, example


def no_queues() -> list[dict[str, Any]]:
    return []


def test_a_denied_va_claim_near_the_180_day_limit_is_at_risk_everywhere(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    claim_id = pipeline.post(example("va_direct"))
    pipeline.ledger.transition(claim_id, "accepted", "denied", kind="test")
    dos = date.fromisoformat(pipeline.claim(claim_id).date_of_service or "")
    today = dos + timedelta(days=168)

    shown = ops.summary(pipeline.ledger, no_queues, today=today, timely_filing_warning_days=150)
    assert [x["claim_id"] for x in shown["past_timely_filing_warning"]] == []  # denied: it was accepted
    risk = shown["timely_filing"]
    assert (risk["warning_days"], risk["limit_days"]) == (150, 180)
    assert [(x["claim_id"], x["status"], x["days_left"]) for x in risk["claims"]] == [(claim_id, "denied", 12)]
    owed = receivables(pipeline.ledger, today=today, warning_days=150)["timely_filing"]["claims"]
    assert [x["claim_id"] for x in owed] == [x["claim_id"] for x in risk["claims"]]

    text = summary_text(shown)
    assert "Timely filing: 1 claim(s) within 30 days of the 180-day limit" in text
    assert f"{claim_id} (denied, 12 days left" in text
    assert "not accepted 30 days after the visit: 0" in text

    html = views.live_body(shown, {}, {})
    assert 'id="timely-filing"' in html and "12 days left" in html and claim_id in html
    assert "Not accepted 30 days after the visit (0)" in html

    daily = ops.daily_summary(pipeline.ledger, no_queues, timely_filing_warning_days=150,
                              now=pipeline.now.timestamp() + (today - pipeline.now.date()).days * 86400)
    assert daily["timely_filing_risk"] == [claim_id]
