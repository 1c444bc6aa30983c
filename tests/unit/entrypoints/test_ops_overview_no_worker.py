"""The overview and `superbill status` say when steps wait in the queues and no worker runs to take them: a claim
resubmitted from the page would otherwise sit in `received` with nothing on the page to say why."""

from __future__ import annotations

from typing import Any

from pipeline.application.ops import waiting_without_worker
from pipeline.entrypoints.cli.text import summary_text
from pipeline.entrypoints.web.ops_page.views import live_body


def queues(workers: int, ready: int = 2, delayed: int = 1) -> list[dict[str, Any]]:
    return [{"queue": "validate", "ready": ready, "delayed": 0, "in_progress": 0, "dead": 0,
             "oldest_ready_age_s": 12.0, "workers": workers},
            {"queue": "submit_direct", "ready": 0, "delayed": delayed, "in_progress": 0, "dead": 4,
             "oldest_ready_age_s": None, "workers": workers}]


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"queues": rows, "claims": {"total": 3, "by_status": {"received": 3}, "by_route": {}},
            "last_24h": {"failed": 0, "rejected": 0, "by_reason": {}, "events": {}},
            "past_timely_filing_warning": [], "needs_attention": 0, "refused_events": 0,
            "waiting_without_worker": waiting_without_worker(rows)}


def test_steps_waiting_with_no_worker_are_counted_ready_and_delayed_never_dead() -> None:
    assert waiting_without_worker(queues(workers=0)) == 3
    assert waiting_without_worker(queues(workers=1)) == 0
    assert waiting_without_worker(queues(workers=0, ready=0, delayed=0)) == 0
    assert waiting_without_worker([]) == 0


def test_the_overview_and_status_say_no_worker_runs_only_when_steps_wait() -> None:
    stalled, running = summary(queues(workers=0)), summary(queues(workers=2))
    assert 'id="no-worker"' in live_body(stalled, {}, {}) and "3 step(s) wait" in live_body(stalled, {}, {})
    assert 'id="no-worker"' not in live_body(running, {}, {})
    assert "no worker is running: 3 step(s)" in summary_text(stalled)
    assert "no worker is running" not in summary_text(running)
