"""The claims record leaves safely: a backup taken while events flow restores into a fresh Redis, whole and
consistent; a backup at rest restores every claim, timeline and counter exactly; the pipeline resumes on the
restored store with fresh control numbers; and the export gives one row per claim."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any

import redis
import requests

from pipeline.adapters.redis_ledger import Ledger
from pipeline.adapters.redis_server import embedded_redis
from tests.e2e.submission_support import (
    PATIENT_MARKERS,
    courtesy_event,
    post_all,
    statement_event,
    superbill,
    va_event,
    wait_for,
)

PREFIX = "sb:"


def store(url: str) -> dict[str, Any]:
    """Everything under the ledger's prefix, readable: hashes, strings, sets, sorted sets, streams, lists."""
    client = redis.Redis.from_url(url)
    out: dict[str, Any] = {}
    for raw in client.scan_iter(match=PREFIX + "*", count=1000):
        key = raw.decode()
        kind = client.type(raw).decode()
        if key.startswith(PREFIX + "lease:"):
            continue  # a lease lives for seconds: it may be taken or gone between two reads
        if kind == "hash":
            out[key] = client.hgetall(raw)
        elif kind == "string":
            out[key] = client.get(raw)
        elif kind == "set":
            out[key] = client.smembers(raw)
        elif kind == "zset":
            out[key] = client.zrange(raw, 0, -1, withscores=True)
        elif kind == "stream":
            out[key] = client.xrange(raw)
        elif kind == "list":
            out[key] = client.lrange(raw, 0, -1)
    return out


def consistent(url: str) -> list[str]:
    """What is inconsistent in a restored ledger: every indexed claim exists, in the status it is indexed
    under, with a timeline and an event; no counter is behind what claims already used."""
    ledger = Ledger(redis.Redis.from_url(url))
    wrong = []
    claims = {c.claim_id: c for c in ledger.get_many(ledger.claim_ids())}
    for status in ("received", "validated", "assembled", "routed", "submitting", "submitted", "accepted",
                   "rejected", "failed", "statement_ready", "needs_attention"):
        for claim_id in ledger.claim_ids(status=status):
            if claim_id not in claims or claims[claim_id].status != status:
                wrong.append(f"{claim_id} indexed as {status}")
    for claim in claims.values():
        if not ledger.timeline(claim.claim_id):
            wrong.append(f"{claim.claim_id} has no timeline")
        if not ledger.event_document(claim.claim_id):
            wrong.append(f"{claim.claim_id} has no event")
    used = max((c.control_number or 0 for c in claims.values()), default=0)
    counter = int(ledger.r.get(PREFIX + "seq:interchange") or 0)
    if counter < used:
        wrong.append(f"interchange counter {counter} is behind control number {used}")
    return wrong


def test_backup_under_load_restores_consistently_and_the_pipeline_resumes_with_fresh_numbers(
        start_stack: Any, tmp_path: Path) -> None:
    stack = start_stack(worker_processes=1)
    docs = [va_event(n, tag="bk") for n in range(1, 9)] + [courtesy_event(n, tag="bk") for n in range(1, 5)] \
        + [statement_event(n, tag="bk") for n in range(1, 5)]
    posted: list[str] = []
    poster = threading.Thread(target=lambda: posted.extend(post_all(stack, docs)))
    poster.start()
    live = tmp_path / "live.backup"
    taken = superbill(stack, "backup", str(live), "--json")  # while events are posted and processed
    poster.join(timeout=120)
    assert taken.returncode == 0, taken.stderr
    assert json.loads(taken.stdout)["keys"] > 0

    with embedded_redis(tmp_path / "fresh-live") as fresh:
        restored = superbill(stack, "restore", str(live), env={"REDIS_URL": fresh})
        assert restored.returncode == 0, restored.stderr
        assert consistent(fresh) == []

    claims = wait_for(stack, posted, 120)
    assert len(claims) == len(docs)
    at_rest = tmp_path / "rest.backup"
    assert superbill(stack, "backup", str(at_rest)).returncode == 0
    source = store(stack.redis_url)

    fresh_stack = start_stack(worker_processes=1)
    refused = superbill(fresh_stack, "restore", str(at_rest))
    assert refused.returncode == 0, refused.stderr  # a fresh stack's store is empty
    assert store(fresh_stack.redis_url) == source  # every claim, timeline, index and counter
    again = superbill(fresh_stack, "restore", str(at_rest))
    assert again.returncode != 0 and "--force" in again.stderr  # never over data without --force
    assert superbill(fresh_stack, "restore", str(at_rest), "--force").returncode == 0
    assert store(fresh_stack.redis_url) == source

    used = {c.control_number for c in claims.values() if c.control_number}
    new_ids = post_all(fresh_stack, [va_event(n, tag="bk2") for n in range(1, 4)])
    new_claims = wait_for(fresh_stack, new_ids, 90)
    assert {c.status for c in new_claims.values()} == {"accepted"}
    new_numbers = {c.control_number for c in new_claims.values()}
    assert not new_numbers & used and min(new_numbers) > max(used)  # counters restored: no number reused


def test_export_gives_one_row_per_claim_in_the_range_without_patient_data(start_stack: Any, tmp_path: Path) -> None:
    stack = start_stack(worker_processes=1)
    ids = post_all(stack, [va_event(1, tag="ex"), courtesy_event(1, tag="ex"), statement_event(1, tag="ex")])
    wait_for(stack, ids, 90)
    out = tmp_path / "claims.csv"
    result = superbill(stack, "claims", "export", "--from", "2026-11-01", "--to", "2026-11-30", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(r["claim_id"] for r in rows) == sorted(ids)
    va = next(r for r in rows if r["claim_id"] == ids[0])
    assert (va["date_of_service"], va["route"], va["status"], va["total_charge"]) == \
        ("2026-11-20", "direct_billing", "accepted", "260.00")
    assert va["units"] == "4" and va["lines"].startswith("97140-GP-")
    assert not [m for m in PATIENT_MARKERS if m in out.read_text()]

    with_client = superbill(stack, "claims", "export", "--from", "2026-11-20", "--to", "2026-11-20",
                            "--format", "jsonl", "--with-client")
    lines = [json.loads(line) for line in with_client.stdout.splitlines()]
    assert {line["client_last_name"] for line in lines} == {"Doe"}
    empty = superbill(stack, "claims", "export", "--from", "2026-12-01", "--to", "2026-12-31")
    assert empty.stdout.splitlines()[1:] == []  # the header only

    headers = {"Authorization": f"Bearer {stack.ops_token}"}
    page = requests.get(stack.web_url + "/ops/export", params={"from": "2026-11-01", "to": "2026-11-30"},
                        headers=headers, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/csv")
    assert "attachment" in page.headers["content-disposition"]
    assert sorted(r["claim_id"] for r in csv.DictReader(io.StringIO(page.text))) == sorted(ids)
    api = requests.get(stack.web_url + "/v1/ops/export", headers=headers, timeout=30,
                       params={"from": "2026-11-20", "to": "2026-11-20", "format": "jsonl"})
    assert api.status_code == 200 and len(api.text.splitlines()) == 3
    assert requests.get(stack.web_url + "/v1/ops/export", params={"from": "0", "to": "2026-11-20"},
                        headers=headers, timeout=30).status_code == 422
