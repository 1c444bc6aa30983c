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


def test_a_month_is_due_once_it_has_ended_in_the_practices_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """20:00 on 30 November in Chicago is already 1 December in UTC: November is not over at the practice, so its
    statements (which would miss that evening's sessions) are not due yet."""
    from datetime import UTC, datetime

    from config.practice import load_practice
    from pipeline.application import monthly_statements, stages

    evening = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    asked: list[date] = []
    monkeypatch.setattr(monthly_statements, "due_period", lambda deps, today: asked.append(today))
    ledger: Any = SimpleNamespace(mark_done=lambda key: True)
    deps = stages.Deps(ledger=ledger, practice=load_practice(), send=lambda *a, **k: None, now=lambda: evening)
    assert monthly_statements.run_if_due(deps, now=evening.timestamp()) == []
    assert monthly_statements.send_due_monthly_statements(deps) == []
    assert asked == [date(2026, 11, 30), date(2026, 11, 30)]
    assert month_of(asked[0]) == (date(2026, 10, 1), date(2026, 10, 31))  # October's are due; November's are not
