"""The ops commands of the `superbill` console script, run as subprocesses against a running pipeline (real
Redis, dramatiq workers, web app, sandbox peers), with the environment a deployment would give them."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pipeline.adapters.queue_stats import queue_stats
from pipeline.application.steps import QUEUES
from pipeline.entrypoints.demo import Stack
from tests.e2e.conftest import example
from tests.e2e.opskit import (
    FAST_FAIL_ENV,
    PRESCRIPTION,
    event,
    heal,
    on_day,
    post,
    snapshot,
    stop_worker,
    superbill,
    superbill_json,
    timeline_kinds,
    wait_final,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.e2e
StartStack = Callable[..., Stack]


def write(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def test_amend_with_the_cli_then_resubmit(start_stack: StartStack, tmp_path: Path) -> None:
    stack = start_stack()
    doc = example("commercial_courtesy")  # its session id is long: the claim id is derived from it
    del doc["prescription"]
    claim_id = post(stack, doc)
    assert claim_id != doc["session"]["session_id"]
    wait_status(stack, [claim_id], "needs_attention")
    listed = superbill_json(stack, "claims", "list", "--problem", "prescription_missing")["claims"]
    assert [c["claim_id"] for c in listed] == [claim_id]

    # refused field by field; nothing stored
    before = snapshot(stack)
    bad = {k: v for k, v in PRESCRIPTION.items() if k != "physician"} | {"issued_on": "soon", "signed": [1]}
    done = superbill(stack, "claims", "amend", claim_id, "--file", write(tmp_path / "bad.json", {"prescription": bad}))
    assert done.returncode == 2, done
    assert "prescription.physician: is required" in done.stderr
    assert "prescription.issued_on:" in done.stderr and "prescription.signed:" in done.stderr
    done = superbill(stack, "claims", "amend", claim_id, "--file", str(tmp_path / "bad.json"), "--json")
    assert done.returncode == 2
    assert {e["path"] for e in json.loads(done.stdout)["errors"]} == {
        "prescription.physician", "prescription.issued_on", "prescription.signed"}
    done = superbill(stack, "claims", "amend", claim_id, "--file", write(tmp_path / "broken.json", "{nope"))
    assert done.returncode == 1 and "broken.json: not JSON (" in done.stderr
    assert snapshot(stack) == before

    # attach the prescription, resubmit, accepted
    good = write(tmp_path / "good.json", {"prescription": PRESCRIPTION})
    done = superbill(stack, "claims", "amend", claim_id, "--file", good)
    assert done.returncode == 0, done.stderr
    assert f"{claim_id}: amended (prescription)" in done.stdout
    done = superbill(stack, "resubmit", claim_id)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"resubmitted 1 claim(s): {claim_id}"
    wait_status(stack, [claim_id], "accepted")

    shown = superbill_json(stack, "claims", "show", claim_id)
    assert shown["status"] == "accepted" and shown["route"] == "courtesy_submission" and shown["problems"] == []
    entries = {e["kind"]: e for e in shown["timeline"]}
    assert entries["amended"]["source"] == "cli" and entries["amended"]["changed"] == ["prescription"]
    assert entries["resubmitted"]["source"] == "cli" and entries["resubmitted"]["previous_status"] == "needs_attention"
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds.index("amended") < kinds.index("resubmitted") < kinds.index("accepted")
    text = superbill(stack, "claims", "show", claim_id)
    assert text.returncode == 0
    assert "status: accepted" in text.stdout and " amended " in text.stdout and " resubmitted " in text.stdout
    assert stack.receipts() == {claim_id: 1}

    # accepted: neither amended nor resubmitted
    before = snapshot(stack)
    done = superbill(stack, "claims", "amend", claim_id, "--file", good)
    assert done.returncode == 2 and "cannot be amended" in done.stderr
    done = superbill(stack, "resubmit", claim_id)
    assert done.returncode == 1 and f"skipped {claim_id}: status is accepted" in done.stdout
    done = superbill(stack, "claims", "show", "no_such_claim")
    assert done.returncode == 1
    assert snapshot(stack) == before
    assert stack.receipts() == {claim_id: 1}


def test_failed_claims_resubmitted_in_bulk_with_the_cli(start_stack: StartStack) -> None:
    stack = start_stack(faults="error_rate=1", extra_env=FAST_FAIL_ENV)
    ids = [post(stack, event("va_direct", f"cli_fail_{n}")) for n in range(3)]
    ids.append(post(stack, event("commercial_courtesy", "cli_fail_cs")))
    wait_status(stack, ids, "failed")

    status = superbill_json(stack, "status")
    assert status["claims"]["by_status"]["failed"] == 4 and status["last_24h"]["failed"] == 4
    assert sum(status["last_24h"]["by_reason"].values()) == 4
    assert all(reason.startswith("failed: ") for reason in status["last_24h"]["by_reason"])
    assert {q["queue"]: q["dead"] for q in status["queues"]}["submit_direct"] >= 1

    heal(stack)
    before = snapshot(stack)
    dry = superbill_json(stack, "resubmit", "--status", "failed", "--dry-run")
    assert dry["dry_run"] is True and sorted(dry["resubmitted"]) == sorted(ids)
    done = superbill(stack, "resubmit", "--status", "failed", "--dry-run")
    assert done.returncode == 0 and done.stdout.startswith("would resubmit 4 claim(s): ")
    done = superbill(stack, "resubmit", "--status", "accepted")
    assert done.returncode == 1 and "can be resubmitted" in done.stderr
    done = superbill(stack, "resubmit", ids[0], "--status", "failed")
    assert done.returncode == 1
    assert snapshot(stack) == before

    first, rest = ids[0], ids[1:]
    once = superbill_json(stack, "resubmit", first, first)
    assert once["resubmitted"] == [first] and once["count"] == 1
    bulk = superbill_json(stack, "resubmit", "--status", "failed")
    assert sorted(bulk["resubmitted"]) == sorted(rest) and bulk["skipped"] == []
    wait_status(stack, ids, "accepted")
    assert stack.receipts() == dict.fromkeys(ids, 1)
    for cid in ids:
        kinds = timeline_kinds(stack, cid)
        assert kinds.count("resubmitted") == 1 and kinds.count("accepted") == 1, (cid, kinds)
    assert superbill_json(stack, "claims", "list", "--status", "failed")["claims"] == []


def test_status_and_claims_list_filters(start_stack: StartStack) -> None:
    stack = start_stack()
    stop_worker(stack)
    docs = {
        "va_nov": event("va_direct", "cl_va_nov"),
        "va_oct": event("va_direct", "cl_va_oct", **on_day("2026-10-15")),
        "statement": event("commercial_statement", "cl_statement"),
        "self_pay": event("self_pay", "cl_self_pay", **on_day("2026-10-16")),
        "no_referral": event("va_missing_referral", "cl_no_referral"),
        "no_rx": event("commercial_courtesy", "cl_no_rx", prescription=None, coverage__payer_name="Aetna",
                       **on_day("2026-11-02")),
    }
    ids = {name: post(stack, doc) for name, doc in docs.items()}

    def validate_queue() -> dict[str, Any]:
        return next(q for q in queue_stats(stack.ledger().r) if q["queue"] == "validate")

    wait_for(validate_queue, lambda q: q["ready"] == 6 and (q["oldest_ready_age_s"] or 0) >= 1,
             timeout_s=20, what="six validate messages waiting, the oldest a second old")
    status = superbill_json(stack, "status")
    assert [q["queue"] for q in status["queues"]] == list(QUEUES)
    queued = status["queues"][QUEUES.index("validate")]
    assert queued["ready"] == 6 and queued["oldest_ready_age_s"] >= 1
    assert queued["delayed"] == 0 and queued["dead"] == 0
    assert status["claims"]["total"] == 6 and status["claims"]["by_status"]["received"] == 6
    text = superbill(stack, "status")
    assert text.returncode == 0 and "validate" in text.stdout and "received" in text.stdout
    # the worker is stopped: once its last heartbeat is older than the broker's timeout (5 s), status says why
    # nothing moves (the webhook queues through the ledger's script, which writes no heartbeat)
    stalled = wait_for(lambda: superbill_json(stack, "status"), lambda s: s["waiting_without_worker"] == 6,
                       timeout_s=30, what="status saying that six steps wait with no worker")
    assert {q["workers"] for q in stalled["queues"]} == {0}
    assert "no worker is running: 6 step(s) wait in the queues" in superbill(stack, "status").stdout

    stack.start_worker("worker2")
    wait_final(stack, ids.values())
    status = superbill_json(stack, "status")
    assert {s: n for s, n in status["claims"]["by_status"].items() if n} == {
        "accepted": 2, "statement_ready": 2, "needs_attention": 2}
    assert status["claims"]["by_route"] == {"direct_billing": 2, "statement_only": 2, "needs_attention": 2}
    assert all(q["ready"] == 0 and q["oldest_ready_age_s"] is None for q in status["queues"])

    def named(*names: str) -> set[str]:
        return {ids[n] for n in names}

    expected: dict[tuple[str, ...], set[str]] = {
        (): set(ids.values()),
        ("--status", "accepted"): named("va_nov", "va_oct"),
        ("--route", "needs_attention"): named("no_referral", "no_rx"),
        ("--payer", "BLUE CROSS"): named("statement"),
        ("--problem", "va_referral_missing"): named("no_referral"),
        ("--since", "2026-11-01"): named("va_nov", "statement", "no_referral", "no_rx"),
        ("--until", "2026-10-31"): named("va_oct", "self_pay"),
        ("--since", "2026-10-16", "--until", "2026-11-02", "--route", "statement_only"): named("self_pay"),
        ("--status", "accepted", "--payer", "va", "--since", "2026-11-01"): named("va_nov"),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = dict(zip(expected, pool.map(lambda a: superbill_json(stack, "claims", "list", *a), expected),
                           strict=True))
    for args, answer in answers.items():
        assert set(answer) == {"claims"}
        for row in answer["claims"]:
            assert {"claim_id", "session_id", "route", "status", "problems"} <= set(row)
            assert all(isinstance(p, str) for p in row["problems"])
        assert {row["claim_id"] for row in answer["claims"]} == expected[args], args
    row = next(r for r in answers[()]["claims"] if r["claim_id"] == ids["no_referral"])
    assert row["session_id"] == "ses_cl_no_referral" and row["route"] == "needs_attention"
    assert row["status"] == "needs_attention" and row["problems"] == ["va_referral_missing"]

    table = superbill(stack, "claims", "list", "--problem", "prescription_missing")
    assert table.returncode == 0 and "1 claim(s)" in table.stdout
    assert ids["no_rx"] in table.stdout and ids["va_nov"] not in table.stdout
    for bad in (["--status", "lost"], ["--since", "yesterday"]):
        done = superbill(stack, "claims", "list", *bad)
        assert done.returncode == 2 and done.stdout == ""
