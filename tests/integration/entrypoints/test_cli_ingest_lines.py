"""`superbill ingest` on a real Redis: a refused line is named by its line number in the file (blank lines
count, as an editor counts them), and an event whose text holds a Unicode line separator (valid JSON) stays
one event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import redis

from pipeline.adapters.redis_ledger import Ledger
from tests.integration.application.harness import InlinePipeline, example


def ingest(redis_url: str, path: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "ingest", str(path), "--json"],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "REDIS_URL": redis_url})
    return done.returncode, json.loads(done.stdout)


def sources_expected() -> list[str]:
    return ["ingest:backfill.jsonl:5", "ingest:backfill.jsonl:7"]


def event(tag: str, **client: str) -> str:
    doc = example("va_direct")
    doc["event_id"], doc["session"]["session_id"] = f"evt_{tag}", f"ses_{tag}"
    doc["client"].update(client)
    return json.dumps(doc, ensure_ascii=False)


def test_refused_lines_are_named_by_their_line_in_the_file(redis_url: str, tmp_path: Path) -> None:
    InlinePipeline(redis_url)  # an empty ledger
    path = tmp_path / "backfill.jsonl"
    path.write_text("\n".join([event("ing1"), "", "   ", event("ing2"), "{not json", "", "[1]"]) + "\n")
    code, summary = ingest(redis_url, path)
    assert code == 2
    assert summary["lines"] == 4 and summary["accepted"] == 2 and summary["refused"] == 2
    assert [r["line"] for r in summary["refused_lines"]] == [5, 7]
    ledger = Ledger(redis.Redis.from_url(redis_url))
    kept = [ledger.get_refused(r["refused_id"]) for r in summary["refused_lines"]]
    assert sorted(r.source for r in kept if r is not None) == sources_expected()


def test_a_line_separator_inside_a_string_does_not_split_the_event(redis_url: str, tmp_path: Path) -> None:
    InlinePipeline(redis_url)
    path = tmp_path / "notes.jsonl"
    path.write_text(event("ing3", email="a\u2028b@example.com") + "\r\n" + event("ing4") + "\r\n", encoding="utf-8")
    code, summary = ingest(redis_url, path)
    assert (code, summary["lines"], summary.get("accepted"), summary["refused_lines"]) == (0, 2, 2, [])
