"""Per-actor message metrics are added up in the worker and written in one call per flush, not per message."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from workers import middleware


class FakeMetrics:
    def __init__(self) -> None:
        self.writes: list[dict[str, tuple[int, int, float]]] = []

    def record_messages(self, counts: dict[str, tuple[int, int, float]]) -> None:
        self.writes.append(dict(counts))


def _message(n: int, actor: str) -> Any:
    return SimpleNamespace(message_id=f"m{n}", actor_name=actor)


def test_a_worker_writes_the_counts_of_many_messages_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMetrics()
    monkeypatch.setattr(middleware.runtime, "deps", lambda: SimpleNamespace(metrics=fake))
    mw = middleware.RedisMetrics()
    mw._flusher = object()  # type: ignore[assignment]  # as in a booted worker: the flusher thread writes
    for n in range(5):
        msg = _message(n, "validate" if n < 4 else "route")
        mw.before_process_message(None, msg)
        mw.after_process_message(None, msg, exception=ValueError("x") if n == 3 else None)
    assert fake.writes == []  # nothing written per message
    mw.flush()
    assert len(fake.writes) == 1
    (written,) = fake.writes
    assert {a: v[:2] for a, v in written.items()} == {"validate": (4, 1), "route": (1, 0)}
    assert all(v[2] >= 0 for v in written.values())
    mw.flush()
    assert len(fake.writes) == 1  # nothing new: no write


def test_outside_a_worker_each_message_is_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMetrics()
    monkeypatch.setattr(middleware.runtime, "deps", lambda: SimpleNamespace(metrics=fake))
    mw = middleware.RedisMetrics()
    msg = _message(1, "alert")
    mw.before_process_message(None, msg)
    mw.after_process_message(None, msg)
    assert [list(w) for w in fake.writes] == [["alert"]]
