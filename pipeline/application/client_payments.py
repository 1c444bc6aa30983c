"""Recording a payment the client makes after the visit, shared by the CLI, the ops API and the ops page.

A payment adds to what was collected at the visit, attributed to the person who took it, as its own timeline
entry (`payment.recorded`: amount, method, the day it was received, by whom, the new amount paid and balance).
On a `statement_ready` claim the client's statement is replaced in the same atomic write: a new document
number whose `statement_replaces` is the old one, issued today, with the new amount paid and balance (a
balance of 0.00 makes it a paid-in-full statement: the client's receipt), and its e-mail queued as a new
delivery (sent once by the `send_statement` step; the reconciler finishes a delivery whose worker died). A
client who gets no statement e-mail (opted out, no address, one statement a month) is not e-mailed: the
delivery is `skipped` with the reason on the payment's timeline entry; the monthly statement shows the payment.

The payment is written only onto the version of the claim's event its maker saw (`based_on`, as amendments
are): a payment or an amendment recorded meanwhile (another tab, another person) refuses it, so one payment is
never recorded twice by two people at once. See `pipeline.domain.client_payment` for the rules.

A program that retries (it timed out, its connection dropped) gives the payment an idempotency key: the first
request with a key records the payment and keeps its answer under the key, per claim, in the same atomic write
(`KEEP_ANSWER_SECONDS`); the same request again answers what was kept (`replayed`) and records nothing; the same
key with another request is refused (`key_reused`). A request refused (nothing recorded) keeps nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.application.ops import NO_SUCH_CLAIM, event_version
from pipeline.application.ports import AnswerKept, EventChanged, KeptAnswer
from pipeline.application.stages import Deps, document_number
from pipeline.application.statement_delivery import why_not_sent
from pipeline.application.steps import SEND_STATEMENT
from pipeline.domain.client_payment import (
    apply_payment,
    balance_of,
    check_payment,
    parse_amount,
    where_refused,
)
from pipeline.domain.intake import InputRejected, parse_event_document

MAX_BY = 100
PAYMENT_CHANGED = ("not recorded: this claim changed after you opened it (a payment or an amendment was "
                   "recorded meanwhile, in another tab or by someone else). Reload the claim to see its balance as "
                   "it is now, then record the payment again if it is still owed")
CHANGED_WHILE_RECORDING = ("not recorded: this claim changed at the same moment (a payment or an amendment by "
                           "someone else); nothing of this payment was stored: read the claim again and record it "
                           "again if it is still owed")

IDEMPOTENCY_KEY = "Idempotency-Key"
KEEP_ANSWER_SECONDS = 24 * 60 * 60  # how long a payment's answer is kept under its idempotency key
MAX_IDEMPOTENCY_KEY = 128
_KEY_CHARACTERS = re.compile(r"[A-Za-z0-9._:-]+")
KEY_REUSED = ("not recorded: this Idempotency-Key was already used for a different payment on this claim "
              "(another amount, method, day, person or version); use a new key for a new payment")


@dataclass
class PaymentResult:
    ok: bool
    claim_id: str
    message: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)
    conflict: bool = False  # refused because the claim changed since it was read (`based_on`)
    amount: str | None = None
    method: str | None = None
    received_on: str | None = None
    amount_paid: str | None = None
    balance_due: str | None = None
    document_number: str | None = None
    replaces: str | None = None
    statement: str | None = None  # `queued` (to be e-mailed), `not e-mailed: <reason>`, or None (no statement)
    event_version: str | None = None
    replayed: bool = False  # the answer kept under the request's idempotency key: nothing was recorded again
    key_reused: bool = False  # refused: the idempotency key was used for a different payment

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _refused(claim_id: str, errors: list[tuple[str, str]], message: str = "the payment is not valid") -> PaymentResult:
    return PaymentResult(False, claim_id, message=message,
                         errors=[{"path": path, "message": text} for path, text in errors])


def idempotency_key_problem(key: str) -> str | None:
    """Why a client's idempotency key is not taken (None: it is)."""
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        return f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
    if not _KEY_CHARACTERS.fullmatch(key):
        return "may hold only letters, digits and . _ : - (a UUID is a good key)"
    return None


def _fingerprint(amount: str | Decimal, method: str, by: str, received_on: date | None,
                 based_on: str | None) -> str:
    """What a payment request asks for, so a retry under the same key can be told from another payment."""
    value = amount if isinstance(amount, Decimal) else parse_amount(amount)[0]
    asked = {"amount": f"{value:.2f}" if value is not None else str(amount), "method": method, "by": by.strip(),
             "received_on": received_on.isoformat() if received_on else None, "based_on": based_on}
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


def _replay(claim_id: str, kept: KeptAnswer | None, fingerprint: str) -> PaymentResult:
    if kept is None:  # kept a moment ago and expired since: only a request older than the keeping gets here
        return PaymentResult(False, claim_id, message=CHANGED_WHILE_RECORDING, conflict=True)
    if kept.fingerprint != fingerprint:
        return PaymentResult(False, claim_id, message=KEY_REUSED, key_reused=True,
                             errors=[{"path": IDEMPOTENCY_KEY, "message": KEY_REUSED.removeprefix("not recorded: ")}])
    answer = json.loads(kept.answer)
    return PaymentResult(**answer | {"event_version": kept.event_version or None, "replayed": True})


def record_payment(deps: Deps, claim_id: str, *, amount: str | Decimal, method: str, by: str, source: str,
                   received_on: date | None = None, based_on: str | None = None,
                   idempotency_key: str | None = None) -> PaymentResult:
    """Record a payment of `amount` by `method`, received on `received_on` (default: the practice's today),
    taken by `by`. Refused field by field (`errors`), for the claim's state (`message`), or because the claim
    changed since `based_on` (`conflict`). With an `idempotency_key`, a request made again answers what the
    first one did (`replayed`, nothing recorded again), and another request under the same key is refused
    (`key_reused`)."""
    claim, document = deps.ledger.get_with_event(claim_id)
    if claim is None or document is None:
        return PaymentResult(False, claim_id, message=NO_SUCH_CLAIM)
    fingerprint = ""
    if idempotency_key is not None:
        problem = idempotency_key_problem(idempotency_key)
        if problem is not None:
            return _refused(claim_id, [(IDEMPOTENCY_KEY, problem)], "the idempotency key is not valid")
        fingerprint = _fingerprint(amount, method, by, received_on, based_on)
        kept = deps.ledger.kept_payment(claim_id, idempotency_key)
        if kept is not None:
            return _replay(claim_id, kept, fingerprint)
    today = deps.today()
    errors: list[tuple[str, str]] = []
    who = by.strip()
    if not who:
        errors.append(("by", "is required: the name of the person who took the payment"))
    elif len(who) > MAX_BY:
        errors.append(("by", f"must be at most {MAX_BY} characters"))
    if isinstance(amount, Decimal):
        value: Decimal | None = amount
    else:
        value, why = parse_amount(amount)
        if why is not None:
            errors.append(("amount", why))
    if based_on is not None and based_on != event_version(claim.amended_at):
        return PaymentResult(False, claim_id, message=PAYMENT_CHANGED, conflict=True)
    refusal = where_refused(status=claim.status, route=claim.route, coverage_kind=claim.coverage_kind)
    if refusal is None and claim.superbill is None:
        refusal = "the claim has no superbill yet, so what is owed is not known: fix its problems first"
    if refusal is not None:
        return PaymentResult(False, claim_id, message=f"not recorded: {refusal}")
    payment = dict(document.get("payment") or {})
    balance = balance_of(claim.superbill, payment)
    date_of_service = date.fromisoformat(claim.date_of_service) if claim.date_of_service else None
    day = received_on or today
    errors += check_payment(amount=value, method=method,
                            received_on=day, balance_due=balance, date_of_service=date_of_service, today=today)
    if errors:
        return _refused(claim_id, errors)
    assert value is not None
    applied = apply_payment(payment=payment, superbill=claim.superbill, warnings=list(claim.warnings),
                            amount=value, method=method)
    amended = {**document, "payment": applied.payment}
    try:
        event = parse_event_document(amended)
    except InputRejected as exc:  # the event was valid before: only a payment section no longer valid can fail
        return _refused(claim_id, [(e.path, e.message) for e in exc.errors], "the claim's event would not be valid")
    fields: dict[str, Any] = {"superbill": applied.superbill,
                              "warnings": [w.model_dump() for w in applied.warnings] or None}
    detail: dict[str, Any] = {"amount": f"{value:.2f}", "method": method, "received_on": day.isoformat(),
                              "by": who, "source": source, "amount_paid": f"{applied.amount_paid:.2f}",
                              "balance_due": f"{applied.balance_due:.2f}"}
    delivery, statement, number = "", None, None
    if claim.status == "statement_ready":
        number = document_number(deps.ledger.next_number("document"))
        fields |= {"document_number": number, "statement_issued_on": today.isoformat(),
                   "statement_replaces": claim.document_number}
        reason = why_not_sent(deps, event, resend=False, check_mailer=False)
        delivery = "queue" if reason is None else "skip"
        statement = "queued" if reason is None else f"not e-mailed: {reason}"
        detail |= {"document_number": number, "replaces": claim.document_number, "statement_not_sent": reason}
    message = _recorded_message(number, applied.balance_due, claim.document_number, statement)
    result = PaymentResult(True, claim_id, message=message, amount=f"{value:.2f}", method=method,
                           received_on=day.isoformat(), amount_paid=f"{applied.amount_paid:.2f}",
                           balance_due=f"{applied.balance_due:.2f}", document_number=number,
                           replaces=claim.document_number if number else None, statement=statement)
    kept_answer = None
    if idempotency_key is not None:
        kept_answer = KeptAnswer(idempotency_key, fingerprint, json.dumps(result.as_dict()), KEEP_ANSWER_SECONDS)
    try:
        written, queued = deps.ledger.record_payment(
            # only in the status it was read in: what is written (a replacement statement or none) depends on it
            claim_id, amended, statuses=(claim.status,), based_on=based_on or event_version(claim.amended_at),
            fields=fields, delivery=delivery, then=SEND_STATEMENT if delivery == "queue" else None,
            kept=kept_answer, **detail)
    except AnswerKept:  # the same request, recorded at the same moment by another of its tries
        assert idempotency_key is not None
        return _replay(claim_id, deps.ledger.kept_payment(claim_id, idempotency_key), fingerprint)
    except EventChanged:
        return PaymentResult(False, claim_id, message=PAYMENT_CHANGED if based_on else CHANGED_WHILE_RECORDING,
                             conflict=True)
    if written is None:
        return PaymentResult(False, claim_id, message="not recorded: the claim changed status meanwhile; read it "
                                                      "again and try again")
    if delivery == "queue" and not queued:
        deps.send(SEND_STATEMENT, claim_id)
    result.event_version = written
    return result


def _recorded_message(number: str | None, balance_due: Decimal, replaced: str | None,
                      statement: str | None) -> str:
    if number is None:
        message = "payment recorded; the claim's statement shows it once the claim is fixed and sent on"
    elif balance_due == 0:
        message = f"payment recorded: paid in full; statement {number} (the client's receipt) replaces {replaced}"
    else:
        message = f"payment recorded: {balance_due:.2f} still due; statement {number} replaces {replaced}"
    if statement is not None:
        queued_text = "its e-mail to the client is queued (`claims show` says when it is sent)"
        message += "; " + (queued_text if statement == "queued" else statement)
    return message


def payment_applies(status: str, route: str | None, coverage_kind: str | None, superbill: Any) -> bool:
    """Whether a payment can be recorded on a claim in this state (the ops page offers its form then)."""
    return superbill is not None and where_refused(status=status, route=route, coverage_kind=coverage_kind) is None


def payments_of(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The payments recorded on a claim after its visit, oldest first."""
    return [e for e in timeline if e.get("kind") == "payment.recorded"]
