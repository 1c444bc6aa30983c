"""Getting paid, end to end: the sandbox payer's 835s fetched by real workers, each claim posted exactly once
while a worker is SIGKILLed mid-pass and every 835 is delivered twice; denials reported; the ops views."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests

from pipeline.adapters.redis_remittances import RedisRemittances
from pipeline.entrypoints.demo import Stack
from tests.e2e.opskit import OpsPage, event, ops, ops_json, post, statuses, superbill, superbill_json, wait_for

pytestmark = pytest.mark.e2e

CLAIMS = 8


def payments(stack: Stack, claim_id: str) -> list[dict[str, Any]]:
    return [e for e in stack.ledger().timeline(claim_id) if e["kind"].startswith("remittance.")]


def test_remittances_are_posted_once_under_a_sigkill_and_duplicate_delivery(
        start_stack: Callable[..., Stack]) -> None:
    # every 835 is delivered twice, and the feed answers slowly so that the kill lands inside a pass
    stack = start_stack(faults="latency_ms=300,remit_delay_ms=0,remit_duplicate_rate=1")
    ids = [post(stack, event("va_direct", f"rk{n}", va_referral__referral_number=f"VA{n:010d}"))
           for n in range(CLAIMS)]
    wait_for(lambda: statuses(stack, ids), lambda seen: set(seen.values()) == {"accepted"}, timeout_s=60,
             what="every claim accepted")
    store = RedisRemittances(stack.ledger().r)
    # the reconciler asks the workers for a remittance pass every second
    stack.extra_env["SUPERBILL_REMITTANCE_POLL"] = "1"
    stack.spawn("reconciler", [sys.executable, "-m", "pipeline.entrypoints.cli", "reconcile", "--every", "1",
                               "--older-than", "60"])
    deadline = time.monotonic() + 30
    while not store.all() and time.monotonic() < deadline:  # the first 835 kept: the worker is validating it
        time.sleep(0.01)
    os.killpg(stack.procs["worker"].pid, signal.SIGKILL)
    stack.procs["worker"].wait(timeout=10)
    paid_at_kill = sum(s == "paid" for s in statuses(stack, ids).values())
    print(f"claims paid when the worker was killed: {paid_at_kill} of {CLAIMS}")
    assert paid_at_kill < CLAIMS, "the kill came after the pass: it proves nothing"
    stack.start_worker("worker2")
    wait_for(lambda: statuses(stack, ids), lambda seen: set(seen.values()) == {"paid"}, timeout_s=90,
             what="every claim paid")
    # a later, explicit redelivery of the first 835 changes nothing either
    first = store.all()[0]
    assert requests.post(stack.sandbox_url + "/_sandbox/remittances/redeliver",
                         json={"remittance_id": first.source_id}, timeout=10).status_code == 202
    wait_for(lambda: store.get(first.remittance_id).deliveries, lambda n: n >= 3, timeout_s=30,  # type: ignore[union-attr]
             what="the redelivered 835 fetched")
    for cid in ids:
        entries = payments(stack, cid)
        assert [e["kind"] for e in entries] == ["remittance.payment"], (cid, entries)
        claim = stack.ledger().get(cid)
        assert claim is not None and str(claim.paid_amount) == "260.00" and claim.payer_claim_number
    kept = store.all()
    assert all(r.deliveries >= 2 for r in kept), [(r.remittance_id, r.deliveries) for r in kept]
    outcomes = Counter(c["outcome"] for r in kept for c in r.claims)
    assert outcomes == {"posted": CLAIMS}, outcomes
    assert stack.receipts() == dict.fromkeys(ids, 1)

    listed = superbill_json(stack, "remittances", "list")["remittances"]
    assert sum(r["posted"] for r in listed) == CLAIMS and all(r["status"] == "posted" for r in listed)
    api = ops_json(stack, "GET", "/remittances")
    assert [r["remittance_id"] for r in api["remittances"]] == [r["remittance_id"] for r in listed]
    shown = ops_json(stack, "GET", f"/remittances/{first.remittance_id}")
    assert shown["x12"].startswith("ISA") and shown["claims"][0]["posting"]["kind"] == "payment"
    metrics = requests.get(stack.web_url + "/metrics", timeout=10).text
    assert f'superbill_remitted_claims{{outcome="paid"}} {float(CLAIMS)}' in metrics
    assert f'superbill_remitted_amount_dollars{{kind="paid"}} {260.0 * CLAIMS}' in metrics


def test_denials_are_reported_resubmittable_and_owed(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack(faults="remit_delay_ms=0,deny_rate=1,seed=4")
    cid = post(stack, event("va_direct", "rdeny"))
    wait_for(lambda: statuses(stack, [cid]), lambda seen: seen == {cid: "accepted"}, timeout_s=45, what="accepted")
    fetched = superbill_json(stack, "remittances", "fetch")
    assert fetched["claims_posted"] == 1
    shown = superbill_json(stack, "claims", "show", cid)
    assert shown["status"] == "denied" and shown["paid_amount"] == "0.00"
    assert shown["denial_reasons"] and all(r["text"] for r in shown["denial_reasons"])
    row = superbill_json(stack, "claims", "list", "--status", "denied")["claims"][0]
    assert row["claim_id"] == cid and row["denial_codes"] == [r["code"] for r in shown["denial_reasons"]]
    ar = superbill_json(stack, "ar")
    assert ar["totals"]["outstanding"] == "260.00" and ar["outstanding"][0]["claim_id"] == cid
    text = superbill(stack, "ar", "--warn-days", "0")
    assert text.returncode == 0 and cid in text.stdout.split("not paid 0 days")[1]
    api_ar = ops_json(stack, "GET", "/ar?warn_days=0")
    assert [r["claim_id"] for r in api_ar["timely_filing"]["claims"]] == [cid]
    exported = superbill(stack, "claims", "export", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "jsonl")
    [line] = [json.loads(x) for x in exported.stdout.splitlines() if cid in x]
    assert (line["payer_paid"], line["denial_codes"]) == ("0.00", "|".join(row["denial_codes"]))
    # the ops page: the overview lists the denial, the claim shows its payment, the money pages show both
    page = {"Authorization": f"Bearer {stack.ops_token}"}
    overview = requests.get(stack.web_url + "/ops", headers=page, timeout=10).text
    assert "Denied by the payer" in overview and cid in overview
    claim_page = requests.get(stack.web_url + f"/ops/claims/{cid}", headers=page, timeout=10).text
    assert "Denied because" in claim_page and shown["denial_reasons"][0]["code"] in claim_page
    rid = shown["remittance_ids"][0]
    assert rid in requests.get(stack.web_url + "/ops/remittances", headers=page, timeout=10).text
    assert "CLP*" + cid in requests.get(stack.web_url + f"/ops/remittances/{rid}", headers=page, timeout=10).text
    assert "260.00" in requests.get(stack.web_url + "/ops/ar", headers=page, timeout=10).text
    # denied is resubmittable: a new original under the next submission number, sent, not adopted
    assert superbill(stack, "resubmit", cid).returncode == 0
    wait_for(lambda: stack.receipts(), lambda r: r.get(cid) == 2, timeout_s=45, what="the resubmission sent")


def test_corrected_and_void_claims_through_the_cli_and_the_api(start_stack: Callable[..., Stack]) -> None:
    stack = start_stack(faults="remit_delay_ms=0")
    cid = post(stack, event("va_direct", "rfix"))
    wait_for(lambda: statuses(stack, [cid]), lambda seen: seen == {cid: "accepted"}, timeout_s=45, what="accepted")
    early = superbill(stack, "claims", "correct", cid)
    assert early.returncode == 2 and "claim number yet" in early.stderr  # nothing remitted yet
    superbill_json(stack, "remittances", "fetch")
    paid = superbill_json(stack, "claims", "show", cid)
    assert paid["status"] == "paid" and paid["payer_claim_number"]

    sent = superbill_json(stack, "claims", "correct", cid)
    assert sent["ok"] and paid["payer_claim_number"] in sent["message"]
    wait_for(lambda: stack.receipts(), lambda r: r.get(cid) == 2, timeout_s=45, what="the corrected claim sent")
    wait_for(lambda: statuses(stack, [cid]), lambda seen: seen == {cid: "accepted"}, timeout_s=45,
             what="the corrected claim accepted")
    x12 = requests.get(stack.sandbox_url + "/_sandbox/submissions", timeout=10).json()["clearinghouse"][-1]["x12"]
    assert ":B:7*" in x12 and f"REF*F8*{paid['payer_claim_number']}~" in x12
    superbill_json(stack, "remittances", "fetch")
    kinds = [e["kind"] for e in stack.ledger().timeline(cid) if e["kind"].startswith("remittance.")]
    assert kinds == ["remittance.payment", "remittance.reversal", "remittance.payment"]
    corrected = superbill_json(stack, "claims", "show", cid)
    assert corrected["status"] == "paid" and corrected["paid_amount"] == "260.00"

    # the void from the ops page's form, signed in: the session's CSRF token from the page's own origin, a
    # redirect to the claim (a fixed path) that shows the message, the person named on the timeline and audit log
    assert requests.post(stack.web_url + f"/ops/claims/{cid}/void", timeout=10,
                         allow_redirects=False).status_code == 401
    desk = OpsPage(stack)
    claim_page = desk.get(f"/ops/claims/{cid}").text
    assert f'action="/ops/claims/{cid}/void" data-confirm="Void payer claim' in claim_page
    forged = desk.http.post(stack.web_url + f"/ops/claims/{cid}/void", data={}, headers={"Origin": desk.url},
                            timeout=10, allow_redirects=False)
    assert forged.status_code == 403  # no CSRF token: refused, nothing sent
    form = desk.post(f"/ops/claims/{cid}/void")
    assert form.status_code == 303 and form.headers["location"] == f"/ops/claims/{cid}"
    assert "A void of payer claim" in desk.get(form.headers["location"]).text
    [voiding] = [e for e in stack.ledger().timeline(cid) if e.get("frequency_code") == "8"]
    assert voiding["by"] == "Front Desk (desk)" and voiding["source"] == "ops page"
    audit = superbill_json(stack, "audit", "--limit", "5", "--json")["audit"]
    assert [(e["action"], e["by"], e["claim_id"]) for e in audit if e["action"] == "claim.voided"] == [
        ("claim.voided", "desk", cid)]
    wait_for(lambda: stack.receipts(), lambda r: r.get(cid) == 3, timeout_s=45, what="the void sent")
    wait_for(lambda: statuses(stack, [cid]), lambda seen: seen == {cid: "voided"}, timeout_s=45,
             what="the void accepted: the claim voided")
    superbill_json(stack, "remittances", "fetch")
    voided = superbill_json(stack, "claims", "show", cid)
    assert (voided["status"], voided["paid_amount"], voided["frequency_code"]) == ("voided", "0.00", "8")
    kinds = [e["kind"] for e in stack.ledger().timeline(cid)]
    assert kinds.index("voided") < len(kinds) - 1 - kinds[::-1].index("remittance.reversal")  # reversal after
    # the sandbox payer had nothing to take the reversed 260.00 from: it added it back (PLB WO, negative, naming
    # the payer claim number) to recover later; that is posted against the claim, once, and shown where it is
    [recovery] = [e for e in stack.ledger().timeline(cid) if e["kind"] == "remittance.recovery"]
    assert (recovery["code"], recovery["amount"], recovery["reference"]) == (
        "WO", "-260.00", voided["payer_claim_number"])
    assert voided["recovered_amount"] == "-260.00"
    kept = ops(stack, "GET", f"/remittances/{recovery['remittance_id']}").json()
    assert [(a["code"], a["outcome"], a["claim_id"]) for a in kept["provider_adjustments"]] == [
        ("WO", "posted", cid)]
    assert ops(stack, "GET", f"/claims/{cid}").json()["recovered_amount"] == "-260.00"
    assert "added back (a recovery the payer delayed" in desk.get(f"/ops/claims/{cid}").text
    superbill_json(stack, "remittances", "fetch")  # fetched again: nothing posted twice
    assert [e["kind"] for e in stack.ledger().timeline(cid)].count("remittance.recovery") == 1
    owed = superbill_json(stack, "ar")
    assert (owed["claims"], owed["voided"]) == (0, [cid])
    assert [c["claim_id"] for c in superbill_json(stack, "claims", "list", "--status", "voided")["claims"]] == [cid]
    assert superbill_json(stack, "status")["claims"]["by_status"]["voided"] == 1
    metrics = requests.get(stack.web_url + "/metrics", timeout=10).text
    assert 'superbill_claims{status="voided"} 1.0' in metrics
    assert 'superbill_remitted_claims{outcome="voided"} 1.0' in metrics
    listed = desk.get("/ops/claims?status=voided").text
    assert f'/ops/claims/{cid}"' in listed and 'class="badge s-voided"' in listed
    shown = desk.get(f"/ops/claims/{cid}").text
    assert "Claim voided" in shown and "Void this claim" not in shown
    again = superbill(stack, "claims", "void", cid)
    assert again.returncode == 2 and "voided" in again.stderr
    refused = ops(stack, "POST", f"/claims/{cid}/void")
    assert refused.status_code == 409 and "voided" in refused.json()["errors"][0]["message"]


def test_the_demo_ends_every_direct_claim_paid_or_denied(tmp_path: Any) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "SUPERBILL_"))}
    events = tmp_path / "events"
    events.mkdir()
    for n in range(4):
        doc = event("va_direct", f"demo{n}", va_referral__referral_number=f"VA{n:010d}")
        (events / f"va_{n}.json").write_text(json.dumps(doc))
    done = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "demo", "--events", str(events),
                           "--faults", "deny_rate=0.5,underpay_rate=0.5,seed=11", "--json"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    claims = json.loads(done.stdout)["claims"]
    assert len(claims) == 4 and {c["status"] for c in claims} <= {"paid", "denied"}
    for c in claims:
        if c["status"] == "denied":
            assert c["paid_amount"] == "0.00" and c["denial_codes"], c
        else:
            assert c["paid_amount"] in ("260.00", "208.00") and c["denial_codes"] == [], c
    assert {c["status"] for c in claims} == {"paid", "denied"}  # seed 11: both outcomes
