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


def test_claims_apply_update_previews_then_applies_the_resent_referral_once(redis_url: str) -> None:
    pipeline = InlinePipeline(redis_url)
    first = example("va_missing_referral")
    claim_id = pipeline.post(first)
    again = copy.deepcopy(first)
    again["event_id"] = "evt_referral_added"
    again["va_referral"] = example("va_direct")["va_referral"]
    receive(pipeline.ledger, json.dumps(again).encode(), lambda *_: None, source="test")

    shown = superbill(redis_url, "claims", "show", claim_id)
    assert "update from the booking system waiting: event evt_referral_added" in shown.stdout
    assert "  - va_referral: va_referral" in shown.stdout
    assert again["va_referral"]["referral_number"] not in shown.stdout  # values only with --with-client
    with_client = superbill(redis_url, "claims", "show", claim_id, "--with-client")
    assert again["va_referral"]["referral_number"] in with_client.stdout

    ahead = superbill(redis_url, "claims", "apply-update", claim_id, "--by", "Dana Front", "--dry-run")
    assert ahead.returncode == 0, ahead.stderr
    assert "would apply evt_referral_added (va_referral)" in ahead.stdout and "direct_billing" in ahead.stdout
    assert "va_referral" not in pipeline.ledger.event_document(claim_id)

    done = superbill(redis_url, "claims", "apply-update", claim_id, "--by", "Dana Front")
    assert done.returncode == 0, done.stderr
    assert "applied evt_referral_added (va_referral) by Dana Front" in done.stdout
    assert f"superbill resubmit {claim_id}" in done.stdout
    [amended] = [e for e in pipeline.ledger.timeline(claim_id) if e["kind"] == "amended"]
    assert (amended["by"], amended["applied_event"], amended["source"]) == ("Dana Front", "evt_referral_added", "cli")
    assert "update from the booking system waiting" not in superbill(redis_url, "claims", "show", claim_id).stdout

    twice = superbill(redis_url, "claims", "apply-update", claim_id, "--by", "Dana Front")
    assert twice.returncode != 0 and "no update from the booking system is waiting" in twice.stderr
    assert [e["kind"] for e in pipeline.ledger.timeline(claim_id)].count("amended") == 1
