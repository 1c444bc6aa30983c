"""What the ledger keeps per claim in Redis, on a real server with Redis's default settings: the bundled
examples run to final stay under a size bound with every claim's hash in the compact encoding; long fields
move between the claim's hash and its `:long` hash; and a claim written in the layout before this one
(a timeline stream, plain JSON event and documents, the superbill in the claim's hash) reads the same and
is moved to lists by its next write."""

from __future__ import annotations

import json
import time

import redis

from pipeline.adapters.redis_ledger import SHORT_VALUE, Ledger
from tests.examples import EXAMPLES, example
from tests.integration.application.harness import InlinePipeline

# What one claim's own keys may take (`MEMORY USAGE` of its hash, long fields, event, timeline, documents).
# The layout before this one took 9-11 KB per example with Redis's defaults; this one 1.3-2.3 KB.
PER_CLAIM_BOUND = 2_600
COMPACT = {"ziplist", "listpack"}




def claim_keys(r: redis.Redis, claim_id: str) -> list[bytes]:
    return [k for k in (f"sb:claim:{claim_id}".encode(), *r.scan_iter(match=f"sb:claim:{claim_id}:*"))
            if r.exists(k)]


def test_the_bundled_examples_run_to_final_in_a_few_kilobytes_each(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url)
    assert r.config_get("hash-max-*-value") in ({"hash-max-ziplist-value": "64"},
                                                {"hash-max-listpack-value": "64", "hash-max-ziplist-value": "64"})
    pipeline = InlinePipeline(redis_url)
    names = [p.stem for p in sorted(EXAMPLES.glob("*.json")) if not p.stem.startswith("refused")]
    claim_ids = [pipeline.post(example(name)) for name in names]
    sizes = {}
    for name, claim_id in zip(names, claim_ids, strict=True):
        claim = pipeline.claim(claim_id)
        assert claim.is_final, (name, claim.status)
        keys = claim_keys(r, claim_id)
        sizes[name] = sum(int(r.memory_usage(k, samples=0) or 0) for k in keys)
        encodings = {k.decode(): r.object("encoding", k).decode() for k in keys}
        assert encodings[f"sb:claim:{claim_id}"] in COMPACT, (name, encodings)
        assert r.type(f"sb:claim:{claim_id}:timeline") == b"list"
        # what ops read back is whole: the superbill, the event, the timeline and the documents sent
        assert pipeline.ledger.event_document(claim_id)["event_id"] == example(name)["event_id"]
        assert pipeline.ledger.timeline(claim_id)[0]["kind"] == "received"
        if claim.route in ("direct_billing", "courtesy_submission", "statement_only"):
            assert claim.superbill and claim.superbill["lines"]
        if claim.route in ("direct_billing", "courtesy_submission") and claim.status == "accepted":
            documents = pipeline.ledger.documents(claim_id)
            assert any(name.endswith(f"sent under {claim.idempotency_key}") for name in documents), documents
    assert max(sizes.values()) <= PER_CLAIM_BOUND, sizes


def test_a_long_field_lives_beside_the_compact_hash_and_moves_back_when_short(ledger: Ledger) -> None:
    noisy = "".join(chr(0x4E00 + (i * 7919) % 2000) for i in range(40))  # does not pack to 64 bytes
    ledger.ingest(claim_id="ses_1", event_id="evt_1", session_id="ses_1", event_doc={"event_id": "evt_1"},
                  index={"payer": noisy})
    r = ledger.r
    assert r.hexists("sb:claim:ses_1:long", "payer") and not r.hexists("sb:claim:ses_1", "payer")
    assert r.object("encoding", "sb:claim:ses_1").decode() in COMPACT
    claim = ledger.get("ses_1")
    assert claim is not None and claim.payer == noisy

    assert ledger.transition("ses_1", "received", "validated", kind="validated",
                             fields={"payer": "VA CCN", "last_error": noisy})
    assert r.hget("sb:claim:ses_1", "payer") == b"VA CCN" and not r.hexists("sb:claim:ses_1:long", "payer")
    assert r.hexists("sb:claim:ses_1:long", "last_error")
    claim = ledger.get("ses_1")
    assert claim is not None and (claim.payer, claim.last_error) == ("VA CCN", noisy)

    assert ledger.transition("ses_1", "validated", None, kind="cleared", fields={"last_error": None})
    assert not r.exists("sb:claim:ses_1:long")
    claim = ledger.get("ses_1")
    assert claim is not None and claim.last_error is None

    ledger.record_attempt("ses_1", error=noisy, peer="clearinghouse")
    claim = ledger.get("ses_1")
    assert claim is not None and (claim.attempts, claim.last_error) == (1, noisy)
    assert r.object("encoding", "sb:claim:ses_1").decode() in COMPACT


def test_a_superbill_packs_into_the_claim_hash(ledger: Ledger) -> None:
    pipeline_superbill = {
        "date_of_service": "2026-11-20", "place_of_service": "11", "diagnosis_codes": ["M54.50", "M62.830"],
        "lines": [{"cpt": "97124", "modifiers": ["GP"], "minutes": 30, "units": 2, "charge": "120.00",
                   "diagnosis_pointers": [1, 2], "body_regions": ["cervical"],
                   "description": "Massage (effleurage, petrissage, tapotement), each 15 minutes"}],
        "total_charge": "120.00", "amount_paid": "0.00", "balance_due": "120.00"}
    ledger.ingest(claim_id="ses_1", event_id="evt_1", session_id="ses_1", event_doc={"event_id": "evt_1"},
                  index={})
    assert ledger.transition("ses_1", "received", "assembled", kind="assembled",
                             fields={"superbill": pipeline_superbill})
    stored = ledger.r.hget("sb:claim:ses_1", "superbill")
    assert stored is not None and len(stored) <= SHORT_VALUE
    claim = ledger.get("ses_1")
    assert claim is not None and claim.superbill == pipeline_superbill


def write_old_layout(r: redis.Redis, claim_id: str, superbill: dict[str, object]) -> None:
    """A statement claim exactly as the ledger wrote it before this layout."""
    now = time.time()
    r.hset(f"sb:claim:{claim_id}", mapping={
        "claim_id": claim_id, "session_id": claim_id, "event_id": "evt_old", "status": "statement_ready",
        "route": "statement_only", "submission_no": "1", "attempts": "0", "created_at": repr(now - 5),
        "updated_at": repr(now), "status_changed_at": repr(now), "version": "4", "problems": "[]",
        "warnings": '[{"code":"balance_due","message":"paid 0.00 of 120.00: 120.00 is due"}]',
        "superbill": json.dumps(superbill, separators=(",", ":")), "document_number": "SB-000001"})
    r.zadd("sb:claims", {claim_id: now - 5})
    r.zadd("sb:status:statement_ready", {claim_id: now})
    r.sadd("sb:route:statement_only", claim_id)
    r.set(f"sb:claim:{claim_id}:event", json.dumps(example("self_pay"), separators=(",", ":")))
    for kind in ("received", "validated", "assembled", "routed", "statement.ready"):
        r.xadd(f"sb:claim:{claim_id}:timeline", {"entry": json.dumps({"at": now, "kind": kind})})
    r.hset(f"sb:claim:{claim_id}:documents", "837P sent under old-1", "ISA*00*          *00*~")


def test_a_claim_in_the_layout_before_reads_the_same_and_its_next_write_moves_it_on(ledger: Ledger) -> None:
    superbill = {"date_of_service": "2026-11-20", "lines": [], "total_charge": "120.00", "amount_paid": "0.00",
                 "balance_due": "120.00", "place_of_service": "11", "diagnosis_codes": ["M54.50"]}
    write_old_layout(ledger.r, "ses_old", superbill)
    claim = ledger.get("ses_old")
    assert claim is not None and claim.superbill == superbill and claim.warnings[0].code == "balance_due"
    assert ledger.event_document("ses_old") == example("self_pay")
    assert ledger.documents("ses_old") == {"837P sent under old-1": "ISA*00*          *00*~"}
    kinds = ["received", "validated", "assembled", "routed", "statement.ready"]
    assert [e["kind"] for e in ledger.timeline("ses_old")] == kinds
    assert [e["kind"] for e in ledger.timelines_since(["ses_old"], 0)["ses_old"]] == kinds
    assert ledger.get_with_event("ses_old")[1] == example("self_pay")

    ledger.note("ses_old", "statement.resend_requested", by="ops")
    assert ledger.r.type("sb:claim:ses_old:timeline") == b"list"
    assert [e["kind"] for e in ledger.timeline("ses_old")] == [*kinds, "statement.resend_requested"]
    # an amended event is stored packed, and read back the same
    amended = {**example("self_pay"), "note": "amended"}
    ledger.r.hset("sb:claim:ses_old", "status", "needs_attention")
    assert ledger.replace_event("ses_old", amended, index={}, changed=["note"], source="test")
    assert ledger.r.get("sb:claim:ses_old:event").startswith(b"\xff")  # type: ignore[union-attr]
    assert ledger.event_document("ses_old") == amended
    claim = ledger.get("ses_old")
    assert claim is not None and claim.superbill == superbill  # an old long value stays readable in place
