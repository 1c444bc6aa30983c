"""The Stedi adapter against the sandbox's Stedi shape over loopback, with its state in a real Redis server:
submit, replay under the same key, 4xx/5xx mapping, the paged transaction poll, a 277CA and an 835 fetched."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from config.practice import load_practice
from pipeline.adapters.clearinghouse_stedi import StediClearinghouse, StediStore
from pipeline.adapters.http_peer import PeerClient, RetryPolicy
from pipeline.adapters.redis_ledger import Ledger
from pipeline.application import stages
from pipeline.application.errors import PeerRefused, PeerUnavailable, SubmissionUnknown
from pipeline.application.ingest import receive
from pipeline.application.ops import amend, resubmit
from pipeline.application.reason_codes import error_code
from pipeline.documents.x12_validation import _run_pyx12 as validate_x12
from pipeline.sandbox import SandboxServer
from tests.examples import example_path

SAMPLE_837P = (Path(__file__).parents[2] / "fixtures" / "sample_837p.x12").read_text()
QUICK = RetryPolicy(attempts=3, total_s=15.0, initial_s=0.05, max_wait_s=0.2)
@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(sandbox: SandboxServer, redis_url: str) -> None:
    requests.post(sandbox.url + "/_sandbox/reset", timeout=10).raise_for_status()
    redis.Redis.from_url(redis_url).flushdb()


def set_faults(sandbox: SandboxServer, spec: str) -> None:
    requests.put(sandbox.url + "/_sandbox/faults", json={"spec": spec}, timeout=10).raise_for_status()


def receipts(sandbox: SandboxServer) -> dict[str, int]:
    return dict(requests.get(sandbox.url + "/_sandbox/receipts", timeout=10).json())


def adapter(sandbox: SandboxServer, redis_url: str, *, key: str = "test_key", now: float | None = None,
            page_size: int = 100, timeout_s: float = 5.0) -> StediClearinghouse:
    def client(path: str) -> PeerClient:
        return PeerClient(name="clearinghouse", base_url=sandbox.url + path, token=key, timeout_s=timeout_s,
                          policy=QUICK, auth_scheme=None)

    return StediClearinghouse(healthcare=client("/stedi/healthcare/2024-04-01"), core=client("/stedi/core/2023-08-01"),
                              store=StediStore(redis.Redis.from_url(redis_url)), poll_every_s=0.001,
                              page_size=page_size, now=(lambda: now) if now is not None else time.time)


def x12_for(claim_id: str, usage: str = "T") -> str:
    text = SAMPLE_837P.replace("ses_1001", claim_id)
    return text.replace("*0*T*:~", f"*0*{usage}*:~", 1)


def settle(ch: StediClearinghouse, key: str, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = ch.lookup(key)
        assert answer is not None
        if answer.outcome != "pending":
            return answer.outcome
        time.sleep(0.05)
    return "pending"


def test_a_taken_claim_waits_for_the_payers_277ca_then_is_accepted(sandbox: SandboxServer, redis_url: str) -> None:
    set_faults(sandbox, "ack_delay_ms=300")
    ch = adapter(sandbox, redis_url)
    answer = ch.submit(x12_for("ses_s1"), idempotency_key="ses_s1-1")
    assert (answer.outcome, answer.file_accepted) == ("pending", True)
    assert answer.reference and answer.reference.startswith("01STEDI")
    first = ch.lookup("ses_s1-1")
    assert first is not None and first.outcome == "pending"  # Stedi's own 277CA is no payer verdict
    assert settle(ch, "ses_s1-1") == "accepted"
    final = ch.lookup("ses_s1-1")
    assert final is not None and final.reference and final.reference.startswith("PCN")
    assert receipts(sandbox) == {"ses_s1": 1}


def test_the_same_key_replays_the_first_answer_and_takes_nothing_new(sandbox: SandboxServer, redis_url: str) -> None:
    ch = adapter(sandbox, redis_url)
    first = ch.submit(x12_for("ses_s2"), idempotency_key="ses_s2-1")
    again = ch.submit(x12_for("ses_s2"), idempotency_key="ses_s2-1")
    assert first.reference == again.reference
    assert receipts(sandbox) == {"ses_s2": 1}
    assert ch.lookup("ses_never-1") is None  # never sent: nothing to ask, safe to send


def test_a_payer_rejection_is_rejected_with_its_277ca_codes(sandbox: SandboxServer, redis_url: str) -> None:
    set_faults(sandbox, "reject_rate=1")
    ch = adapter(sandbox, redis_url)
    ch.submit(x12_for("ses_s3"), idempotency_key="ses_s3-1")
    assert settle(ch, "ses_s3-1") == "rejected"
    answer = ch.lookup("ses_s3-1")
    assert answer is not None and answer.reasons
    assert answer.reasons[0].startswith("277CA: A") and "from the payer" in answer.reasons[0]


def test_a_claim_stedi_refuses_is_rejected_with_stedis_reasons(sandbox: SandboxServer, redis_url: str) -> None:
    ch = adapter(sandbox, redis_url)
    broken = x12_for("ses_s4").replace("CLM*ses_s4*", "CLM*ses_s4*ABC", 1)
    answer = ch.submit(broken, idempotency_key="ses_s4-1")
    assert (answer.outcome, answer.file_accepted) == ("rejected", False)
    assert any(r.startswith("277CA: A7:21 from Stedi") for r in answer.reasons)
    assert any(r.startswith("Stedi edit 21:") for r in answer.reasons)
    looked = ch.lookup("ses_s4-1")
    assert looked is not None and looked.outcome == "rejected"
    assert receipts(sandbox) == {}


def test_the_key_reused_with_another_837p_waits_for_ops(sandbox: SandboxServer, redis_url: str) -> None:
    ch = adapter(sandbox, redis_url)
    ch.submit(x12_for("ses_s5"), idempotency_key="ses_s5-1")
    changed = x12_for("ses_s5").replace("BHT*0019*00*0001*", "BHT*0019*00*0002*", 1)
    with pytest.raises(SubmissionUnknown, match="different 837P"):
        ch.submit(changed, idempotency_key="ses_s5-1")
    assert receipts(sandbox) == {"ses_s5": 1}


def test_5xx_and_429_are_retried_and_answered_once(sandbox: SandboxServer, redis_url: str) -> None:
    set_faults(sandbox, "error_rate=0.5,seed=7")
    ch = adapter(sandbox, redis_url)
    taken = 0
    for n in range(6):
        try:
            ch.submit(x12_for(f"ses_r{n}"), idempotency_key=f"ses_r{n}-1")
            taken += 1
        except PeerUnavailable:
            assert ch.lookup(f"ses_r{n}-1") is None  # sent, never answered, inside the window: send again
            ch.submit(x12_for(f"ses_r{n}"), idempotency_key=f"ses_r{n}-1")
    assert set(receipts(sandbox).values()) == {1} and len(receipts(sandbox)) == 6
    set_faults(sandbox, "error_rate=1")
    with pytest.raises(PeerUnavailable, match=r"answered (5\d\d|429)"):
        ch.submit(x12_for("ses_down"), idempotency_key="ses_down-1")


def test_a_timeout_is_answered_by_the_replay(sandbox: SandboxServer, redis_url: str) -> None:
    set_faults(sandbox, "timeout_rate=1,hang_ms=1500")
    ch = adapter(sandbox, redis_url, timeout_s=0.5)
    with pytest.raises(PeerUnavailable, match="no answer"):
        ch.submit(x12_for("ses_t1"), idempotency_key="ses_t1-1")
    set_faults(sandbox, "")
    answer = ch.submit(x12_for("ses_t1"), idempotency_key="ses_t1-1")
    assert answer.outcome == "pending"
    assert receipts(sandbox) == {"ses_t1": 1}


def test_a_bearer_token_or_a_test_key_with_a_production_claim_is_refused(sandbox: SandboxServer,
                                                                       redis_url: str) -> None:
    with pytest.raises(PeerRefused) as refused:
        adapter(sandbox, redis_url).submit(x12_for("ses_p1", usage="P"), idempotency_key="ses_p1-1")
    assert refused.value.status == 403 and "test claims" in refused.value.reasons[0]
    bearer = PeerClient(name="clearinghouse", base_url=sandbox.url + "/stedi/healthcare/2024-04-01", token="k",
                        timeout_s=5, policy=QUICK)
    ch = adapter(sandbox, redis_url)
    ch.healthcare = bearer
    with pytest.raises(PeerRefused) as unauthorized:
        ch.submit(x12_for("ses_p2"), idempotency_key="ses_p2-1")
    assert unauthorized.value.status == 401
    assert receipts(sandbox) == {}
    # a refused key is settled: a day later it is a "no", never an unknown that blocks a resubmission
    later = adapter(sandbox, redis_url, now=time.time() + 25 * 3600).lookup("ses_p1-1")
    assert later is not None and (later.outcome, later.file_accepted) == ("rejected", False)


def test_past_the_replay_window_an_unanswered_key_waits_for_ops(sandbox: SandboxServer, redis_url: str) -> None:
    set_faults(sandbox, "error_rate=1")
    sent_at = time.time() - 25 * 3600
    with pytest.raises(PeerUnavailable):
        adapter(sandbox, redis_url, now=sent_at).submit(x12_for("ses_w1"), idempotency_key="ses_w1-1")
    with pytest.raises(SubmissionUnknown, match="past Stedi's 24-hour replay window"):
        adapter(sandbox, redis_url).lookup("ses_w1-1")
    assert adapter(sandbox, redis_url, now=sent_at + 22 * 3600).lookup("ses_w1-1") is None


def test_the_poll_pages_from_its_stored_cursor_and_takes_each_transaction_once(sandbox: SandboxServer,
                                                                               redis_url: str) -> None:
    set_faults(sandbox, "remit_delay_ms=600000")  # 277CAs only here
    ch = adapter(sandbox, redis_url, page_size=2)
    for n in range(3):
        ch.submit(x12_for(f"ses_q{n}"), idempotency_key=f"ses_q{n}-1")
    # 3 claims: Stedi's 277CA and the payer's 277CA each, two per page
    assert ch.poll() == 6
    cursor = ch.store.cursor()
    assert cursor is not None
    assert ch.poll() == 0 and ch.store.cursor() == cursor
    ch.submit(x12_for("ses_q3"), idempotency_key="ses_q3-1")
    assert ch.poll() == 2
    assert all(ch.lookup(f"ses_q{n}-1").outcome == "accepted" for n in range(4))  # type: ignore[union-attr]
    ch.store.r.delete(ch.store.p + "cursor")  # a lost cursor starts again from the start time: nothing twice
    assert ch.poll() == 0
    ch.store.set_cursor("not-a-token")  # a token Stedi refuses (400): again from the newest taken, nothing twice
    ch.submit(x12_for("ses_q4"), idempotency_key="ses_q4-1")
    assert ch.poll() == 2 and ch.store.cursor() != "not-a-token"


def test_the_payers_835s_are_fetched_raw_in_order_from_a_cursor(sandbox: SandboxServer, redis_url: str) -> None:
    set_faults(sandbox, "remit_delay_ms=0,deny_rate=0.5,seed=11")
    ch = adapter(sandbox, redis_url)
    ch.submit(x12_for("ses_e1"), idempotency_key="ses_e1-1")
    ch.submit(x12_for("ses_e2"), idempotency_key="ses_e2-1")
    batch = ch.remittances(None)
    claims = [seg.split("*")[1] for f in batch.files for seg in f.x12.split("~") if seg.startswith("CLP*")]
    assert sorted(claims) == ["ses_e1", "ses_e2"]
    assert all(validate_x12(f.x12).ok for f in batch.files)  # 005010X221A1, as the payer wrote it
    assert batch.cursor == batch.files[-1].cursor and not batch.has_more
    assert all(f.source_id for f in batch.files)  # Stedi's transaction id
    again = ch.remittances(batch.cursor)
    assert again.files == [] and again.cursor == batch.cursor
    assert len(ch.remittances(None).files) == len(batch.files)  # from the start again: the same files, once


# the submission step with the Stedi adapter: a submission cut off by a crash ------------------------------
EVENT = example_path("va_direct").read_bytes()


def routed_claim(redis_url: str, ch: StediClearinghouse) -> stages.Deps:
    deps = stages.Deps(ledger=Ledger(redis.Redis.from_url(redis_url)), practice=load_practice(),
                       clearinghouse=ch, send=lambda *a, **k: None)
    assert receive(deps.ledger, EVENT, deps.send, source="test").http_status == 202
    for step in (stages.validate, stages.assemble, stages.route):
        step(deps, "ses_va_direct")
    return deps


def cut_off(sandbox: SandboxServer, deps: stages.Deps, faults: str = "") -> None:
    """Stedi takes the claim, but its answer never arrives: the claim stays `submitting`."""
    set_faults(sandbox, "timeout_rate=1,hang_ms=1500" + ("," + faults if faults else ""))
    with pytest.raises(PeerUnavailable):
        stages.submit_direct(deps, "ses_va_direct")
    set_faults(sandbox, faults)
    assert deps.ledger.get("ses_va_direct").status == "submitting"  # type: ignore[union-attr]
    assert receipts(sandbox) == {"ses_va_direct": 1}


def test_inside_the_replay_window_a_cut_off_submission_is_sent_again_under_its_key(sandbox: SandboxServer,
                                                                                   redis_url: str) -> None:
    deps = routed_claim(redis_url, adapter(sandbox, redis_url, timeout_s=0.5))
    cut_off(sandbox, deps)
    deadline = time.monotonic() + 10
    while deps.ledger.get("ses_va_direct").status != "accepted" and time.monotonic() < deadline:  # type: ignore[union-attr]
        stages.submit_direct(deps, "ses_va_direct")
    assert deps.ledger.get("ses_va_direct").status == "accepted"  # type: ignore[union-attr]
    assert receipts(sandbox) == {"ses_va_direct": 1}  # Stedi replayed its first answer
    kinds = [e["kind"] for e in deps.ledger.timeline("ses_va_direct")]
    assert kinds.count("submission.started") == 1 and "peer.lookup" in kinds


def test_past_the_replay_window_a_cut_off_submission_waits_for_ops_and_is_never_sent_again(
        sandbox: SandboxServer, redis_url: str) -> None:
    deps = routed_claim(redis_url, adapter(sandbox, redis_url, timeout_s=0.5, now=time.time() - 25 * 3600))
    cut_off(sandbox, deps, "ack_delay_ms=8000")  # the payer's 277CA comes 8 s after Stedi took the claim
    deps.clearinghouse = adapter(sandbox, redis_url)
    stages.submit_direct(deps, "ses_va_direct")
    claim = deps.ledger.get("ses_va_direct")
    assert claim is not None and claim.status == "failed"
    assert claim.last_error and "past Stedi's 24-hour replay window" in claim.last_error
    assert error_code(claim.last_error) == "clearinghouse:no_answer"
    # ops resubmit: the same key, nothing sent; once the payer's 277CA is in the poll, it is the answer
    deadline = time.monotonic() + 30
    while deps.ledger.get("ses_va_direct").status == "failed" and time.monotonic() < deadline:  # type: ignore[union-attr]
        assert resubmit(deps.ledger, ["ses_va_direct"], deps.send, source="test").resumed == ["ses_va_direct"]
        stages.submit_direct(deps, "ses_va_direct")
        time.sleep(0.2)
    assert deps.ledger.get("ses_va_direct").status == "accepted"  # type: ignore[union-attr]
    assert receipts(sandbox) == {"ses_va_direct": 1}
    kinds = [e["kind"] for e in deps.ledger.timeline("ses_va_direct")]
    assert kinds.count("submission.started") == 1 and kinds.count("claim.failed") >= 1


def test_a_resubmission_right_after_a_payer_rejection_waits_for_its_own_277ca(sandbox: SandboxServer,
                                                                              redis_url: str) -> None:
    set_faults(sandbox, "reject_rate=1")
    ch = adapter(sandbox, redis_url)
    ch.submit(x12_for("ses_z1"), idempotency_key="ses_z1-1")
    assert settle(ch, "ses_z1-1") == "rejected"
    set_faults(sandbox, "ack_delay_ms=600")
    again = x12_for("ses_z1").replace("BHT*0019*00*0001*", "BHT*0019*00*0002*", 1)
    assert ch.submit(again, idempotency_key="ses_z1-2").outcome == "pending"
    first_look = ch.lookup("ses_z1-2")
    assert first_look is not None and first_look.outcome == "pending"  # the earlier rejection is not its verdict
    assert settle(ch, "ses_z1-2") == "accepted"
    earlier = ch.lookup("ses_z1-1")
    assert earlier is not None and earlier.outcome == "rejected"


def test_a_claim_stedi_never_took_goes_as_a_new_claim_once_ops_amends_it(sandbox: SandboxServer,
                                                                           redis_url: str) -> None:
    deps = routed_claim(redis_url, adapter(sandbox, redis_url, now=time.time() - 25 * 3600))
    set_faults(sandbox, "error_rate=1")  # Stedi never takes it, but the pipeline cannot know that
    with pytest.raises(PeerUnavailable):
        stages.submit_direct(deps, "ses_va_direct")
    set_faults(sandbox, "")
    deps.clearinghouse = adapter(sandbox, redis_url)
    stages.submit_direct(deps, "ses_va_direct")
    assert deps.ledger.get("ses_va_direct").status == "failed"  # type: ignore[union-attr]
    # ops found no such claim in Stedi's portal: amend (here a new phone number) and resubmit
    assert amend(deps.ledger, "ses_va_direct", {"client": {"phone": "+1-217-555-0101"}}, source="test").ok
    assert resubmit(deps.ledger, ["ses_va_direct"], deps.send, source="test").resumed == []
    for step in (stages.validate, stages.assemble, stages.route):
        step(deps, "ses_va_direct")
    deadline = time.monotonic() + 10
    while deps.ledger.get("ses_va_direct").status != "accepted" and time.monotonic() < deadline:  # type: ignore[union-attr]
        stages.submit_direct(deps, "ses_va_direct")
    claim = deps.ledger.get("ses_va_direct")
    assert claim is not None and claim.status == "accepted" and claim.idempotency_key == "ses_va_direct-2"
    assert receipts(sandbox) == {"ses_va_direct": 1}
    assert "peer.lookup_unknown" in [e["kind"] for e in deps.ledger.timeline("ses_va_direct")]


# what the adapter keeps in Redis has a lifetime --------------------------------------------------------
KEPT_WITHOUT_LIFETIME = {"cursor", "start", "newest", "era-seq", "era", "era-order", "era-at", "seen-at"}


def stedi_keys(ch: StediClearinghouse) -> dict[str, int]:
    """Each `stedi:` key (without the prefix) and its time to live in seconds (-1: none)."""
    r = ch.store.r
    return {k.decode().removeprefix(ch.store.p): int(r.ttl(k)) for k in r.scan_iter(match=ch.store.p + "*")}


def test_every_record_of_a_key_and_its_277cas_expires_and_a_refused_key_after_a_day(
        sandbox: SandboxServer, redis_url: str) -> None:
    from pipeline.adapters.clearinghouse_stedi import KEY_TTL_S, REJECTED_KEY_TTL_S

    set_faults(sandbox, "remit_delay_ms=0")
    ch = adapter(sandbox, redis_url)
    ch.submit(x12_for("ses_l1"), idempotency_key="ses_l1-1")
    assert settle(ch, "ses_l1-1") == "accepted"
    with pytest.raises(PeerRefused):
        ch.submit(x12_for("ses_l2", usage="P"), idempotency_key="ses_l2-1")
    ch.remittances(None)
    keys = stedi_keys(ch)
    assert {"key:ses_l1-1", "key:ses_l2-1", "acks:ses_l1"} <= set(keys)
    assert any(k.startswith("used:") for k in keys)
    lasting = {k: ttl for k, ttl in keys.items() if k not in KEPT_WITHOUT_LIFETIME}
    assert all(ttl > 0 for ttl in lasting.values()), lasting  # nothing else is kept for ever
    assert KEY_TTL_S - 60 <= keys["key:ses_l1-1"] <= KEY_TTL_S
    assert KEY_TTL_S - 60 <= keys["acks:ses_l1"] <= KEY_TTL_S
    assert REJECTED_KEY_TTL_S - 60 <= keys["key:ses_l2-1"] <= REJECTED_KEY_TTL_S
    # a refused key gone after its day answers as a refused key does: nothing blocks, nothing is adopted
    ch.store.r.delete(ch.store.p + "key:ses_l2-1")
    assert ch.lookup("ses_l2-1") is None


def test_the_poll_forgets_transactions_taken_more_than_a_week_ago(sandbox: SandboxServer, redis_url: str) -> None:
    from pipeline.adapters.clearinghouse_stedi import SEEN_KEEP_S

    store = adapter(sandbox, redis_url).store
    now = time.time()
    store.r.sadd(store.p + "seen", "tx_legacy")  # the set earlier versions kept, without a lifetime
    assert store.take("tx_old", now - SEEN_KEEP_S - 60, now=now - 120)
    assert store.seen("tx_old") and store.seen("tx_legacy")
    assert store.take("tx_new", now - 30, now=now)
    assert store.seen("tx_new") and not store.seen("tx_old")  # past a week: dropped
    assert store.seen("tx_legacy") and 0 < store.r.ttl(store.p + "seen") <= SEEN_KEEP_S


def test_two_passes_taking_one_transaction_at_once_take_it_once_with_what_it_brings(redis_url: str) -> None:
    from pipeline.adapters.clearinghouse_stedi import StoredAck

    stores = [StediStore(redis.Redis.from_url(redis_url)) for _ in range(2)]  # a connection each, as two workers
    now = time.time()
    for round_no in range(20):
        tx = f"tx_{round_no}"
        ack = StoredAck(transaction_id=tx, processed_at=now, sender="payer", verdict="accepted", reasons=[],
                        payer_claim_number=None, batch_trace=None)
        start = threading.Barrier(2)

        def claim(store: StediStore, tx: str = tx, ack: StoredAck = ack, start: threading.Barrier = start) -> bool:
            start.wait()
            return store.take(tx, now, now=now, acks=[("ses_c1", ack)], remittance=f"ISA*{tx}~")

        with ThreadPoolExecutor(2) as pool:
            taken = list(pool.map(claim, stores))
        assert sorted(taken) == [False, True], (round_no, taken)
        assert stores[0].take(tx, now, now=now, remittance="ISA*other~") is False  # and never again
    store = stores[0]
    assert store.r.zcard(store.p + "era-order") == 20  # each 835 once, in order
    assert [seq for seq, _, _ in store.remittances_after(0, 100)] == list(range(1, 21))
    assert {raw for _, _, raw in store.remittances_after(0, 100)} == {f"ISA*tx_{n}~" for n in range(20)}
    assert len(store.acks("ses_c1")) == 20 and store.seen("tx_19") and not store.seen("tx_20")
    assert store.newest() == now


def test_an_835_is_forgotten_a_week_after_the_remittance_pass_kept_it(sandbox: SandboxServer,
                                                                       redis_url: str) -> None:
    from pipeline.adapters.clearinghouse_stedi import ERA_KEEP_S

    set_faults(sandbox, "remit_delay_ms=0")
    ch = adapter(sandbox, redis_url)
    ch.submit(x12_for("ses_r1"), idempotency_key="ses_r1-1")
    ch.submit(x12_for("ses_r2"), idempotency_key="ses_r2-1")
    first = ch.remittances(None)
    assert first.files
    # a week on, the pass asks from its cursor: what it kept is dropped, what it has not kept stays
    assert ch.store.take("tx_late", time.time() - ERA_KEEP_S - 3600, now=time.time(), remittance="ISA*late~")
    later = adapter(sandbox, redis_url, now=time.time() + ERA_KEEP_S + 3600)
    later.poll_every_s = 3600.0  # no poll: only the stored 835s
    ch.store.r.delete(ch.store.p + "poll-lock")
    ch.store.poll_due(3600.0)
    batch = later.remittances(first.cursor)
    assert [f.source_id for f in batch.files] == ["tx_late"]  # not kept yet by the pass: still there
    assert ch.store.r.hkeys(ch.store.p + "era") == [b"tx_late"]
    assert ch.store.r.zcard(ch.store.p + "era-order") == 1 and ch.store.r.hlen(ch.store.p + "era-at") == 1
    assert later.remittances(None).files[0].source_id == "tx_late"  # from the start: only what is left
    later.remittances(batch.cursor)
    assert ch.store.r.hlen(ch.store.p + "era") == 0
