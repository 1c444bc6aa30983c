"""The statement e-mail step with a fake mail server on a real Redis: once, retried, failed with a reason,
resumed after a worker died mid-send, skipped with a reason, resent by ops, re-driven by the reconciler."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from config.practice import load_practice
from pipeline.adapters.redis_ledger import Ledger
from pipeline.application import stages, statement_delivery
from pipeline.application.errors import PeerRefused, PeerUnavailable
from pipeline.application.ingest import receive
from pipeline.application.ports import StatementMail
from pipeline.application.reconciler import reconcile_once
from pipeline.application.statements import statement_pdf
from pipeline.application.steps import SEND_STATEMENT
from pipeline.domain.claim_ids import claim_id_for
from tests.examples import example

EVENT = example("commercial_statement")
CLAIM = claim_id_for(EVENT["session"]["session_id"])


class FakeMailer:
    sender = "statements@practice.example"

    def __init__(self, fail_first: int = 0, refuse: bool = False) -> None:
        self.fail_first, self.refuse = fail_first, refuse
        self.calls = 0
        self.taken: list[StatementMail] = []
        self.die_before_commit = False

    def send(self, mail: StatementMail, *, before_commit: Callable[[], None] | None = None) -> None:
        self.calls += 1
        if self.refuse:
            raise PeerRefused("smtp", 550, ["the mail server answered 550: mailbox unavailable"])
        if self.calls <= self.fail_first:
            raise PeerUnavailable("smtp", "the mail server answered 451: try again later")
        if self.die_before_commit:
            raise SystemExit("killed")  # a worker that dies before the end-of-data mark
        if before_commit:
            before_commit()
        self.taken.append(mail)


def ready(redis_url: str, mailer: FakeMailer | None, **client: Any) -> tuple[stages.Deps, list[Any]]:
    """A statement_ready claim; `client` changes fields of the event's client."""
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    sent: list[Any] = []
    deps = stages.Deps(ledger=Ledger(r), practice=load_practice(), mailer=mailer,
                       send=lambda step, cid, delay_ms=None: sent.append((step, cid)),
                       now=lambda: datetime(2026, 11, 21, tzinfo=UTC), lease_s=2.0)
    doc = json.loads(json.dumps(EVENT))
    for key, value in client.items():
        if value is None:
            doc["client"].pop(key, None)
        else:
            doc["client"][key] = value
    assert receive(deps.ledger, json.dumps(doc).encode(), deps.send, source="test").http_status == 202
    for step in (stages.validate, stages.assemble, stages.route, stages.make_statement):
        step(deps, CLAIM)
    claim = deps.ledger.get(CLAIM)
    assert claim is not None and claim.status == "statement_ready" and claim.statement_delivery == "queued"
    assert (SEND_STATEMENT, CLAIM) in sent
    sent.clear()
    return deps, sent


def kinds(deps: stages.Deps) -> list[str]:
    return [e["kind"] for e in deps.ledger.timeline(CLAIM) if e["kind"].startswith("statement.")]


def test_sent_once_with_the_pdf_and_a_body_without_clinical_data(redis_url: str) -> None:
    mailer = FakeMailer()
    deps, _ = ready(redis_url, mailer)
    statement_delivery.send_statement(deps, CLAIM)
    statement_delivery.send_statement(deps, CLAIM)  # a duplicate message changes nothing

    claim = deps.ledger.get(CLAIM)
    assert claim is not None and claim.statement_delivery == "sent" and claim.status == "statement_ready"
    assert len(mailer.taken) == 1
    mail = mailer.taken[0]
    assert mail.to == EVENT["client"]["email"]
    assert mail.pdf == statement_pdf(deps.ledger, deps.practice, CLAIM)
    expected_id = f"<statement.{CLAIM}.1.{claim.document_number}@practice.example>"
    assert mail.message_id == claim.statement_message_id == expected_id
    codes = [*EVENT["prescription"]["diagnosis_codes"], *(s["cpt"] for s in EVENT["session"]["services"])]
    for clinical in [*codes, EVENT["client"]["last_name"], "diagnos"]:
        assert clinical.lower() not in (mail.subject + mail.body).lower(), clinical
    assert kinds(deps) == ["statement.ready", "statement.sending", "statement.sent"]


def test_a_mail_server_that_fails_twice_is_retried_and_sends_once(redis_url: str) -> None:
    mailer = FakeMailer(fail_first=2)
    deps, _ = ready(redis_url, mailer)
    for _ in range(2):
        with pytest.raises(PeerUnavailable):
            statement_delivery.send_statement(deps, CLAIM)
        assert deps.ledger.get(CLAIM).statement_delivery == "retrying"  # type: ignore[union-attr]
    statement_delivery.send_statement(deps, CLAIM)
    assert len(mailer.taken) == 1 and deps.ledger.get(CLAIM).statement_delivery == "sent"  # type: ignore[union-attr]
    errors = [e["error"] for e in deps.ledger.timeline(CLAIM) if e["kind"] == "statement.attempt_failed"]
    assert len(errors) == 2 and "451" in errors[0]


def test_retries_run_out_and_the_delivery_is_failed_with_the_reason(redis_url: str) -> None:
    deps, _ = ready(redis_url, FakeMailer(fail_first=99))
    with pytest.raises(PeerUnavailable):
        statement_delivery.send_statement(deps, CLAIM)
    statement_delivery.delivery_failed(deps, CLAIM)
    claim = deps.ledger.get(CLAIM)
    assert claim is not None and claim.statement_delivery == "failed" and "451" in (claim.statement_error or "")
    failed = [e for e in deps.ledger.timeline(CLAIM) if e["kind"] == "statement.failed"]
    assert len(failed) == 1 and "451" in failed[0]["reason"]


def test_a_permanent_refusal_fails_at_once(redis_url: str) -> None:
    deps, _ = ready(redis_url, FakeMailer(refuse=True))
    statement_delivery.send_statement(deps, CLAIM)
    claim = deps.ledger.get(CLAIM)
    assert claim is not None and claim.statement_delivery == "failed" and "550" in (claim.statement_error or "")


@pytest.mark.parametrize(("client", "reason"), [
    ({"email": None}, statement_delivery.NO_ADDRESS),
    ({"statement_opt_out": True}, statement_delivery.OPTED_OUT),
    ({"statement_schedule": "monthly"}, statement_delivery.MONTHLY),
])
def test_not_sent_with_the_reason(redis_url: str, client: dict[str, Any], reason: str) -> None:
    mailer = FakeMailer()
    deps, _ = ready(redis_url, mailer, **client)
    statement_delivery.send_statement(deps, CLAIM)
    assert mailer.calls == 0
    claim = deps.ledger.get(CLAIM)
    assert claim is not None and claim.statement_delivery == "skipped"
    skipped = [e for e in deps.ledger.timeline(CLAIM) if e["kind"] == "statement.not_sent"]
    assert [e["reason"] for e in skipped] == [reason]


def test_no_mail_server_configured_is_a_reason_too(redis_url: str) -> None:
    deps, _ = ready(redis_url, None)
    statement_delivery.send_statement(deps, CLAIM)
    assert deps.ledger.get(CLAIM).statement_delivery == "skipped"  # type: ignore[union-attr]


def test_a_worker_that_died_mid_send_is_resumed_and_the_client_gets_one_mail(redis_url: str) -> None:
    mailer = FakeMailer()
    mailer.die_before_commit = True
    deps, _ = ready(redis_url, mailer)
    with pytest.raises(SystemExit):
        statement_delivery.send_statement(deps, CLAIM)
    assert deps.ledger.get(CLAIM).statement_delivery == "sending"  # type: ignore[union-attr]
    mailer.die_before_commit = False
    statement_delivery.send_statement(deps, CLAIM)
    assert len(mailer.taken) == 1
    resumed = [e for e in deps.ledger.timeline(CLAIM) if e["kind"] == "statement.resumed"]
    assert len(resumed) == 1 and resumed[0]["outcome_unknown"] is False


def test_a_worker_that_died_after_the_commit_mark_is_resumed_and_says_the_outcome_is_unknown(redis_url: str) -> None:
    mailer = FakeMailer()
    deps, _ = ready(redis_url, mailer)
    deps.ledger.delivery_transition(CLAIM, ("queued",), "committing", kind=None)
    statement_delivery.send_statement(deps, CLAIM)
    resumed = [e for e in deps.ledger.timeline(CLAIM) if e["kind"] == "statement.resumed"]
    assert len(resumed) == 1 and resumed[0]["outcome_unknown"] is True
    assert deps.ledger.get(CLAIM).statement_delivery == "sent"  # type: ignore[union-attr]


def test_a_second_worker_waits_for_the_lease_of_the_first(redis_url: str) -> None:
    mailer = FakeMailer()
    deps, sent = ready(redis_url, mailer)
    with deps.ledger.lease(f"deliver:{CLAIM}", 2.0):
        statement_delivery.send_statement(deps, CLAIM)
    assert mailer.calls == 0 and sent == [(SEND_STATEMENT, CLAIM)]


def test_ops_resend_is_a_new_delivery_with_a_new_message_id(redis_url: str) -> None:
    mailer = FakeMailer()
    deps, sent = ready(redis_url, mailer)
    statement_delivery.send_statement(deps, CLAIM)
    result = statement_delivery.resend_statement(deps, deps.send, CLAIM, source="cli")
    assert result.ok, result.message
    assert sent == [(SEND_STATEMENT, CLAIM)]
    assert not statement_delivery.resend_statement(deps, deps.send, CLAIM, source="cli").ok  # under way
    statement_delivery.send_statement(deps, CLAIM)
    assert [m.message_id for m in mailer.taken] == [
        f"<statement.{CLAIM}.1.{deps.ledger.get(CLAIM).document_number}@practice.example>",  # type: ignore[union-attr]
        f"<statement.{CLAIM}.2.{deps.ledger.get(CLAIM).document_number}@practice.example>",  # type: ignore[union-attr]
    ]
    assert "statement.resend_requested" in kinds(deps)
    assert not statement_delivery.resend_statement(deps, deps.send, "nope", source="cli").ok


def test_ops_resend_refuses_an_opted_out_client(redis_url: str) -> None:
    deps, sent = ready(redis_url, FakeMailer(), statement_opt_out=True)
    statement_delivery.send_statement(deps, CLAIM)
    result = statement_delivery.resend_statement(deps, deps.send, CLAIM, source="cli")
    assert not result.ok and "opted out" in result.message and sent == []


def test_the_reconciler_redrives_a_lost_delivery_message(redis_url: str) -> None:
    deps, sent = ready(redis_url, FakeMailer())
    later = deps.ledger.get(CLAIM).updated_at + 1000  # type: ignore[union-attr]
    assert CLAIM in reconcile_once(deps, older_than_s=60, now=later)
    assert (SEND_STATEMENT, CLAIM) in sent
    sent.clear()
    statement_delivery.send_statement(deps, CLAIM)
    assert CLAIM not in reconcile_once(deps, older_than_s=60, now=later + 1000)  # sent: nothing left to do


def test_a_connection_lost_after_the_commit_mark_is_retried_and_says_the_outcome_is_unknown(redis_url: str) -> None:
    class LostAfterCommit(FakeMailer):
        def send(self, mail: StatementMail, *, before_commit: Callable[[], None] | None = None) -> None:
            self.calls += 1
            if self.calls == 1:
                assert before_commit is not None
                before_commit()
                raise PeerUnavailable("smtp", "SMTPServerDisconnected: Connection unexpectedly closed")
            self.taken.append(mail)

    mailer = LostAfterCommit()
    deps, _ = ready(redis_url, mailer)
    with pytest.raises(PeerUnavailable):
        statement_delivery.send_statement(deps, CLAIM)
    (failure,) = [e for e in deps.ledger.timeline(CLAIM) if e["kind"] == "statement.attempt_failed"]
    assert failure["outcome_unknown"] is True
    statement_delivery.send_statement(deps, CLAIM)
    assert [m.message_id for m in mailer.taken] == [deps.ledger.get(CLAIM).statement_message_id]  # type: ignore[union-attr]
