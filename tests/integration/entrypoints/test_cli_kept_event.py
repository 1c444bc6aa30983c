"""A session's event sent again with changes is kept on its claim's timeline, never applied: `claims show`
(text and JSON) and the ops API say which fields it would change, so the biller knows what to amend, without
printing the values (a name or a date of birth is patient data)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

from pipeline.application import ops
from pipeline.application.ingest import receive
from tests.integration.application.harness import InlinePipeline, example


def superbill(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "REDIS_URL": redis_url})


def test_claims_show_names_the_fields_a_resent_event_would_change(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    first = example("va_direct")
    assert receive(pipeline.ledger, json.dumps(first).encode(), lambda *_: None, source="test").http_status == 202
    again = copy.deepcopy(first)
    again["event_id"] = "evt_va_direct_fixed"
    again["session"]["services"][1]["minutes"] = 25
    again["client"]["date_of_birth"] = "1971-02-03"
    taken = receive(pipeline.ledger, json.dumps(again).encode(), lambda *_: None, source="test")
    assert taken.body["status"] == "kept_for_review"
    claim_id = str(taken.body["claim_id"])
    shown = ops.show_claim(pipeline.ledger, claim_id)
    assert shown is not None
    [kept] = [e for e in shown["timeline"] if e["kind"] == "event.kept_for_review"]
    assert kept["differs_in"] == ["session.services[1].minutes", "client.date_of_birth"]
    done = superbill(redis_url, "claims", "show", claim_id)
    assert done.returncode == 0, done.stderr
    [line] = [ln for ln in done.stdout.splitlines() if "event.kept_for_review" in ln]
    assert "session.services[1].minutes" in line and "client.date_of_birth" in line
    assert "1971" not in done.stdout
    as_json = json.loads(superbill(redis_url, "claims", "show", claim_id, "--json").stdout)
    assert [e.get("differs_in") for e in as_json["timeline"] if e["kind"] == "event.kept_for_review"] == [
        ["session.services[1].minutes", "client.date_of_birth"]]
