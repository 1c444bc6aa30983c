"""`superbill ar --as-of DAY`, `GET /v1/ops/ar?as_of=DAY` and the ops page's `/ops/ar?as_of=DAY`: the
receivables as they stood at the end of that day, on a real Redis whose claims the pipeline's own steps sent
and whose payment a real 835 posted.

Two VA claims: `ses_va_direct` (served 2026-11-20, paid 208.00 with 52.00 adjusted by a check dated
2026-12-01) and `ses_va_later` (served 2026-11-25, never paid). The pipeline took both in after every day asked
about here (its timeline is written now), so as of those days they were only `received`."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from pipeline.adapters.redis_remittances import RedisRemittances
from pipeline.application import remittances
from pipeline.application.receivables import accounts_receivable
from tests.integration.application.harness import InlinePipeline, example
from tests.web_app import web_app_on

TOKEN = "ops-token-for-ar"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAID, LATER = "ses_va_direct", "ses_va_later"
CHECK_DATED_DEC_1 = (Path(__file__).parents[2] / "fixtures" / "remittances" / "partial_payment.835").read_text() \
    .replace("************20261205", "************20261201")  # BPR16: the day the payer paid


def _later_session() -> dict[str, Any]:
    doc = example("va_direct")
    doc["event_id"], doc["session"]["session_id"] = "evt_va_later", LATER
    doc["occurred_at"] = "2026-11-25T15:05:00-06:00"
    doc["session"]["started_at"], doc["session"]["ended_at"] = "2026-11-25T14:00:00-06:00", "2026-11-25T15:00:00-06:00"
    return doc


@pytest.fixture(scope="module")
def world(redis_url: str) -> Iterator[tuple[InlinePipeline, TestClient]]:
    pipeline = InlinePipeline(redis_url)
    assert pipeline.post(example("va_direct")) == PAID and pipeline.post(_later_session()) == LATER
    store = RedisRemittances(redis.Redis.from_url(redis_url))
    deps = dataclasses.replace(pipeline.deps, remittances=store)
    rid, _ = store.keep(x12=CHECK_DATED_DEC_1, source_id="ERA-1")
    assert remittances.post_remittance(deps, rid) == 1
    assert (pipeline.claim(PAID).status, pipeline.claim(PAID).paid_on) == ("paid", "2026-12-01")
    assert [e.get("paid_on") for e in pipeline.ledger.timeline(PAID) if e["kind"].startswith("remittance.")] == [
        "2026-12-01"]  # the timeline keeps the day the payer paid with each posting
    assert pipeline.claim(LATER).status == "accepted"
    with web_app_on(redis_url, ops_token=TOKEN, webhook_secret="secret-for-ar") as app:
        yield pipeline, TestClient(app)


def superbill(redis_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "REDIS_URL": redis_url})


def ar_json(redis_url: str, cwd: Path, *args: str) -> dict[str, Any]:
    done = superbill(redis_url, cwd, "ar", "--json", *args)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def owed(report: dict[str, Any]) -> list[tuple[str, str, int, str, str]]:
    return [(r["claim_id"], r["status"], r["age_days"], r["bucket"], r["outstanding"]) for r in report["outstanding"]]


def test_a_day_before_any_service_owes_nothing(world: Any, redis_url: str, tmp_path: Path) -> None:
    report = ar_json(redis_url, tmp_path, "--as-of", "2026-01-01")
    assert (report["as_of"], report["claims"], report["outstanding"]) == ("2026-01-01", 0, [])
    assert set(report["totals"].values()) == {"0.00"} and set(report["by_bucket"].values()) == {"0.00"}
    assert (report["by_payer"], report["timely_filing"]["claims"]) == ({}, [])
    text = superbill(redis_url, tmp_path, "ar", "--as-of", "2026-01-01")
    assert text.returncode == 0 and "as of 2026-01-01 (0 claims)" in text.stdout
    assert PAID not in text.stdout and "days)" not in text.stdout


def test_a_claim_counts_from_its_service_and_is_owed_until_the_day_it_is_paid(world: Any, redis_url: str,
                                                                              tmp_path: Path) -> None:
    first = ar_json(redis_url, tmp_path, "--as-of", "2026-11-22")
    assert owed(first) == [(PAID, "received", 2, "0-30", "260.00")]  # the later session was not given yet
    assert (first["claims"], first["totals"]["billed"], first["totals"]["paid"]) == (1, "260.00", "0.00")
    before = ar_json(redis_url, tmp_path, "--as-of", "2026-11-30")  # the check is dated the next day
    assert owed(before) == [(PAID, "received", 10, "0-30", "260.00"), (LATER, "received", 5, "0-30", "260.00")]
    assert before["totals"] == {"billed": "520.00", "paid": "0.00", "adjusted": "0.00",
                                "patient_responsibility": "0.00", "outstanding": "520.00", "recovered": "0.00"}
    assert list(before["by_payer"].values()) == [{"0-30": "520.00", "31-60": "0.00", "61-90": "0.00",
                                                  "90+": "0.00", "total": "520.00"}]
    paid = ar_json(redis_url, tmp_path, "--as-of", "2026-12-01")
    assert owed(paid) == [(LATER, "received", 6, "0-30", "260.00")]
    assert paid["totals"] == {"billed": "520.00", "paid": "208.00", "adjusted": "52.00",
                              "patient_responsibility": "0.00", "outstanding": "260.00", "recovered": "0.00"}
    late = ar_json(redis_url, tmp_path, "--as-of", "2026-11-30", "--warn-days", "7")
    assert [(r["claim_id"], r["age_days"], r["days_left"]) for r in late["timely_filing"]["claims"]] == [
        (PAID, 10, 170)]


def test_without_a_day_the_report_is_todays(world: Any, redis_url: str, tmp_path: Path) -> None:
    pipeline, _ = world
    today = datetime.now(pipeline.deps.practice.practice.zone).date()  # the practice's day
    report = ar_json(redis_url, tmp_path)
    assert report.pop("clients")["claims"] == 0  # what clients owe: none of these VA claims
    assert report == accounts_receivable([pipeline.claim(PAID), pipeline.claim(LATER)], today=today)
    assert [r["claim_id"] for r in report["outstanding"]] == [LATER]


def test_a_day_not_yet_over_anywhere_is_refused(world: Any, redis_url: str, tmp_path: Path) -> None:
    _, client = world
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()  # after today even past midnight
    refused = superbill(redis_url, tmp_path, "ar", "--as-of", tomorrow)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and f"--as-of {tomorrow} is after today" in refused.stderr
    answer = client.get(f"/v1/ops/ar?as_of={tomorrow}", headers=AUTH)
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["path"] == "as_of" and error["message"].startswith(f"{tomorrow} is after today (")
    page = client.get(f"/ops/ar?as_of={tomorrow}", headers=AUTH)
    assert page.status_code == 422 and "is after today" in page.text
    for unreadable in ("2026-13-01", "20261120", "2026-W48-5"):  # the API's own reading of a day
        page = client.get(f"/ops/ar?as_of={unreadable}", headers=AUTH)
        assert page.status_code == 422 and "YYYY-MM-DD" in page.text, unreadable
        assert client.get(f"/v1/ops/ar?as_of={unreadable}", headers=AUTH).status_code == 422, unreadable


def test_the_ops_api_and_the_ops_page_answer_as_the_cli(world: Any, redis_url: str, tmp_path: Path) -> None:
    pipeline, client = world
    cli = ar_json(redis_url, tmp_path, "--as-of", "2026-11-30")
    api = client.get("/v1/ops/ar?as_of=2026-11-30", headers=AUTH)
    assert api.status_code == 200 and api.json() == cli
    page = client.get("/ops/ar?as_of=2026-11-30", headers=AUTH)
    assert page.status_code == 200
    assert "as of 2026-11-30" in page.text and "520.00" in page.text and LATER in page.text
    today = client.get("/ops/ar", headers=AUTH).text
    practice_today = datetime.now(pipeline.deps.practice.practice.zone).date()
    assert f"as of {practice_today.isoformat()}" in today and "208.00" in today
