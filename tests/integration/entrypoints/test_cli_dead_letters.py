"""`superbill dead`: from the terminal, the dead letters are listed (no patient data), shown, retried where the
claim still needs the step, and cleared, each attributed in the audit log; the exit codes as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import redis

from pipeline.adapters.dramatiq_queue import NAMESPACE
from pipeline.adapters.queue_stats import claims_in_flight
from pipeline.adapters.redis_staff import RedisStaffStore
from tests.integration.application.harness import InlinePipeline, example


def superbill(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "REDIS_URL": redis_url})


def test_dead_letters_from_the_terminal(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    parked = pipeline.park("ses_parked")
    waiting = pipeline.receive(example("va_direct"))  # its validate message lost: only its dead letter is left
    r = redis.Redis.from_url(redis_url)
    for n, claim_id in enumerate((waiting, parked)):
        message = {"queue_name": "validate", "actor_name": "validate", "args": [claim_id], "kwargs": {},
                   "options": {"retries": 20, "traceback": "Traceback (most recent call last):\n  File \"x\", "
                               "line 1, in f\nKeyError: 'Jane Doe'\n"}, "message_id": f"m{n}",
                   "message_timestamp": 1}
        r.zadd(f"{NAMESPACE}:validate.XQ", {f"m{n}": time.time() * 1000 + n})
        r.hset(f"{NAMESPACE}:validate.XQ.msgs", f"m{n}", json.dumps(message))

    counts = superbill(redis_url, "dead", "list")
    assert counts.returncode == 0 and "validate" in counts.stdout and "total                 2" in counts.stdout
    listed = superbill(redis_url, "dead", "list", "validate", "--json", "--limit", "1")
    assert listed.returncode == 0, listed.stderr
    page = json.loads(listed.stdout)
    assert [x["message_id"] for x in page["dead_letters"]] == ["m0"] and page["next_cursor"]
    assert page["dead_letters"][0]["error_kind"] == "KeyError" and "Jane" not in listed.stdout
    shown = superbill(redis_url, "dead", "show", "validate", "m1")
    assert shown.returncode == 0 and "claim_status: needs_attention" in shown.stdout
    assert "retry: would be skipped: the claim is needs_attention" in shown.stdout
    assert "error_kind: KeyError" in shown.stdout and "Jane" not in shown.stdout

    assert superbill(redis_url, "dead", "retry", "validate", "--by", "Dana").returncode == 2  # which ones?
    assert superbill(redis_url, "dead", "retry", "nope", "--all", "--by", "Dana").returncode == 2
    retried = superbill(redis_url, "dead", "retry", "validate", "--all", "--by", "Dana")
    assert retried.returncode == 0, retried.stderr
    assert f"retried m0: validate for {waiting}" in retried.stdout and "skipped m1" in retried.stdout
    assert waiting in claims_in_flight(r)
    again = superbill(redis_url, "dead", "retry", "validate", "m1", "--by", "Dana")
    assert again.returncode == 1 and "skipped m1" in again.stdout  # every one skipped: exit 1, as resubmit

    cleared = superbill(redis_url, "dead", "clear", "validate", "m1", "--by", "Dana", "--json")
    assert cleared.returncode == 0 and json.loads(cleared.stdout)["cleared"] == 1
    assert r.zcard(f"{NAMESPACE}:validate.XQ") == 0
    audit = RedisStaffStore(r).audit_log(10)
    assert any(e["action"] == "dead_letters.cleared" and e["count"] == 1 and "Dana" in e["name"] for e in audit)
    assert any(e["action"] == "dead_letters.retried" and e["message_ids"] == ["m0"] for e in audit)
