"""Which month a monthly statement covers, and from which day it is due."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from pipeline.application.monthly_statements import due_period
from pipeline.application.period_statements import month_of


@pytest.mark.parametrize(("today", "since", "until"), [
    (date(2026, 12, 1), date(2026, 11, 1), date(2026, 11, 30)),
    (date(2026, 1, 15), date(2025, 12, 1), date(2025, 12, 31)),
    (date(2028, 3, 1), date(2028, 2, 1), date(2028, 2, 29)),
])
def test_the_month_before(today: date, since: date, until: date) -> None:
    assert month_of(today) == (since, until)


def deps_with_day(day: int) -> Any:
    return SimpleNamespace(practice=SimpleNamespace(statements=SimpleNamespace(monthly_day=day)))


def test_due_from_the_profiles_day_of_the_month_on() -> None:
    assert due_period(deps_with_day(5), date(2026, 12, 4)) is None
    assert due_period(deps_with_day(5), date(2026, 12, 5)) == (date(2026, 11, 1), date(2026, 11, 30))
    assert due_period(deps_with_day(1), date(2026, 12, 28)) == (date(2026, 11, 1), date(2026, 11, 30))
