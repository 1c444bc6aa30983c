"""The reconciler's remittance ticker: a fetch every interval, the first one interval after it starts."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pipeline.application.reconciler import RemittanceTicker
from pipeline.application.steps import FETCH_REMITTANCES


def deps(sent: list[Any], *, store: object | None = object()) -> Any:
    return SimpleNamespace(remittances=store, send=lambda step, cid, delay_ms=None: sent.append((step, cid)))


def test_every_interval_after_the_start() -> None:
    sent: list[Any] = []
    ticker = RemittanceTicker(deps(sent), every_s=10, started=100.0)
    assert [ticker.tick(now) for now in (100.0, 109.9, 110.0, 115.0, 120.0)] == [False, False, True, False, True]
    assert sent == [(FETCH_REMITTANCES, ""), (FETCH_REMITTANCES, "")]


def test_zero_or_no_store_never_fetches() -> None:
    sent: list[Any] = []
    assert not RemittanceTicker(deps(sent), every_s=0, started=0.0).tick(1e9)
    assert not RemittanceTicker(deps(sent, store=None), every_s=1, started=0.0).tick(1e9)
    assert sent == []
