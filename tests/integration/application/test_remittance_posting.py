"""Posting remittances on a real Redis server, with a fake clearinghouse feed: exactly once, whatever is
fetched or delivered twice; paid, denied, reversed; unmatched and invalid files kept for ops."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

from config.practice import load_practice
from pipeline.adapters.redis_ledger import Ledger
from pipeline.adapters.redis_remittances import RedisRemittances
from pipeline.application import remittances, stages
from pipeline.application.ingest import receive
from pipeline.application.ops import resubmit
from pipeline.application.ports import PeerAnswer, RemittanceBatch, RemittanceFile
from pipeline.application.steps import ALERT, VALIDATE
from tests.examples import example_path

FIXTURES = Path(__file__).parents[2] / "fixtures"
EVENT = example_path("va_direct").read_bytes()
CLAIM = "ses_va_direct"


def fixture(name: str) -> str:
    return (FIXTURES / "remittances" / f"{name}.835").read_text()


class FeedClearinghouse:
    """Takes every claim; serves a remittance feed the test fills, by cursor."""

    name = "clearinghouse"

    def __init__(self) -> None:
        self.taken: dict[str, str] = {}
        self.feed: list[RemittanceFile] = []
        self.fetches = 0

    def submit(self, x12: str, *, idempotency_key: str) -> PeerAnswer:
        self.taken.setdefault(idempotency_key, x12)
        return PeerAnswer(outcome="accepted", reference="PCN1")

    def lookup(self, idempotency_key: str) -> PeerAnswer | None:
        return PeerAnswer(outcome="accepted", reference="PCN1") if idempotency_key in self.taken else None

    def remittances(self, cursor: str | None) -> RemittanceBatch:
        self.fetches += 1
        start = int(cursor or 0)
        files = self.feed[start:start + 2]
        return RemittanceBatch(files=files, cursor=str(start + len(files)), has_more=start + 2 < len(self.feed))

    def deliver(self, x12: str, source_id: str = "ERA") -> None:
        self.feed.append(RemittanceFile(source_id=source_id, x12=x12, cursor=str(len(self.feed) + 1)))


@pytest.fixture
def world(redis_url: str) -> tuple[stages.Deps, FeedClearinghouse, list[Any]]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    sent: list[Any] = []
    peer = FeedClearinghouse()
    deps = stages.Deps(ledger=Ledger(client), practice=load_practice(), clearinghouse=peer,
                       send=lambda step, cid, delay_ms=None: sent.append((step, cid)),
                       now=lambda: datetime(2026, 11, 21, tzinfo=UTC), remittances=RedisRemittances(client))
    assert receive(deps.ledger, EVENT, deps.send, source="test").http_status == 202
    for step in (stages.validate, stages.assemble, stages.route, stages.submit_direct):
        step(deps, CLAIM)
    assert deps.ledger.get(CLAIM).status == "accepted"  # type: ignore[union-attr]
    sent.clear()
    return deps, peer, sent


def claim(deps: stages.Deps) -> Any:
    found = deps.ledger.get(CLAIM)
    assert found is not None
    return found


def kinds(deps: stages.Deps) -> list[str]:
    return [e["kind"] for e in deps.ledger.timeline(CLAIM)]


def store(deps: stages.Deps) -> RedisRemittances:
    assert isinstance(deps.remittances, RedisRemittances)
    return deps.remittances


def test_partial_payment_is_posted_once_whatever_is_fetched_again(world: Any) -> None:
    deps, peer, sent = world
    peer.deliver(fixture("partial_payment"))
    assert remittances.fetch_and_post(deps) == {"fetched": 1, "new": 1, "claims_posted": 1}
    paid = claim(deps)
    assert paid.status == "paid"
    assert (paid.paid_amount, paid.adjusted_amount, paid.patient_responsibility) == (
        Decimal("208.00"), Decimal("52.00"), Decimal("0.00"))
    assert paid.payer_claim_number == "PCN0000000101" and paid.payment_trace == "CHK000101"
    assert paid.paid_on == "2026-12-05" and paid.denial_reasons == []
    timeline = len(deps.ledger.timeline(CLAIM))
    # the same bytes again (a second delivery, and the cursor forgotten): nothing changes
    peer.deliver(fixture("partial_payment").replace("\n", ""))
    store(deps).r.delete(store(deps)._k("remit", "cursor"))
    assert remittances.fetch_and_post(deps)["claims_posted"] == 0
    [kept] = store(deps).all()
    assert kept.deliveries == 3 and kept.status == "posted"
    assert [c["outcome"] for c in kept.claims] == ["posted"]
    # the same payment in another envelope (new control numbers): recognised as already posted
    peer.deliver(fixture("partial_payment").replace("*000000101*", "*000000901*").replace("*101*X*", "*901*X*")
                 .replace("GE*1*101", "GE*1*901").replace("IEA*1*000000101", "IEA*1*000000901"))
    remittances.fetch_and_post(deps)
    second = store(deps).all()[1]
    assert [(c["outcome"], c.get("detail")) for c in second.claims] == [
        ("duplicate", f"already posted from {kept.remittance_id}")], second
    assert len(deps.ledger.timeline(CLAIM)) == timeline and claim(deps).paid_amount == Decimal("208.00")
    assert sent == []  # a payment without patient responsibility raises no alert


def test_denial_is_reported_and_resubmittable_as_a_new_submission(world: Any) -> None:
    deps, peer, sent = world
    peer.deliver(fixture("denial"))
    remittances.fetch_and_post(deps)
    denied = claim(deps)
    assert denied.status == "denied" and denied.paid_amount == Decimal("0.00")
    assert [r["code"] for r in denied.denial_reasons] == ["CO-197", "N54"]
    assert "authorization" in denied.denial_reasons[0]["text"]
    assert sent == [(ALERT, CLAIM)]
    assert denied.summary()["denial_codes"] == ["CO-197", "N54"]
    result = resubmit(deps.ledger, [CLAIM], deps.send, source="test")
    assert result.resubmitted == [CLAIM] and (VALIDATE, CLAIM) in sent
    for step in (stages.validate, stages.assemble, stages.route, stages.submit_direct):
        step(deps, CLAIM)
    # the payer decided submission 1: the resubmission is sent, not adopted
    assert sorted(peer.taken) == [f"{CLAIM}-1", f"{CLAIM}-2"]
    assert claim(deps).status == "accepted"


def test_reversal_takes_the_claim_out_of_paid_and_the_correction_pays_it(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(fixture("dropped_modifier"))
    remittances.fetch_and_post(deps)
    assert (claim(deps).status, claim(deps).paid_amount) == ("paid", Decimal("260.00"))
    peer.deliver(fixture("reversal"))
    remittances.fetch_and_post(deps)
    after = claim(deps)
    assert (after.status, after.paid_amount, after.payer_claim_number) == ("paid", Decimal("208.00"), "PCN0000000105")
    kinds = [e["kind"] for e in deps.ledger.timeline(CLAIM) if e["kind"].startswith("remittance.")]
    assert kinds == ["remittance.payment", "remittance.reversal", "remittance.payment"]
    statuses = [e.get("to") for e in deps.ledger.timeline(CLAIM) if e["kind"].startswith("remittance.")]
    assert statuses == ["paid", "accepted", "paid"]


def test_unmatched_claims_and_invalid_files_are_kept_for_ops(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(fixture("unmatched_claim"))
    peer.deliver(fixture("partial_payment").replace("SE*", "SX*"))
    remittances.fetch_and_post(deps)
    unmatched, invalid = store(deps).all()
    assert unmatched.status == "posted"
    assert [(c["claim_id"], c["outcome"], c["detail"]) for c in unmatched.claims] == [
        ("ses_somebody_else", "unmatched", "no claim with this id")]
    assert unmatched.overview()["unmatched"] == 1
    assert invalid.status == "invalid" and invalid.errors
    assert store(deps).unposted() == [] and claim(deps).status == "accepted"


def test_a_claim_that_does_not_balance_is_not_posted(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(fixture("partial_payment").replace("CAS*CO*45*28", "CAS*CO*45*27"))
    remittances.fetch_and_post(deps)
    [kept] = store(deps).all()
    assert kept.claims[0]["outcome"] == "not_postable" and "does not balance" in kept.claims[0]["detail"]
    assert claim(deps).status == "accepted"


def test_patient_responsibility_on_a_va_claim_raises_an_alert(world: Any) -> None:
    deps, peer, sent = world
    text = fixture("partial_payment").replace("CAS*CO*45*28", "CAS*PR*2*28").replace("*1*260*208*0*", "*1*260*208*28*")
    peer.deliver(text)
    remittances.fetch_and_post(deps)
    assert claim(deps).patient_responsibility == Decimal("28.00")
    assert sent == [(ALERT, CLAIM)]
    from pipeline.application.alerts import alert_notice

    notice = alert_notice(claim(deps))
    assert notice["type"] == "claim.patient_responsibility" and notice["patient_responsibility"] == "28.00"
    assert "DOE" not in str(notice)


def test_a_remittance_that_overtakes_the_submission_waits(world: Any) -> None:
    deps, peer, _ = world
    deps.ledger.transition(CLAIM, "accepted", "submitting", kind="test")
    peer.deliver(fixture("partial_payment"))
    remittances.fetch_and_post(deps)
    assert store(deps).all()[0].status == "partly_posted"
    deps.ledger.transition(CLAIM, "submitting", "accepted", kind="test")
    remittances.fetch_and_post(deps)
    assert store(deps).all()[0].status == "posted" and claim(deps).status == "paid"


def test_a_second_payment_for_a_paid_claim_is_kept_not_added(world: Any) -> None:
    deps, peer, _ = world
    peer.deliver(fixture("partial_payment"))
    peer.deliver(fixture("dropped_modifier"))
    remittances.fetch_and_post(deps)
    assert claim(deps).paid_amount == Decimal("208.00")
    second = store(deps).all()[1]
    assert second.claims[0]["outcome"] == "not_postable" and "the claim is paid" in second.claims[0]["detail"]


def test_a_correction_the_rules_would_not_bill_is_refused_and_the_paid_claim_is_left_as_paid(world: Any) -> None:
    """A corrected claim whose data would need attention (an unsigned prescription) must not take a paid VA claim
    out of `paid`, tell the front desk the veteran owes its charge, or drop it from what is owed: nothing is
    stored or sent, and the answer names the problem."""
    from pipeline.application.ops import correct

    deps, peer, sent = world
    peer.deliver(fixture("partial_payment"))
    remittances.fetch_and_post(deps)
    before = claim(deps)
    assert before.status == "paid"
    document = deps.ledger.event_document(CLAIM)
    unsigned = {**document["prescription"], "signed": False}
    result = correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="replacement", source="test",
                     patch={"prescription": unsigned})
    assert not result.ok and result.changed == []
    assert any("prescription_unsigned" in e["message"] for e in result.errors), result
    assert "stays paid" in result.message
    after = claim(deps)
    assert (after.status, after.route, after.submission_no, after.paid_amount) == (
        "paid", "direct_billing", before.submission_no, before.paid_amount)
    assert deps.ledger.event_document(CLAIM) == document and sent == []
    assert "amended" not in kinds(deps) and "resubmitted" not in kinds(deps)
    # the same data fixed is sent as a corrected claim
    assert correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="replacement", source="test",
                   patch={"prescription": {**unsigned, "signed": True, "diagnosis_codes": ["M54.50"]}}).ok


def test_a_corrected_claim_the_payer_rejected_is_resubmitted_as_a_correction_not_a_second_original(
        world: Any) -> None:
    """The payer paid the original; its 277CA rejected the corrected claim. Fixed and resubmitted, the claim goes
    again as a replacement quoting the payer's claim number: a new original would bill the session a second
    time (and the payer would pay it twice)."""

    deps, peer, _ = world
    peer.deliver(fixture("partial_payment"))
    remittances.fetch_and_post(deps)
    assert claim(deps).status == "paid"
    taking = peer.submit

    def reject_the_correction(x12: str, *, idempotency_key: str) -> PeerAnswer:
        if idempotency_key == f"{CLAIM}-2":
            peer.taken.setdefault(idempotency_key, x12)
            return PeerAnswer(outcome="rejected", reasons=["277CA: A7:21 Missing or invalid information"])
        return taking(x12, idempotency_key=idempotency_key)

    looking = peer.lookup

    def rejected_when_asked(idempotency_key: str) -> PeerAnswer | None:
        if idempotency_key == f"{CLAIM}-2":
            return PeerAnswer(outcome="rejected", reasons=["277CA: A7:21 Missing or invalid information"])
        return looking(idempotency_key)

    peer.submit, peer.lookup = reject_the_correction, rejected_when_asked
    send_corrected_diagnoses(deps)
    assert (claim(deps).status, claim(deps).frequency_code) == ("rejected", "7")
    result = resubmit(deps.ledger, [CLAIM], deps.send, source="test", practice=deps.practice)
    assert result.resubmitted == [CLAIM]
    for step in (stages.validate, stages.assemble, stages.route, stages.submit_direct):
        step(deps, CLAIM)
    again = peer.taken[f"{CLAIM}-3"]
    assert ":B:7*" in again and "REF*F8*PCN0000000101~" in again, again
    assert (claim(deps).status, claim(deps).frequency_code) == ("accepted", "7")


def test_a_void_of_a_corrected_claim_the_payer_accepted_but_has_not_remitted_is_sent(world: Any) -> None:
    """Paid original (#1), corrected claim accepted by the payer (#2, no 835 yet), then a void (#3): the void must
    go to the clearinghouse under its own key, not take the corrected claim's acceptance as its own and end
    `voided` while the payer never saw it."""
    from pipeline.application.ops import correct

    deps, peer, _ = world
    peer.deliver(fixture("partial_payment"))
    remittances.fetch_and_post(deps)
    send_corrected_diagnoses(deps)
    assert (claim(deps).status, claim(deps).frequency_code) == ("accepted", "7")
    assert correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="void", source="test").ok
    for step in (stages.validate, stages.assemble, stages.route, stages.submit_direct):
        step(deps, CLAIM)
    assert sorted(peer.taken) == [f"{CLAIM}-1", f"{CLAIM}-2", f"{CLAIM}-3"]
    void = peer.taken[f"{CLAIM}-3"]
    assert ":B:8*" in void and "REF*F8*PCN0000000101~" in void
    assert "submission.adopted" not in kinds(deps)
    assert (claim(deps).status, claim(deps).idempotency_key) == ("voided", f"{CLAIM}-3")


def test_corrected_and_void_claims_quote_the_payer_claim_number(world: Any) -> None:
    from pipeline.application.ops import correct
    from pipeline.documents.x12_validation import validate_837p

    deps, peer, sent = world
    refused = correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="replacement", source="test")
    assert not refused.ok and "claim number yet" in refused.message  # accepted, never remitted
    peer.deliver(fixture("partial_payment"))
    remittances.fetch_and_post(deps)
    bad = correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="replacement", patch={"nonsense": {}},
                  source="test")
    assert not bad.ok and bad.errors and claim(deps).status == "paid"
    prescription = {**deps.ledger.event_document(CLAIM)["prescription"], "diagnosis_codes": ["M54.50"]}
    result = correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="replacement", source="test",
                     patch={"prescription": prescription})  # M62.830 was billed in error
    assert result.ok, result
    assert (VALIDATE, CLAIM) in sent and claim(deps).frequency_code == "7"
    assert kinds(deps)[-2:] == ["amended", "resubmitted"]  # the data changed, then the corrected claim went out
    for step in (stages.validate, stages.assemble, stages.route, stages.submit_direct):
        step(deps, CLAIM)
    replacement = peer.taken[f"{CLAIM}-2"]
    assert validate_837p(replacement).ok
    assert ":B:7*" in replacement and "REF*F8*PCN0000000101~" in replacement
    assert "HI*ABK:M5450~" in replacement and "M62830" not in replacement and "M62830" in peer.taken[f"{CLAIM}-1"]
    assert claim(deps).status == "accepted"
    # the payer takes the old payment back and pays the replacement
    peer.deliver(fixture("reversal").replace("PCN0000000103", "PCN0000000101").replace("CHK000105", "CHK000111"))
    remittances.fetch_and_post(deps)
    assert (claim(deps).status, claim(deps).paid_amount) == ("paid", Decimal("208.00"))
    # a void of the replacement
    assert correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="void", source="test").ok
    for step in (stages.validate, stages.assemble, stages.route, stages.submit_direct):
        step(deps, CLAIM)
    void = peer.taken[f"{CLAIM}-3"]
    assert validate_837p(void).ok and ":B:8*" in void and "REF*F8*PCN0000000105~" in void
    # the clearinghouse and the payer accepted the void: the claim ends voided, through the status index
    assert claim(deps).status == "voided" and deps.ledger.claim_ids(status="voided") == [CLAIM]
    assert deps.ledger.claim_ids(status="accepted") == [] and "voided" in kinds(deps)
    again = correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="void", source="test")
    assert not again.ok and "voided" in again.message
    # the payer's reversal of the replacement's payment keeps it voided, with nothing paid
    from pipeline.sandbox.era import read_submitted_claim, render_835, underpaid

    taken_back = underpaid(read_submitted_claim(replacement), "PCN0000000105").reversed()
    peer.deliver(render_835([taken_back], control_number=7, trace_number="T7",
                            created_at=datetime(2026, 12, 20, tzinfo=UTC), sender_id="CH", receiver_id="TK",
                            payee_name="TK", payee_npi="1245319599", payer_name="VA CCN OPTUM"))
    remittances.fetch_and_post(deps)
    assert (claim(deps).status, claim(deps).paid_amount) == ("voided", Decimal("0.00"))
    # with nothing to take it from, the payer adds the reversal back (PLB WO, negative) to recover it later:
    # the practice still holds the 208.00
    assert kinds(deps)[-2:] == ["remittance.reversal", "remittance.recovery"]
    assert claim(deps).recovered_amount == Decimal("-208.00")
    from pipeline.application.receivables import accounts_receivable

    report = accounts_receivable([claim(deps)], today=datetime(2026, 12, 31, tzinfo=UTC).date())
    assert (report["claims"], report["voided"], report["totals"]["outstanding"]) == (0, [CLAIM], "0.00")


def test_timely_filing_risk_is_announced_once_per_claim(world: Any) -> None:
    from datetime import date

    from pipeline.application.receivables import alert_timely_filing

    deps, _, _ = world
    notices: list[dict[str, Any]] = []

    class Alerts:
        def notify(self, notice: dict[str, Any]) -> None:
            notices.append(notice)

    assert alert_timely_filing(deps.ledger, Alerts(), today=date(2027, 4, 1), warning_days=150) == []  # 132 days
    assert alert_timely_filing(deps.ledger, Alerts(), today=date(2027, 4, 30), warning_days=150) == [CLAIM]
    assert alert_timely_filing(deps.ledger, Alerts(), today=date(2027, 5, 1), warning_days=150) == []
    assert notices == [{"type": "claim.timely_filing_risk", "claim_id": CLAIM, "route": "direct_billing",
                        "status": "accepted", "age_days": 161, "days_left": 19, "denial_codes": []}]
    assert "alert.timely_filing" in [e["kind"] for e in deps.ledger.timeline(CLAIM)]


def test_a_pass_that_dies_between_two_claims_posts_each_once_the_next_time(world: Any) -> None:
    from pipeline.sandbox.era import paid_in_full, read_submitted_claim, render_835

    deps, peer, _ = world
    other = EVENT.replace(b"ses_va_direct", b"ses_va_other").replace(b"evt_va_direct", b"evt_va_other")
    assert receive(deps.ledger, other, deps.send, source="test").http_status == 202
    for step in (stages.validate, stages.assemble, stages.route, stages.submit_direct):
        step(deps, "ses_va_other")
    outcomes = [paid_in_full(read_submitted_claim(x12), f"PCN{n}") for n, x12 in enumerate(peer.taken.values())]
    peer.deliver(render_835(outcomes, control_number=5, trace_number="T5", created_at=datetime(2026, 12, 5, tzinfo=UTC),
                            sender_id="CH", receiver_id="TK", payee_name="TK", payee_npi="1245319599",
                            payer_name="VA CCN OPTUM"))
    real = deps.ledger.post_once
    calls = []

    def dies_after_the_first(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        if len(calls) == 2:
            raise RuntimeError("the worker died here")
        return real(*args, **kwargs)

    deps.ledger.post_once = dies_after_the_first
    with pytest.raises(RuntimeError):
        remittances.fetch_and_post(deps)
    deps.ledger.post_once = real
    assert [c.status for c in deps.ledger.get_many([CLAIM, "ses_va_other"])] == ["paid", "accepted"]
    assert store(deps).unposted() == [store(deps).all()[0].remittance_id]
    remittances.fetch_and_post(deps)
    assert [c.status for c in deps.ledger.get_many([CLAIM, "ses_va_other"])] == ["paid", "paid"]
    for cid in (CLAIM, "ses_va_other"):
        assert [e["kind"] for e in deps.ledger.timeline(cid) if e["kind"].startswith("remittance.")] == [
            "remittance.payment"]
    [kept] = store(deps).all()
    assert [c["outcome"] for c in kept.claims] == ["posted", "posted"] and store(deps).unposted() == []


def test_a_correction_whose_data_the_claim_already_has_records_no_amendment(world: Any) -> None:
    from pipeline.application.ops import correct

    deps, peer, _ = world
    peer.deliver(fixture("partial_payment"))
    remittances.fetch_and_post(deps)
    goal = deps.ledger.event_document(CLAIM)["session"]["goal"]
    result = correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="replacement", source="test",
                     patch={"session": {"goal": goal}})
    assert result.ok and result.changed == [], result
    kinds = [e["kind"] for e in deps.ledger.timeline(CLAIM)]
    assert kinds[-1] == "resubmitted" and "amended" not in kinds
    assert claim(deps).frequency_code == "7"  # the replacement itself goes ahead


def test_an_accepted_void_gives_the_sessions_va_visit_back(world: Any) -> None:
    """A voided claim is no longer billed on its referral: its visit is free for another session (CONTRACT 2:
    `va_visits_exhausted` counts the sessions billed on the referral)."""
    from pipeline.application.ops import correct

    deps, peer, _ = world
    referral = "VA0012345678"
    assert deps.ledger.visits_used(referral) == 1
    peer.deliver(fixture("partial_payment"))
    remittances.fetch_and_post(deps)
    assert correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="void", source="test").ok
    for step in (stages.validate, stages.assemble, stages.route):
        step(deps, CLAIM)
    assert deps.ledger.visits_used(referral) == 1  # still billed until the payer takes the void
    stages.submit_direct(deps, CLAIM)
    assert claim(deps).status == "voided"
    assert deps.ledger.visits_used(referral) == 0


def send_corrected_diagnoses(deps: Any) -> None:
    """A corrected claim (frequency 7) of the claim with one diagnosis fewer, taken through its steps to the
    clearinghouse."""
    from pipeline.application.ops import correct

    document = deps.ledger.event_document(CLAIM)
    fix = {**document["prescription"], "diagnosis_codes": ["M54.50"]}
    assert correct(deps.ledger, CLAIM, deps.send, practice=deps.practice, kind="replacement", source="test",
                   patch={"prescription": fix}).ok
    for step in (stages.validate, stages.assemble, stages.route, stages.submit_direct):
        step(deps, CLAIM)
