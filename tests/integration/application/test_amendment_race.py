"""Two amendments of one claim at the same instant, on a real Redis server: two tabs (or two people) saving a form
opened at the same version of the claim's event, and two API calls that read the same event. The version check
and the write are one atomic step of the ledger: each round exactly one is saved, the other is told it was not,
and the claim is never left half-written (its indexed fields from one amendment, its event from the other)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from config.practice import load_practice
from pipeline.adapters.redis_ledger import Ledger
from pipeline.application import ops
from pipeline.application.ops import AmendResult
from pipeline.application.ports import EventChanged
from pipeline.application.stages import claim_index
from pipeline.domain.intake import parse_event_document
from tests.examples import example

ROUNDS = 40
PRACTICE = load_practice()
CLAIM = "ses_race"


@pytest.fixture
def ledger(redis_url: str) -> Iterator[Ledger]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    doc = example("va_direct")
    doc["event_id"], doc["session"]["session_id"] = "evt_race", CLAIM
    ledger = Ledger(client)
    ledger.ingest(claim_id=CLAIM, event_id="evt_race", session_id=CLAIM, event_doc=doc,
                  index=claim_index(parse_event_document(doc), CLAIM))
    assert ledger.transition(CLAIM, "received", "needs_attention", kind="needs_attention")
    yield ledger
    client.close()


def race(redis_url: str, *amendments: Callable[[Ledger], AmendResult]) -> list[AmendResult]:
    """Each amendment in a thread of its own, on a connection of its own, all released at once."""
    start = threading.Barrier(len(amendments))
    results: list[AmendResult | BaseException] = [RuntimeError("did not run")] * len(amendments)

    def run(i: int, amendment: Callable[[Ledger], AmendResult]) -> None:
        own = Ledger(redis.Redis.from_url(redis_url))
        try:
            start.wait(timeout=10)
            results[i] = amendment(own)
        except BaseException as exc:  # handed to the test, never lost in the thread
            results[i] = exc
        finally:
            own.r.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(amendments)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return [r for r in results if isinstance(r, AmendResult)]


def amended_entries(ledger: Ledger) -> int:
    return sum(e["kind"] == "amended" for e in ledger.timeline(CLAIM))


def test_two_saves_from_the_same_version_one_wins_each_round_and_the_other_is_told(
        ledger: Ledger, redis_url: str) -> None:
    for n in range(ROUNDS):
        claim = ledger.get(CLAIM)
        assert claim is not None
        version = ops.event_version(claim.amended_at)
        mine = {tab: f"thr_{tab}{n}" for tab in ("a", "b")}

        def save(tab: str, version: str = version, mine: dict[str, str] = mine) -> Callable[[Ledger], AmendResult]:
            return lambda own: ops.amend(own, CLAIM, {"session": {"therapist_id": mine[tab]}}, source="ops page",
                                         by=f"tab {tab}", based_on=version)

        results = race(redis_url, save("a"), save("b"))
        assert sorted(r.ok for r in results) == [False, True], f"round {n}: {[r.message for r in results]}"
        [won] = [tab for tab, r in zip(("a", "b"), results, strict=True) if r.ok]
        [lost] = [r for r in results if not r.ok]
        assert lost.message == ops.CHANGED_MEANWHILE and lost.changed == []
        # nothing half-written: the event, the claim's indexed fields and the timeline are the winner's, once
        after = ledger.get(CLAIM)
        assert after is not None and after.status == "needs_attention"
        assert ledger.event_document(CLAIM)["session"]["therapist_id"] == mine[won]
        assert after.therapist_id == mine[won]
        assert amended_entries(ledger) == n + 1
        [entry] = [e for e in ledger.timeline(CLAIM) if e["kind"] == "amended"][-1:]
        assert entry["by"] == f"tab {won}"
        assert ops.event_version(after.amended_at) != version  # the next form opened sees a new version


def test_two_api_amendments_that_read_the_same_event_never_lose_one_silently(
        ledger: Ledger, redis_url: str) -> None:
    """Without a version from the caller (the API, the CLI), an amendment is written only onto the event it read:
    two at once never both report success while one's section is lost under the other's."""
    for n in range(ROUNDS):
        member, therapist = f"M{n:08d}", f"thr_api{n}"
        results = race(
            redis_url,
            lambda own: ops.amend(own, CLAIM, {"coverage": {"member_id": member}}, source="api"),  # noqa: B023
            lambda own: ops.amend(own, CLAIM, {"session": {"therapist_id": therapist}}, source="api"))  # noqa: B023
        document = ledger.event_document(CLAIM)
        stored = (document["coverage"]["member_id"] == member, document["session"]["therapist_id"] == therapist)
        # every amendment that said it was saved is in the event; one that was not says why
        assert [r.ok for r in results] == list(stored), f"round {n}: {[r.message for r in results]}"
        assert any(stored)
        for r in results:
            assert r.ok or r.message == ops.CHANGED_WHILE_SAVING


@pytest.mark.parametrize("amended_at", [1764950000.1234565, 1764950000.0, 1764950000.9999996, 1.5, 1.0000005])
def test_the_ledger_reads_an_event_version_as_the_page_writes_it(ledger: Ledger, amended_at: float) -> None:
    ledger.r.hset(ledger.claim_key(CLAIM), "amended_at", repr(amended_at))
    document = ledger.event_document(CLAIM)
    version = ops.event_version(amended_at)
    with pytest.raises(EventChanged):
        ledger.replace_event(CLAIM, {**document, "x": 1}, index={}, changed=["x"], source="test",
                             based_on=f"{amended_at + 0.001:.6f}")
    assert "x" not in ledger.event_document(CLAIM) and amended_entries(ledger) == 0
    assert ledger.replace_event(CLAIM, {**document, "x": 2}, index={}, changed=["x"], source="test",
                                based_on=version)
    assert ledger.event_document(CLAIM)["x"] == 2 and amended_entries(ledger) == 1
    claim = ledger.get(CLAIM)
    assert claim is not None and ops.event_version(claim.amended_at) != version


def correcting(by: str, patch: dict[str, Any] | None, version: str,
               sent: list[str]) -> Callable[[Ledger], AmendResult]:
    """A corrected claim sent from a form opened at `version` (`patch`: what it changes, if anything)."""
    return lambda own: ops.correct(own, CLAIM, lambda _step, cid: sent.append(cid), kind="replacement",
                                   practice=PRACTICE, patch=patch, source="ops page", by=by, based_on=version)


def test_two_corrected_claims_from_the_same_version_one_is_sent_with_the_data_its_sender_saw(
        ledger: Ledger, redis_url: str) -> None:
    """Two tabs on a paid claim: one sends a corrected claim with a new e-mail, the other sends one with the data
    as it was. Each round exactly one is sent; the other is told and sends nothing; the claim sent carries exactly
    what its sender saw and changed (never the other tab's amendment under the other tab's name)."""
    assert ledger.transition(CLAIM, "needs_attention", "paid", kind="remittance.payment", fields={
        "route": "direct_billing", "payer_claim_number": "PCN1", "remittance_ids": ["rem_000001"]})
    sent: list[str] = []
    for n in range(ROUNDS):
        claim = ledger.get(CLAIM)
        assert claim is not None and claim.status == "paid"
        version, before = ops.event_version(claim.amended_at), ledger.event_document(CLAIM)
        email = f"fix{n}@example.com"
        results = race(redis_url, correcting("tab a", {"client": {"email": email}}, version, sent),
                       correcting("tab b", None, version, sent))
        assert sorted(r.ok for r in results) == [False, True], f"round {n}: {[r.message for r in results]}"
        assert len(sent) == n + 1
        resubmitted = [e for e in ledger.timeline(CLAIM) if e["kind"] == "resubmitted"]
        assert len(resubmitted) == n + 1
        document = ledger.event_document(CLAIM)
        if results[0].ok:
            assert document["client"]["email"] == email and resubmitted[-1]["by"] == "tab a"
        else:  # the data as tab b saw it, and nothing of tab a's
            assert document == before and resubmitted[-1]["by"] == "tab b"
            assert results[0].changed == []
        after = ledger.get(CLAIM)
        assert after is not None and (after.status, after.frequency_code) == ("received", "7")
        assert ledger.transition(CLAIM, "received", "paid", kind="remittance.payment")


def test_a_corrected_claim_is_not_sent_with_an_amendment_made_between_its_own_and_its_sending(
        ledger: Ledger) -> None:
    """A denied claim (both amendable and correctable): tab a sends a corrected claim with a new e-mail; between
    the write of its amendment and its sending, tab b saves a new phone from a page opened after tab a's amendment.
    Tab a's corrected claim must not go out carrying tab b's phone under tab a's name."""
    assert ledger.transition(CLAIM, "needs_attention", "denied", kind="remittance.denial", fields={
        "route": "direct_billing", "payer_claim_number": "PCN1", "remittance_ids": ["rem_000001"]})
    claim = ledger.get(CLAIM)
    assert claim is not None
    seen = ops.event_version(claim.amended_at)
    resubmit = ledger.resubmit
    others: list[AmendResult] = []

    def tab_b_saves_in_between(*args: Any, **kwargs: Any) -> bool:
        now = ledger.get(CLAIM)
        assert now is not None
        phone = {**ledger.event_document(CLAIM)["client"], "phone": "+1-217-555-0142"}
        others.append(ops.amend(ledger, CLAIM, {"client": phone}, source="ops page", by="tab b",
                                based_on=ops.event_version(now.amended_at)))
        return resubmit(*args, **kwargs)

    ledger.resubmit = tab_b_saves_in_between  # type: ignore[method-assign]
    sent: list[str] = []
    email = {**ledger.event_document(CLAIM)["client"], "email": "new@example.com"}
    result = ops.correct(ledger, CLAIM, lambda _step, cid: sent.append(cid), kind="replacement", practice=PRACTICE,
                         patch={"client": email}, source="ops page", by="tab a", based_on=seen)
    assert [o.ok for o in others] == [True]  # tab b's save stands
    assert not result.ok and sent == [] and "someone else amended" in result.message
    after = ledger.get(CLAIM)
    assert after is not None and after.status == "denied"  # nothing went out
    assert not [e for e in ledger.timeline(CLAIM) if e["kind"] == "resubmitted"]
