"""A payment the client makes after the visit, on a real Redis: two part-payments on the timeline, a replacement
statement each time and its e-mail sent once, the version check, what clients owe now and as of a past day,
and the claims that take no payment."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import redis

from config.practice import load_practice
from pipeline.adapters.redis_ledger import Ledger
from pipeline.application import client_payments, ops, receivables, stages, statement_delivery
from pipeline.application.ingest import receive
from pipeline.application.period_statements import period_sessions
from pipeline.application.steps import SEND_STATEMENT
from pipeline.domain.claim_ids import claim_id_for
from pipeline.domain.intake import parse_event_document
from tests.examples import example
from tests.integration.application.test_statement_delivery import FakeMailer

EVENT = example("commercial_statement")
CLAIM = claim_id_for(EVENT["session"]["session_id"])
TODAY = date(2026, 11, 24)


def ready(redis_url: str, *, collected: str = "60.00", method: str = "card", example_name: str | None = None,
          mailed: bool = True, **client: Any) -> tuple[stages.Deps, list[Any], FakeMailer, str]:
    """A statement_ready claim whose client paid `collected` at the visit, its first statement e-mailed (unless
    not `mailed`: its delivery is still `queued`)."""
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    sent: list[Any] = []
    mailer = FakeMailer()
    deps = stages.Deps(ledger=Ledger(r), practice=load_practice(), mailer=mailer,
                       send=lambda step, cid, delay_ms=None: sent.append((step, cid)),
                       now=lambda: datetime(2026, 11, 24, 17, tzinfo=UTC), lease_s=2.0)
    doc = json.loads(json.dumps(example(example_name) if example_name else EVENT))
    doc["payment"] = {"amount_collected": collected, "method": method}
    doc["client"].update(client)
    claim_id = claim_id_for(doc["session"]["session_id"])
    assert receive(deps.ledger, json.dumps(doc).encode(), deps.send, source="test").http_status == 202
    for step in (stages.validate, stages.assemble, stages.route, stages.make_statement):
        step(deps, claim_id)
    if mailed:
        statement_delivery.send_statement(deps, claim_id)
    sent.clear()
    return deps, sent, mailer, claim_id


def pay(deps: stages.Deps, amount: str, method: str = "cash", **kw: Any) -> client_payments.PaymentResult:
    return client_payments.record_payment(deps, CLAIM, amount=amount, method=method, by="Dana Front", source="test",
                                          **kw)


def test_two_part_payments_each_on_the_timeline_each_with_a_replacement_statement_e_mailed_once(
        redis_url: str) -> None:
    deps, sent, mailer, _ = ready(redis_url)
    first = deps.ledger.get(CLAIM)
    assert first is not None and first.superbill is not None and first.superbill["balance_due"] == "200.00"
    assert len(mailer.taken) == 1

    one = pay(deps, "50.00", received_on=date(2026, 11, 22))
    assert one.ok, one
    assert (one.amount_paid, one.balance_due, one.replaces) == ("110.00", "150.00", first.document_number)
    assert sent == [(SEND_STATEMENT, CLAIM)] and one.statement == "queued"
    assert one.message == (f"payment recorded: 150.00 still due; statement {one.document_number} replaces "
                           f"{first.document_number}; its e-mail to the client is queued (`claims show` says when "
                           "it is sent)")  # queued, not promised: the worker may find e-mail not set up
    statement_delivery.send_statement(deps, CLAIM)
    statement_delivery.send_statement(deps, CLAIM)  # a duplicate message sends nothing more
    claim = deps.ledger.get(CLAIM)
    assert claim is not None and claim.document_number == one.document_number != first.document_number
    assert claim.statement_replaces == first.document_number and claim.statement_issued_on == TODAY.isoformat()
    assert claim.superbill is not None and claim.superbill["amount_paid"] == "110.00"
    assert claim.superbill["balance_due"] == "150.00"
    assert [w.message for w in claim.warnings if w.code == "balance_due"] == ["paid 110.00 of 260.00: 150.00 is due"]
    assert len(mailer.taken) == 2 and claim.statement_delivery == "sent"
    mail = mailer.taken[1]
    assert one.document_number in mail.subject and mail.subject.startswith("Your updated statement")
    assert f"replaces statement {first.document_number}" in mail.body and "$150.00 still due" in mail.body
    assert mail.message_id != mailer.taken[0].message_id
    event = parse_event_document(deps.ledger.event_document(CLAIM))
    assert event.payment.amount_collected == Decimal("110.00") and event.payment.method == "card"

    two = pay(deps, "150", method="check")
    assert two.ok and two.balance_due == "0.00" and two.received_on == TODAY.isoformat()
    statement_delivery.send_statement(deps, CLAIM)
    claim = deps.ledger.get(CLAIM)
    assert claim is not None and claim.statement_replaces == one.document_number
    assert not [w for w in claim.warnings if w.code == "balance_due"]
    assert len(mailer.taken) == 3 and mailer.taken[2].subject.startswith("Your receipt")
    assert "paid in full" in mailer.taken[2].body

    payments = client_payments.payments_of(deps.ledger.timeline(CLAIM))
    assert [(p["amount"], p["method"], p["received_on"], p["by"], p["balance_due"]) for p in payments] == [
        ("50.00", "cash", "2026-11-22", "Dana Front", "150.00"),
        ("150.00", "check", TODAY.isoformat(), "Dana Front", "0.00")]
    assert pay(deps, "1.00").errors == [{"path": "amount",
                                         "message": "nothing is due on this claim: its balance is 0.00"}]


def test_what_clients_owe_now_and_as_of_the_day_before_the_payment(redis_url: str) -> None:
    deps, _, _, _ = ready(redis_url)
    zone = deps.practice.practice.zone

    def owed(as_of: date | None = None) -> dict[str, Any]:
        report = receivables.receivables(deps.ledger, today=TODAY, as_of=as_of, warning_days=150, zone=zone)
        return dict(report["clients"])

    assert owed()["outstanding"] == "200.00" and owed()["balances"][0]["claim_id"] == CLAIM
    assert pay(deps, "50.00", received_on=date(2026, 11, 23)).ok
    assert owed()["outstanding"] == "150.00"
    assert owed(date(2026, 11, 22))["outstanding"] == "200.00"  # the payment was received the next day
    assert owed(date(2026, 11, 23))["outstanding"] == "150.00"
    assert owed(date(2026, 11, 22))["balances"][0]["paid"] == "60.00"
    # the period statement reads the same superbill: its session shows the new amount paid
    sessions = period_sessions(deps, EVENT["client"]["client_id"], date(2026, 11, 1), date(2026, 11, 30))
    assert [s.superbill.balance_due for s in sessions] == [Decimal("150.00")]


def test_refused_field_by_field_and_nothing_written(redis_url: str) -> None:
    deps, sent, _, _ = ready(redis_url)
    before = deps.ledger.timeline(CLAIM)
    result = client_payments.record_payment(deps, CLAIM, amount="250.00", method="bitcoin", by=" ",
                                            source="test", received_on=date(2026, 12, 1))
    assert not result.ok and {e["path"] for e in result.errors} == {"by", "amount", "method", "received_on"}
    assert "balance due (200.00)" in next(e["message"] for e in result.errors if e["path"] == "amount")
    for amount, why in (("0", "more than 0.00"), ("-5", "more than 0.00"), ("1.005", "two decimals"),
                        ("ten", "such as 40.00")):
        assert why in pay(deps, amount).errors[0]["message"], amount
    assert pay(deps, "5.00", method="none").errors[0]["path"] == "method"
    assert pay(deps, "5.00", received_on=date(2026, 11, 1)).errors[0]["path"] == "received_on"
    assert deps.ledger.timeline(CLAIM) == before and sent == []


def test_a_payment_made_from_an_older_version_of_the_claim_is_refused(redis_url: str) -> None:
    deps, _, _, _ = ready(redis_url)
    seen = ops.show_claim(deps.ledger, CLAIM)
    assert seen is not None
    assert pay(deps, "20.00", based_on=seen["event_version"]).ok  # one person records it
    again = pay(deps, "20.00", based_on=seen["event_version"])  # the other, from the same page
    assert not again.ok and again.conflict and "changed after you opened it" in again.message
    claim = deps.ledger.get(CLAIM)
    assert claim is not None and claim.superbill is not None and claim.superbill["amount_paid"] == "80.00"
    assert len(client_payments.payments_of(deps.ledger.timeline(CLAIM))) == 1


def test_a_client_who_gets_a_monthly_statement_is_not_e_mailed_a_replacement(redis_url: str) -> None:
    deps, sent, mailer, _ = ready(redis_url, statement_schedule="monthly")
    result = pay(deps, "20.00")
    assert result.ok and result.statement == "not e-mailed: the client gets one statement a month"
    claim = deps.ledger.get(CLAIM)
    assert claim is not None and claim.statement_delivery == "skipped" and sent == [] and mailer.taken == []
    entry = client_payments.payments_of(deps.ledger.timeline(CLAIM))[0]
    assert entry["statement_not_sent"] == "the client gets one statement a month"


def test_claims_that_take_no_payment(redis_url: str) -> None:
    deps, _, _, _ = ready(redis_url)
    deps.ledger.transition(CLAIM, "statement_ready", "accepted", kind="test")
    refused = pay(deps, "10.00")
    assert not refused.ok and not refused.errors and "statement_ready or needs_attention" in refused.message
    assert client_payments.record_payment(deps, "nope", amount="1", method="cash", by="x",
                                          source="test").message == ops.NO_SUCH_CLAIM
    va = example("va_direct")
    va_claim = claim_id_for(va["session"]["session_id"])
    assert receive(deps.ledger, json.dumps(va).encode(), deps.send, source="test").http_status == 202
    deps.ledger.transition(va_claim, "*", "needs_attention", kind="test",
                           fields={"route": "needs_attention", "coverage_kind": "va_ccn",
                                   "superbill": {"total_charge": "260.00", "amount_paid": "0.00"}})
    said = client_payments.record_payment(deps, va_claim, amount="10.00", method="cash", by="x", source="test")
    assert not said.ok and "veteran owes nothing" in said.message


def test_a_needs_attention_claim_takes_the_payment_without_a_statement(redis_url: str) -> None:
    deps, sent, _, _ = ready(redis_url)
    deps.ledger.transition(CLAIM, "statement_ready", "needs_attention", kind="test")
    result = pay(deps, "40.00")
    assert result.ok and result.document_number is None and result.statement is None and sent == []
    event = parse_event_document(deps.ledger.event_document(CLAIM))
    assert event.payment.amount_collected == Decimal("100.00")


def test_a_payment_while_the_first_statement_is_being_sent_e_mails_only_the_new_one(redis_url: str) -> None:
    deps, _, mailer, _ = ready(redis_url, mailed=False)
    mailer.die_before_commit = True  # the worker sending the first statement dies mid-send
    with pytest.raises(SystemExit):
        statement_delivery.send_statement(deps, CLAIM)
    assert deps.ledger.get(CLAIM).statement_delivery == "sending"  # type: ignore[union-attr]
    mailer.die_before_commit = False
    result = pay(deps, "200.00")
    assert result.ok and result.balance_due == "0.00"
    for _ in range(3):  # the first statement's message, the payment's, a redelivery: one e-mail
        statement_delivery.send_statement(deps, CLAIM)
    claim = deps.ledger.get(CLAIM)
    assert claim is not None and claim.statement_delivery == "sent"
    assert [m.subject.split(" (")[0] for m in mailer.taken] == [
        "Your receipt from " + deps.practice.practice.legal_name]
    assert result.document_number is not None and result.document_number in mailer.taken[0].subject


def test_a_payment_whose_step_message_was_lost_is_e_mailed_by_the_reconciler(redis_url: str) -> None:
    deps, sent, mailer, _ = ready(redis_url)
    assert pay(deps, "20.00").ok
    sent.clear()  # the process died before its message reached the queue
    later = time.time() + 3600
    assert statement_delivery.redrive_deliveries(deps, older_than_s=60, now=later) == [CLAIM]
    assert sent == [(SEND_STATEMENT, CLAIM)]
    statement_delivery.send_statement(deps, CLAIM)
    assert len(mailer.taken) == 2 and deps.ledger.get(CLAIM).statement_delivery == "sent"  # type: ignore[union-attr]
