"""The submission step with fake peers (no HTTP) on a real Redis server: exactly once, pending answers,
a peer that never decides."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from config.practice import load_practice
from pipeline.adapters.redis_ledger import Ledger
from pipeline.application import stages
from pipeline.application.errors import PeerUnavailable
from pipeline.application.ingest import receive
from pipeline.application.ports import PeerAnswer
from tests.examples import example_path

EVENT = example_path("va_direct").read_bytes()


class FakeClearinghouse:
    """Remembers what it took by key, like a real one; answers with a scripted outcome."""

    name = "clearinghouse"

    def __init__(self, outcome: str = "accepted", fail_first: int = 0) -> None:
        self.outcome = outcome
        self.fail_first = fail_first
        self.taken: dict[str, str] = {}
        self.sent = 0

    def submit(self, x12: str, *, idempotency_key: str) -> PeerAnswer:
        self.sent += 1
        if self.sent <= self.fail_first:
            raise PeerUnavailable(self.name, "answered 503")
        self.taken.setdefault(idempotency_key, x12)
        return PeerAnswer(outcome=self.outcome, reference="PCN1")  # type: ignore[arg-type]

    def lookup(self, idempotency_key: str) -> PeerAnswer | None:
        if idempotency_key not in self.taken:
            return None
        return PeerAnswer(outcome=self.outcome, reference="PCN1")  # type: ignore[arg-type]


def run_to_routed(redis_url: str, peer: FakeClearinghouse, now: datetime) -> tuple[stages.Deps, list[Any]]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    sent: list[Any] = []
    deps = stages.Deps(ledger=Ledger(client), practice=load_practice(), clearinghouse=peer,
                       send=lambda step, cid, delay_ms=None: sent.append((step, cid, delay_ms)),
                       now=lambda: now)
    assert receive(deps.ledger, EVENT, deps.send, source="test").http_status == 202
    for step in (stages.validate, stages.assemble, stages.route):
        step(deps, "ses_va_direct")
    assert deps.ledger.get("ses_va_direct").status == "routed"  # type: ignore[union-attr]
    sent.clear()
    return deps, sent


def test_a_submission_step_run_twice_sends_once(redis_url: str) -> None:
    peer = FakeClearinghouse()
    deps, _ = run_to_routed(redis_url, peer, datetime(2026, 11, 21, tzinfo=UTC))
    stages.submit_direct(deps, "ses_va_direct")
    stages.submit_direct(deps, "ses_va_direct")
    claim = deps.ledger.get("ses_va_direct")
    assert claim is not None and claim.status == "accepted" and peer.sent == 1
    assert list(peer.taken) == ["ses_va_direct-1"]
    assert "CLM*ses_va_direct*260***11:B:1*Y*A*Y*Y" in peer.taken["ses_va_direct-1"]


def test_after_a_failed_call_the_peer_is_asked_about_the_key_before_sending(redis_url: str) -> None:
    peer = FakeClearinghouse(fail_first=1)
    deps, _ = run_to_routed(redis_url, peer, datetime(2026, 11, 21, tzinfo=UTC))
    with pytest.raises(PeerUnavailable):
        stages.submit_direct(deps, "ses_va_direct")
    claim = deps.ledger.get("ses_va_direct")
    assert claim is not None and claim.status == "submitting" and claim.attempts == 1
    peer.taken["ses_va_direct-1"] = "taken although the answer was lost"
    stages.submit_direct(deps, "ses_va_direct")
    assert deps.ledger.get("ses_va_direct").status == "accepted"  # type: ignore[union-attr]
    assert peer.sent == 1  # found by its key: not sent again
    kinds = [e["kind"] for e in deps.ledger.timeline("ses_va_direct")]
    assert kinds[-4:] == ["attempt.failed", "peer.lookup", "submitted", "accepted"]


def test_a_pending_answer_is_polled_later_and_a_peer_that_never_decides_fails_the_claim(redis_url: str) -> None:
    peer = FakeClearinghouse(outcome="pending")
    clock = {"now": datetime(2026, 11, 21, tzinfo=UTC)}
    deps, sent = run_to_routed(redis_url, peer, clock["now"])
    deps.now = lambda: clock["now"]
    stages.submit_direct(deps, "ses_va_direct")
    assert deps.ledger.get("ses_va_direct").status == "submitted"  # type: ignore[union-attr]
    assert sent == [("submit_direct", "ses_va_direct", stages.POLL_DELAY_MS)]

    clock["now"] += timedelta(hours=2)
    stages.submit_direct(deps, "ses_va_direct")
    assert sent[-1] == ("submit_direct", "ses_va_direct", stages.MAX_POLL_DELAY_MS)  # polls less often now

    clock["now"] += timedelta(days=8)
    stages.submit_direct(deps, "ses_va_direct")
    claim = deps.ledger.get("ses_va_direct")
    assert claim is not None and claim.status == "failed"
    assert claim.last_error is not None and "no final answer" in claim.last_error
    assert peer.sent == 1
    assert json.dumps(deps.ledger.timeline("ses_va_direct")).count('"submission.started"') == 1


def _routed_with(redis_url: str, edit: Any) -> stages.Deps:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    doc = json.loads(EVENT)
    edit(doc)
    deps = stages.Deps(ledger=Ledger(client), practice=load_practice(), send=lambda *a, **k: None)
    assert receive(deps.ledger, json.dumps(doc).encode(), deps.send, source="test").http_status == 202
    for step in (stages.validate, stages.assemble, stages.route):
        step(deps, "ses_va_direct")
    return deps


def test_a_va_claim_whose_837p_would_be_rejected_needs_attention_and_uses_no_visit(redis_url: str) -> None:
    deps = _routed_with(redis_url, lambda doc: doc["client"]["address"].update(state="ZZ"))
    claim = deps.ledger.get("ses_va_direct")
    assert claim is not None and claim.route == "needs_attention"
    assert [p.code for p in claim.problems] == ["claim_data_invalid"]
    assert "client.address.state" in claim.problems[0].message
    referral = json.loads(EVENT)["va_referral"]["referral_number"]
    assert deps.ledger.visits_used(referral) == 0


def test_the_alert_and_the_daily_summary_carry_codes_never_a_peers_free_text(redis_url: str) -> None:
    from pipeline.application.alerts import alert_notice
    from pipeline.application.ops import daily_summary

    deps = _routed_with(redis_url, lambda doc: None)
    echoed = "999: segment N3 element N301: value '123 ELM STREET APT 4'"
    assert deps.ledger.transition("ses_va_direct", "*", "rejected", kind="rejected",
                                  fields={"peer_reasons": [echoed, "277CA: A7:21 Missing or invalid information"],
                                          "last_error": "clearinghouse answered 422: 123 ELM STREET APT 4"})
    claim = deps.ledger.get("ses_va_direct")
    assert claim is not None
    notice = alert_notice(claim)
    summary = daily_summary(deps.ledger, lambda: [])
    for posted in (notice, summary):
        assert "ELM STREET" not in json.dumps(posted)
    assert notice["peer_reason_codes"] == ["999", "277CA:A7:21"]
    assert notice["error_code"] == "clearinghouse:http_422"
    assert summary["failures_last_24h_by_reason"] == {"rejected: 999": 1, "rejected: 277CA:A7:21": 1}


def test_an_amendment_naming_a_field_the_event_does_not_have_is_refused_with_the_closest_one(
        redis_url: str) -> None:
    from pipeline.application.ops import amend

    deps = _routed_with(redis_url, lambda doc: doc.pop("prescription"))
    claim = deps.ledger.get("ses_va_direct")
    assert claim is not None and claim.status == "needs_attention"  # no prescription: a person must fix it
    result = amend(deps.ledger, "ses_va_direct", {"client": {"adress": {"city": "Peoria"}}}, source="test")
    assert not result.ok
    assert result.errors == [{"path": "client.adress",
                              "message": "is not a field of the event; did you mean 'address'?"}]
    assert "Peoria" not in json.dumps(deps.ledger.event_document("ses_va_direct"))


def test_a_statement_made_in_the_practices_evening_is_issued_on_the_practices_day(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    evening = datetime(2026, 11, 22, 3, tzinfo=UTC)  # 21:00 on 2026-11-21 in Chicago, the practice's zone
    deps = stages.Deps(ledger=Ledger(client), practice=load_practice(), send=lambda step, cid, delay_ms=None: None,
                       now=lambda: evening)
    assert deps.practice.practice.timezone == "America/Chicago"
    claim_id = receive(deps.ledger, example_path("commercial_statement").read_bytes(), deps.send,
                       source="test").body["claim_id"]
    for step in (stages.validate, stages.assemble, stages.route, stages.make_statement):
        step(deps, claim_id)
    claim = deps.ledger.get(claim_id)
    assert claim is not None and (claim.status, claim.statement_issued_on) == ("statement_ready", "2026-11-21")
    charges = [e.get("total_charge") for e in deps.ledger.timeline(claim_id) if e["kind"] == "assembled"]
    assert claim.superbill and charges == [claim.superbill["total_charge"]] and charges[0]  # what was billed, then


def test_a_statement_is_numbered_once_and_its_pdf_rendered_on_demand_the_same_every_time(redis_url: str) -> None:
    from pipeline.application.statements import statement_pdf

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    sent: list[Any] = []
    clock = [datetime(2026, 11, 21, 15, tzinfo=UTC)]
    deps = stages.Deps(ledger=Ledger(client), practice=load_practice(),
                       send=lambda step, cid, delay_ms=None: sent.append(step), now=lambda: clock[0])
    body = example_path("commercial_statement").read_bytes()
    claim_id = receive(deps.ledger, body, deps.send, source="test").body["claim_id"]
    for step in (stages.validate, stages.assemble, stages.route):
        step(deps, claim_id)
    assert sent[-1] == "make_statement" and statement_pdf(deps.ledger, deps.practice, claim_id) is None
    stages.make_statement(deps, claim_id)
    clock[0] += timedelta(days=3)
    stages.make_statement(deps, claim_id)  # delivered twice: nothing changes
    claim = deps.ledger.get(claim_id)
    assert claim is not None and claim.status == "statement_ready" and claim.document_number == "SB-000001"
    assert claim.statement_issued_on == "2026-11-21"
    first = statement_pdf(deps.ledger, deps.practice, claim_id)
    assert first is not None and first.startswith(b"%PDF") and b"SB-000001" in first
    assert statement_pdf(deps.ledger, deps.practice, claim_id) == first
    assert not list(client.scan_iter("sb:claim:*:statement"))  # no PDF kept in Redis


def test_a_statement_made_on_a_chicago_evening_is_dated_that_evening_not_the_next_utc_day(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    evening = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)  # 19:30 on 20 November in the practice's zone
    deps = stages.Deps(ledger=Ledger(client), practice=load_practice(),
                       send=lambda step, cid, delay_ms=None: None, now=lambda: evening)
    claim_id = receive(deps.ledger, example_path("commercial_statement").read_bytes(), deps.send,
                       source="test").body["claim_id"]
    for step in (stages.validate, stages.assemble, stages.route, stages.make_statement):
        step(deps, claim_id)
    claim = deps.ledger.get(claim_id)
    assert claim is not None and claim.status == "statement_ready"
    assert claim.statement_issued_on == "2026-11-20"
