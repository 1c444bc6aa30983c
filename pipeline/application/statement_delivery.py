"""E-mailing a client's statement: exactly once per delivery, with retries, and what happened on the timeline.

A `statement_ready` claim owes its client one e-mail with the statement PDF, unless the client has no
address, opted out, or gets one statement a month. The delivery has its own small state machine next to the
claim's (final) status, changed only by compare-and-set in the ledger and only under the claim's delivery
lease:

    queued -> sending -> committing -> sent
                 |            |
                 +-> retrying +--> (retried: sending ...)      any unfinished one -> failed (with the reason)
    queued -> skipped (no address, opted out, monthly, e-mail not set up)

`sending` is recorded before the SMTP conversation, `committing` just before the final end-of-data mark that
makes the server take the message, `sent` after the server's 250. SMTP has no idempotency key, so a worker
killed mid-send leaves one of two states for the next worker:

- `sending`: the server never received the end-of-data mark and discarded the transaction: sending again is
  safe, the client gets one e-mail.
- `committing`: the server may or may not have taken the message (the window between our last byte and our
  `sent` write: the server's own processing and one Redis round trip, milliseconds). The e-mail is sent
  again, with the same Message-ID (mail programs that see both may show one), and the timeline says
  `outcome_unknown`. A duplicate e-mail is the lesser harm than a statement that never arrives.

A resend from ops starts a new delivery under a new Message-ID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import structlog

from pipeline.application import statements
from pipeline.application.errors import DocumentError, PeerRefused, PeerUnavailable, TransientError
from pipeline.application.ports import ClaimLedger, StatementMail, StepSender
from pipeline.application.stages import LEASE_MARGIN_MS, Deps, event_of
from pipeline.application.steps import SEND_STATEMENT
from pipeline.documents.statement_email import session_statement_email
from pipeline.domain.intake import parse_event_document
from schemas.claim import Claim
from schemas.event import SessionCompleted

log = structlog.get_logger(__name__)

UNFINISHED = ("queued", "sending", "committing", "retrying")
DONE = ("sent", "failed", "skipped")
_ADDRESS = re.compile(r"[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+\.[^\s@<>,;:\"()\[\]\\]+")

NO_ADDRESS = "no e-mail address on file"
OPTED_OUT = "the client opted out of statements by e-mail"
MONTHLY = "the client gets one statement a month"
NOT_SET_UP = "e-mail is not set up (SUPERBILL_SMTP_HOST)"


def usable_address(event: SessionCompleted) -> str | None:
    email = (event.client.email or "").strip()
    return email if _ADDRESS.fullmatch(email) else None


def schedule_of(deps: Deps, event: SessionCompleted) -> str:
    return event.client.statement_schedule or deps.practice.statements.schedule


def why_not_sent(deps: Deps, event: SessionCompleted, *, resend: bool, check_mailer: bool = True) -> str | None:
    """The reason this client's statement is not e-mailed, or None when it is. `check_mailer=False` leaves the
    mail server's settings to the worker that sends (a CLI or web process may not have them)."""
    if event.client.statement_opt_out:
        return OPTED_OUT
    if not (event.client.email or "").strip():
        return NO_ADDRESS
    if not resend and schedule_of(deps, event) == "monthly":
        return MONTHLY
    if check_mailer and deps.mailer is None:
        return NOT_SET_UP
    return None


def message_id(deps: Deps, claim: Claim) -> str:
    assert deps.mailer is not None
    domain = deps.mailer.sender.rpartition("@")[2].strip("<> ") or "superbill.invalid"
    return f"<statement.{claim.claim_id}.{claim.statement_sends or 1}.{claim.document_number}@{domain}>"


def statement_pdf(deps: Deps, claim: Claim, event: SessionCompleted) -> bytes:
    """The statement as the ops page and the CLI show it (rendered from the claim and its event, as read by the
    step: byte for byte the same)."""
    try:
        pdf = statements.render_statement(deps.practice, claim, event)
        if pdf is None:
            pdf = deps.ledger.get_statement(claim.claim_id)  # kept by an earlier version, or nothing
    except ValueError as exc:
        raise DocumentError(f"the statement could not be built: {exc}") from None
    if pdf is None:
        raise DocumentError(f"claim {claim.claim_id} has no statement")
    return pdf


def _mail(deps: Deps, claim: Claim, event: SessionCompleted, to: str) -> StatementMail:
    assert claim.document_number
    bill = claim.superbill or {}
    paid, due = bill.get("amount_paid"), bill.get("balance_due")
    text = session_statement_email(deps.practice, document_number=claim.document_number,
                                   date_of_service=event.date_of_service, replaces=claim.statement_replaces,
                                   amount_paid=Decimal(str(paid)) if paid is not None else None,
                                   balance_due=Decimal(str(due)) if due is not None else None)
    return StatementMail(to=to, subject=text.subject, body=text.body, message_id=message_id(deps, claim),
                         attachment_name=text.attachment_name, pdf=statement_pdf(deps, claim, event))


def send_statement(deps: Deps, claim_id: str) -> None:
    """The step: e-mail the claim's statement once (see the module's docstring)."""
    ledger = deps.ledger
    lease = f"deliver:{claim_id}"
    with ledger.lease_with_claim(lease, deps.lease_s, claim_id) as (got, claim, document):
        if not got:  # another worker is sending it, or died doing so: look again when its lease runs out
            deps.send(SEND_STATEMENT, claim_id, delay_ms=ledger.lease_remaining_ms(lease) + LEASE_MARGIN_MS)
            return
        if claim is None or claim.status != "statement_ready":
            return
        state = claim.statement_delivery or ""
        if state in DONE:
            return
        if document is None:
            raise KeyError(claim_id)
        event = parse_event_document(document)
        reason = why_not_sent(deps, event, resend=claim.statement_sends > 1)
        if reason is not None:
            ledger.delivery_transition(claim_id, ("", *UNFINISHED), "skipped", kind="statement.not_sent",
                                       reason=reason)
            return
        to = usable_address(event)
        try:
            if to is None:
                raise DocumentError("the e-mail address on file is not a usable address")
            mail = _mail(deps, claim, event, to)
        except DocumentError as exc:
            _failed(ledger, claim_id, str(exc))
            return
        if state in ("sending", "committing"):
            # the worker that recorded it died mid-send (its lease ran out)
            ledger.delivery_transition(claim_id, (state,), "sending", kind="statement.resumed",
                                       message_id=mail.message_id, outcome_unknown=state == "committing")
        elif not ledger.delivery_transition(claim_id, (state,), "sending", kind="statement.sending",
                                            fields={"statement_message_id": mail.message_id},
                                            message_id=mail.message_id):
            return
        committed = False

        def before_commit() -> None:
            nonlocal committed
            if not ledger.delivery_transition(claim_id, ("sending",), "committing", kind=None):
                raise TransientError(f"the statement delivery of {claim_id} changed while it was being sent")
            committed = True

        assert deps.mailer is not None
        try:
            deps.mailer.send(mail, before_commit=before_commit)
        except PeerUnavailable as exc:
            ledger.delivery_transition(claim_id, ("sending", "committing"), "retrying",
                                       kind="statement.attempt_failed", fields={"statement_error": str(exc)},
                                       error=str(exc), outcome_unknown=(committed and not exc.answered) or None)
            raise
        except PeerRefused as exc:
            _failed(ledger, claim_id, str(exc))
            return
        ledger.delivery_transition(claim_id, ("sending", "committing"), "sent", kind="statement.sent",
                                   fields={"statement_error": None, "statement_sent_at": deps.now().timestamp()},
                                   message_id=mail.message_id)
        log.info("statement.sent", claim_id=claim_id, message_id=mail.message_id)


def delivery_failed(deps: Deps, claim_id: str) -> None:
    """Retries ran out: the delivery is `failed` with the last error (not while a worker is sending it)."""
    with deps.ledger.lease(f"deliver:{claim_id}", deps.lease_s) as got:
        if not got:
            return
        claim = deps.ledger.get(claim_id)
        if claim is None:
            return
        _failed(deps.ledger, claim_id, claim.statement_error or "retries exhausted")


def _failed(ledger: ClaimLedger, claim_id: str, reason: str) -> None:
    if ledger.delivery_transition(claim_id, ("", *UNFINISHED), "failed", kind="statement.failed",
                                  fields={"statement_error": reason}, reason=reason):
        log.warning("statement.failed", claim_id=claim_id, reason=reason)


@dataclass(frozen=True)
class ResendResult:
    ok: bool
    message: str


def resend_statement(deps: Deps, send: StepSender, claim_id: str, *, source: str,
                     by: str | None = None) -> ResendResult:
    """Ops: e-mail the statement again (a new delivery, a new Message-ID), on the timeline with who asked."""
    claim = deps.ledger.get(claim_id)
    if claim is None:
        return ResendResult(False, "no such claim")
    if claim.status != "statement_ready":
        return ResendResult(False, f"only statement_ready claims are e-mailed to the client (this one is "
                                   f"{claim.status})")
    state = claim.statement_delivery or ""
    if state in UNFINISHED:
        return ResendResult(False, f"a delivery is under way ({state}); wait for it to finish")
    reason = why_not_sent(deps, event_of(deps, claim_id), resend=True, check_mailer=False)
    if reason is not None:
        return ResendResult(False, f"not sent: {reason}")
    if not deps.ledger.delivery_transition(claim_id, (state,), "queued", kind="statement.resend_requested",
                                           fields={"statement_sends": max(claim.statement_sends, 1) + 1,
                                                   "statement_error": None}, source=source, by=by):
        return ResendResult(False, "the delivery changed meanwhile; try again")
    send(SEND_STATEMENT, claim_id)
    return ResendResult(True, "queued: the statement will be e-mailed again")


def redrive_deliveries(deps: Deps, *, older_than_s: float, now: float) -> list[str]:
    """The reconciler's part: re-send the step of deliveries nobody has touched for a while."""
    redriven = []
    stale = deps.ledger.stale_deliveries(older_than=now - older_than_s)
    covered = deps.in_flight() if stale else set()
    for claim in deps.ledger.get_many(stale):
        if now - claim.updated_at < older_than_s or claim.status != "statement_ready":
            continue
        if claim.claim_id in covered:  # its message waits in a queue (a retry's delay) or runs
            continue
        deps.send(SEND_STATEMENT, claim.claim_id)
        deps.ledger.note(claim.claim_id, "reconciler.redrive", delivery=claim.statement_delivery)
        redriven.append(claim.claim_id)
    return redriven
