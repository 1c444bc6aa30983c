"""The date printed on a statement or a courtesy superbill is the practice's calendar day (its profile's time zone),
as the date of service is the session's own day: an evening session in Chicago is not issued "tomorrow" because
it is already the next day in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from config.practice import load_practice
from pipeline.application.statements import issued_on
from schemas.claim import Claim

CHICAGO = ZoneInfo("America/Chicago")
EVENING_IN_CHICAGO = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)  # 19:30 on 20 November, Chicago time


def test_the_practice_day_of_a_moment_is_read_in_the_practice_time_zone() -> None:
    info = load_practice().practice
    assert info.timezone == "America/Chicago"
    assert info.day_of(EVENING_IN_CHICAGO) == date(2026, 11, 20)
    assert info.day_of(datetime(2026, 11, 21, 6, 0, tzinfo=UTC)) == date(2026, 11, 21)


def test_a_courtesy_superbill_is_dated_the_practice_day_it_was_prepared() -> None:
    claim = Claim(claim_id="c1", session_id="c1", event_id="e1", status="accepted", route="courtesy_submission",
                  document_number="SB-000001", prepared_at=EVENING_IN_CHICAGO.timestamp())
    assert issued_on(claim, CHICAGO) == (date(2026, 11, 20), None)
    assert issued_on(claim) == (date(2026, 11, 21), None)  # without a zone: UTC, as before
