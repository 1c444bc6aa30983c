"""Today is the practice's day, in its profile's `timezone`: statements are issued on it, ages and timely
filing count to it, and what is owed is known up to it. At 03:00 UTC it is still the evening before in
Chicago; at 23:30 UTC it is already the next morning in Tokyo."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from config.practice import Practice, load_practice
from pipeline.application import stages


def practice_in(zone: str) -> Practice:
    practice = load_practice()
    return practice.model_copy(update={"practice": practice.practice.model_copy(update={"timezone": zone})})


def deps_at(moment: datetime, zone: str) -> stages.Deps:
    return stages.Deps(ledger=None, practice=practice_in(zone), send=lambda *a, **k: None,  # type: ignore[arg-type]
                       now=lambda: moment)


@pytest.mark.parametrize(("moment", "zone", "day"), [
    (datetime(2026, 12, 6, 3, tzinfo=UTC), "America/Chicago", date(2026, 12, 5)),
    (datetime(2026, 12, 6, 3, tzinfo=UTC), "UTC", date(2026, 12, 6)),
    (datetime(2026, 12, 5, 23, 30, tzinfo=UTC), "Asia/Tokyo", date(2026, 12, 6)),
    (datetime(2026, 12, 5, 23, 30, tzinfo=UTC), "America/Los_Angeles", date(2026, 12, 5)),
    (datetime(2027, 1, 1, 5, 59, tzinfo=UTC), "America/Chicago", date(2026, 12, 31)),  # the year ends late there
])
def test_today_is_the_practices_day(moment: datetime, zone: str, day: date) -> None:
    assert deps_at(moment, zone).today() == day
