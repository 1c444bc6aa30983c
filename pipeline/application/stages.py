"""The pipeline's steps. Each loads the claim, checks it is in the status it expects (compare-and-set),
calls the pure rules, stores the result and names the next step. Running any step twice changes nothing.

The dramatiq actors are thin wrappers around these functions.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import structlog

from config.practice import Practice
from pipeline.application.alerts import alert_notice
from pipeline.application.errors import (
    DocumentError,
    PeerRefused,
    PeerUnavailable,
    SubmissionUnknown,
    TransientError,
)
from pipeline.application.evaluate import evaluate
from pipeline.application.ports import (
    AlertPort,
    BillingServicePort,
    ClaimLedger,
    ClearinghousePort,
    DeadLetterStore,
    InFlight,
    MetricsPort,
    PeerAnswer,
    QueueMonitor,
    RemittanceStore,
    StatementMailer,
    StepSender,
)
from pipeline.application.reason_codes import error_code
from pipeline.application.staff import StaffStore
from pipeline.application.steps import (
    ALERT,
    ASSEMBLE,
    ROUTE,
    SEND_STATEMENT,
    STATEMENT,
    SUBMIT_COURTESY,
    SUBMIT_DIRECT,
)
from pipeline.documents.courtesy import courtesy_payload
from pipeline.documents.superbill_pdf import render_superbill_pdf
from pipeline.documents.x12_837p import render_837p
from pipeline.domain import decide as rules
from pipeline.domain.claim_frequency import ORIGINAL, status_when_accepted
from pipeline.domain.intake import InputRejected, parse_event_document
from schemas.claim import Claim
from schemas.decision import Decision
from schemas.event import SessionCompleted

log = structlog.get_logger(__name__)

POLL_DELAY_MS = 2000
MAX_POLL_DELAY_MS = 15 * 60_000
LEASE_MARGIN_MS = 500


@dataclass
class Deps:
    ledger: ClaimLedger
    practice: Practice
    send: StepSender
    clearinghouse: ClearinghousePort | None = None
    billing_service: BillingServicePort | None = None
    alerts: AlertPort | None = None
    metrics: MetricsPort | None = None
    remittances: RemittanceStore | None = None
    mailer: StatementMailer | None = None  # None: statements are not e-mailed (no SMTP server configured)
    queues: QueueMonitor = lambda: []  # queue depths, for ops
    in_flight: InFlight = lambda: set()  # claims a queued or running message covers, for the reconciler
    dead: DeadLetterStore | None = None  # dramatiq's dead letters, for ops (`dead_letters`)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    lease_s: float = 60.0
    staff: StaffStore | None = None  # named accounts, sessions, tokens, the audit log (ops entry points)
    ack_wait_s: float = 7 * 86400  # a claim the peer took but never decided is `failed` after this
    timely_filing_warning_days: int = 150  # a claim not paid this long after its date of service is flagged

    def today(self) -> date:
        """Today where the practice is (its profile's `timezone`): the day statements are issued on, ages
        and timely filing count to, and what is owed is known up to."""
        return self.practice.practice.day_of(self.now())


def _event(deps: Deps, claim_id: str) -> SessionCompleted:
    return parse_event_document(deps.ledger.event_document(claim_id))


def event_of(deps: Deps, claim_id: str) -> SessionCompleted:
    """The claim's event, as amended."""
    return _event(deps, claim_id)


def _load(deps: Deps, claim_id: str, status: str) -> tuple[Claim, dict[str, Any]] | None:
    """The claim and its event document in one read, when the claim is in `status`."""
    claim, document = deps.ledger.get_with_event(claim_id)
    if claim is None or claim.status != status or document is None:
        return None
    return claim, document


def _decision(claim: Claim) -> Decision:
    return Decision.model_validate({
        "claim_id": claim.claim_id, "session_id": claim.session_id, "route": claim.route,
        "problems": claim.problems, "warnings": claim.warnings, "superbill": claim.superbill,
    })


# validate -> assemble -> route ---------------------------------------------------------------------------
def _event_or_park(deps: Deps, claim_id: str, status: str, document: dict[str, Any]) -> SessionCompleted | None:
    """The claim's event, or None once the claim is parked for ops with what is wrong, field by field. An
    event stored and checked at intake fails here only after an amendment that bypassed validation, or when
    it was stored under older, looser rules (a text longer than today's bound): the same event would fail
    every retry, so it goes to ops at once instead of ending `failed`."""
    try:
        return parse_event_document(document)
    except InputRejected as exc:
        problems = [{"code": "input_invalid", "message": f"{e.path}: {e.message}"} for e in exc.errors]
        moved, alerted = _end(deps, claim_id, status, "needs_attention", kind="validation.failed",
                              fields={"route": "needs_attention", "problems": problems})
        if moved:
            _finalised(deps, claim_id, "needs_attention", "needs_attention", [p["code"] for p in problems],
                       alerted=alerted)
        return None


def _load_event(deps: Deps, claim_id: str, status: str) -> tuple[Claim, SessionCompleted] | None:
    """The claim in `status` and its event read; None when it is elsewhere, or parked because its event can no
    longer be read (`_event_or_park`)."""
    loaded = _load(deps, claim_id, status)
    if loaded is None:
        return None
    event = _event_or_park(deps, claim_id, status, loaded[1])
    return None if event is None else (loaded[0], event)


def validate(deps: Deps, claim_id: str) -> None:
    loaded = _load_event(deps, claim_id, "received")
    if loaded is None:
        return
    event = loaded[1]
    _advance(deps, claim_id, "received", "validated", then=ASSEMBLE, kind="validated",
             fields=claim_index(event, claim_id), client_id=event.client.client_id)


def assemble(deps: Deps, claim_id: str) -> None:
    loaded = _load_event(deps, claim_id, "validated")
    if loaded is None:
        return
    draft = rules.assemble(loaded[1], deps.practice)
    superbill = draft.superbill.model_dump(mode="json") if draft.superbill else None
    charge = {"total_charge": superbill["total_charge"]} if superbill else {}  # the timeline keeps what was billed
    _advance(deps, claim_id, "validated", "assembled", then=ROUTE, kind="assembled", fields={"superbill": superbill},
             **charge)


def route(deps: Deps, claim_id: str) -> None:
    loaded = _load_event(deps, claim_id, "assembled")
    if loaded is None:
        return
    claim, event = loaded
    decision = decide_with_visits(deps.ledger, deps.practice, event, claim)
    fields = {
        "route": decision.route,
        "problems": [p.model_dump() for p in decision.problems],
        "warnings": [w.model_dump() for w in decision.warnings],
        "superbill": decision.superbill.model_dump(mode="json") if decision.superbill else None,
        "visit_referral": _referral_key(event) if decision.route == "direct_billing" else None,
    }
    then = _STEP_OF_ROUTE.get(decision.route)
    if then is not None:
        _advance(deps, claim_id, "assembled", "routed", then=then, kind="routed", fields=fields,
                 route=decision.route, problems=decision.problem_codes)
    elif deps.ledger.transition(claim_id, "assembled", "routed", kind="routed", fields=fields,
                                route=decision.route, problems=decision.problem_codes):
        _send_on(deps, claim_id, decision.route, decision.problem_codes)


def decide_with_visits(ledger: ClaimLedger, practice: Practice, event: SessionCompleted, claim: Claim) -> Decision:
    """The decision, with the VA referral's visits counted atomically in the ledger.

    A session uses at most one visit (the same session never counts twice); when two sessions race for
    the last visit exactly one gets it; a session whose claim does not go to direct billing uses none.
    """
    referral = _referral_key(event)
    used = ledger.visits_used(referral, excluding=event.session.session_id) if referral else 0
    decision = evaluate(event, practice, visits_used=used)
    if referral and event.va_referral and decision.route == "direct_billing":
        granted, used_by_others = ledger.reserve_visit(referral, event.session.session_id,
                                                       event.va_referral.visits_authorized)
        if not granted:
            decision = rules.decide(event, practice, visits_used=used_by_others)
    if referral and decision.route != "direct_billing":
        ledger.release_visit(referral, event.session.session_id)
    previous = claim.visit_referral
    if previous and previous != referral:
        ledger.release_visit(previous, event.session.session_id)
    return decision


def _referral_key(event: SessionCompleted) -> str | None:
    if event.coverage.kind != "va_ccn" or event.va_referral is None:
        return None
    return event.va_referral.referral_number.strip().upper()


def dispatch(deps: Deps, claim_id: str) -> None:
    """Send a routed claim on to the step of its route (also used by the reconciler)."""
    claim = deps.ledger.get(claim_id)
    if claim is None or claim.status != "routed" or claim.route is None:
        return
    _send_on(deps, claim_id, claim.route, [p.code for p in claim.problems])


_STEP_OF_ROUTE = {"statement_only": STATEMENT, "direct_billing": SUBMIT_DIRECT, "courtesy_submission": SUBMIT_COURTESY}


def _advance(deps: Deps, claim_id: str, expected: str, to: str, *, then: str, kind: str,
             fields: dict[str, Any], **detail: Any) -> bool:
    """Move the claim on and queue its next step: in one write when the ledger can, else sent after (`detail`:
    the timeline entry's, and the ledger's `client_id` and `queue_delivery`)."""
    moved, queued = deps.ledger.advance(claim_id, expected, to, then=then, kind=kind, fields=fields, **detail)
    if moved and not queued:
        deps.send(then, claim_id)
    return moved


def _send_on(deps: Deps, claim_id: str, route: str, problem_codes: list[str]) -> None:
    """A claim just routed (or found routed) goes on to its route's step."""
    if route == "needs_attention":
        moved, alerted = _end(deps, claim_id, "routed", "needs_attention", kind="needs_attention",
                              problems=problem_codes)
        if moved:
            _finalised(deps, claim_id, "needs_attention", route, problem_codes, alerted=alerted)
    elif route in _STEP_OF_ROUTE:
        deps.send(_STEP_OF_ROUTE[route], claim_id)


def claim_index(event: SessionCompleted, claim_id: str) -> dict[str, str]:
    """The claim's searchable facts (no patient data: payer, therapist, date of service)."""
    kind = event.coverage.kind
    payer = {"va_ccn": "VA CCN", "self_pay": "self pay"}.get(kind) or (event.coverage.payer_name or "")
    return {"payer": payer, "coverage_kind": kind, "therapist_id": event.session.therapist_id,
            "date_of_service": event.date_of_service.isoformat(), "client_id": event.client.client_id}


# statements ----------------------------------------------------------------------------------------------
def make_statement(deps: Deps, claim_id: str) -> None:
    """The statement gets its number and date; its PDF is rendered from them when asked for
    (`pipeline.application.statements`), and the client's e-mail is owed from here on, queued by the same write
    (`send_statement`; the reconciler finds a delivery whose message was lost). Run twice, the second run finds
    the claim ready and does nothing."""
    claim = deps.ledger.get(claim_id)
    if claim is None or claim.status != "routed" or claim.route != "statement_only":
        return
    number = document_number(deps.ledger.next_number("document"))
    fields = {"document_number": number, "statement_issued_on": deps.today().isoformat(),
              "statement_replaces": claim.document_number}
    if _advance(deps, claim_id, "routed", "statement_ready", then=SEND_STATEMENT, kind="statement.ready",
                fields=fields, document_number=number, queue_delivery=True):
        _finalised(deps, claim_id, "statement_ready", claim.route, [p.code for p in claim.problems])


def document_number(n: int) -> str:
    return f"SB-{n:06d}"


# submissions ---------------------------------------------------------------------------------------------
def submit_direct(deps: Deps, claim_id: str) -> None:
    assert deps.clearinghouse is not None
    peer = deps.clearinghouse

    def start(claim: Claim) -> dict[str, Any]:
        return {"control_number": deps.ledger.next_number("interchange"), "prepared_at": deps.now().timestamp()}

    def send(claim: Claim, event: SessionCompleted) -> PeerAnswer:
        assert claim.idempotency_key and claim.control_number
        try:
            x12 = render_837p(event, deps.practice, _decision(claim),
                              interchange_control_number=claim.control_number,
                              group_control_number=claim.control_number, created_at=_prepared_at(claim),
                              frequency_code=claim.frequency_code,
                              payer_claim_number=claim.payer_claim_number if claim.frequency_code != "1" else None)
        except ValueError as exc:  # the messages name fields, never patient data
            raise DocumentError(f"the 837P could not be built: {exc}") from None
        deps.ledger.keep_document(claim_id, f"837P sent under {claim.idempotency_key}", x12)
        return peer.submit(x12, idempotency_key=claim.idempotency_key)

    _submit(deps, claim_id, "direct_billing", peer.name, peer.lookup, start, send, SUBMIT_DIRECT)


def submit_courtesy(deps: Deps, claim_id: str) -> None:
    assert deps.billing_service is not None
    peer = deps.billing_service

    def start(claim: Claim) -> dict[str, Any]:
        return {"document_number": document_number(deps.ledger.next_number("document")),
                "prepared_at": deps.now().timestamp()}

    def send(claim: Claim, event: SessionCompleted) -> PeerAnswer:
        assert claim.idempotency_key and claim.document_number
        decision = _decision(claim)
        pdf = render_superbill_pdf(event, deps.practice, decision, document_number=claim.document_number,
                                   issued_on=deps.practice.practice.day_of(_prepared_at(claim)))
        payload = courtesy_payload(event, deps.practice, decision, document_number=claim.document_number)
        deps.ledger.keep_document(claim_id, f"courtesy payload sent under {claim.idempotency_key}",
                                  json.dumps({**payload, "pdf_base64": "(the superbill PDF)"}, indent=1, default=str))
        payload["pdf_base64"] = base64.b64encode(pdf).decode()
        return peer.submit(payload, idempotency_key=claim.idempotency_key)

    _submit(deps, claim_id, "courtesy_submission", peer.name, peer.lookup, start, send, SUBMIT_COURTESY)


def _prepared_at(claim: Claim) -> datetime:
    """When this submission was prepared: a resend under the same key sends the same document."""
    return datetime.fromtimestamp(claim.prepared_at or claim.status_changed_at, UTC)


def _submit(deps: Deps, claim_id: str, route_name: str, peer_name: str,
            lookup: Callable[[str], PeerAnswer | None], start: Callable[[Claim], dict[str, Any]],
            send: Callable[[Claim, SessionCompleted], PeerAnswer], step: str) -> None:
    """routed -> submitting (key recorded before the call) -> submitted -> accepted | rejected.

    A claim found in `submitting` is first asked about at the peer by its key: nothing is sent twice
    for one submission number. The claim and its event are read once, with the lease: what this step writes
    afterwards it also keeps in its copy of the claim.
    """
    ledger = deps.ledger
    lease = f"submit:{claim_id}"
    with ledger.lease_with_claim(lease, deps.lease_s, claim_id) as (got, claim, document):
        if not got:
            # Another worker is at the peer with this claim, or died there and its lease has not run out:
            # look again when it has, without spending this message's retries (running out of them would
            # mark the claim failed while the other worker may still get the peer's answer).
            wait_ms = ledger.lease_remaining_ms(lease) + LEASE_MARGIN_MS
            log.info("submission.busy", claim_id=claim_id, retry_in_ms=wait_ms)  # pragma: no mutate
            deps.send(step, claim_id, delay_ms=wait_ms)
            return
        if claim is None or claim.route != route_name:
            return
        answer: PeerAnswer | None = None
        if claim.status == "routed" and (earlier := _earlier_submission(deps, claim, peer_name, lookup)):
            key, answer = earlier
            if not ledger.transition(claim_id, "routed", "submitting", kind="submission.adopted",
                                     fields={"idempotency_key": key}, peer=peer_name, idempotency_key=key):
                return
            claim = claim.model_copy(update={"idempotency_key": key, "status": "submitting"})
            log.warning("submission.adopted", claim_id=claim_id,  # pragma: no mutate
                        peer=peer_name, idempotency_key=key)  # pragma: no mutate
        elif claim.status == "routed":
            key = f"{claim_id}-{claim.submission_no}"
            fields = {"idempotency_key": key, **start(claim)}
            if not ledger.transition(claim_id, "routed", "submitting", kind="submission.started",
                                     fields=fields, peer=peer_name, idempotency_key=key):
                return
            claim = claim.model_copy(update={**fields, "status": "submitting"})
        elif claim.status in ("submitting", "submitted"):
            assert claim.idempotency_key
            try:
                answer = lookup(claim.idempotency_key)
            except PeerUnavailable as exc:
                ledger.record_attempt(claim_id, error=str(exc), peer=peer_name)
                raise
            except SubmissionUnknown as exc:
                _fail(deps, claim_id, str(exc))
                return
            ledger.note(claim_id, "peer.lookup", peer=peer_name, key=claim.idempotency_key,
                        known=answer is not None)
        else:
            return
        if answer is None:
            if claim.status == "submitted":
                raise TransientError(f"{peer_name} does not know {claim.idempotency_key} yet")
            if document is None:
                raise KeyError(claim_id)
            event = _event_or_park(deps, claim_id, "submitting", document)  # the peer does not have it
            if event is None:
                return
            try:
                answer = send(claim, event)
            except PeerUnavailable as exc:
                ledger.record_attempt(claim_id, error=str(exc), peer=peer_name)
                raise
            except PeerRefused as exc:
                _reject(deps, claim, peer_name, exc.reasons or [str(exc)], status=exc.status)
                return
            except (DocumentError, SubmissionUnknown) as exc:
                _fail(deps, claim_id, str(exc))
                return
        _apply_answer(deps, claim, peer_name, answer, step)


def _earlier_submission(deps: Deps, claim: Claim, peer_name: str,
                        lookup: Callable[[str], PeerAnswer | None]) -> tuple[str, PeerAnswer] | None:
    """A resubmission first asks the peer about the claim's earlier keys: a submission whose retries ran out
    may have been taken without its answer ever arriving. One the peer took and did not reject is the
    claim's submission; sending the claim again would bill it twice. Keys whose answer the claim already had
    (the payer decided it, or the peer accepted it before a corrected or void claim followed) are not asked:
    that answer is not this submission's, and a void adopting its replacement's acceptance would never be sent."""
    for n in range(claim.submission_no - 1, _answered_up_to(deps, claim), -1):
        key = f"{claim.claim_id}-{n}"
        try:
            answer = lookup(key)
        except PeerUnavailable as exc:
            deps.ledger.record_attempt(claim.claim_id, error=str(exc), peer=peer_name)
            raise
        except SubmissionUnknown as exc:
            # The peer cannot say (a key past its replay window). Only ops gets a claim here: after that key's
            # claim was failed with this very reason and then amended, so a person has checked the peer.
            deps.ledger.note(claim.claim_id, "peer.lookup_unknown", peer=peer_name, key=key, reason=str(exc))
            continue
        if answer is not None and answer.file_accepted and answer.outcome != "rejected":
            return key, answer
    return None


# a submission the claim left from one of these statuses had its answer: the peer took it
_ANSWERED = frozenset({"accepted", "paid", "denied", "voided"})


def _answered_up_to(deps: Deps, claim: Claim) -> int:
    """The last submission whose answer the claim had: the one the payer's last decision was about, or a later
    one the peer accepted before the claim was resubmitted (a corrected or void claim sent meanwhile)."""
    answered = claim.remitted_submission_no or 0
    if claim.submission_no - 1 <= answered:  # nothing earlier to ask about: the timeline is not read
        return answered
    for entry in deps.ledger.timeline(claim.claim_id):
        if entry.get("kind") == "resubmitted" and entry.get("previous_status") in _ANSWERED:
            answered = max(answered, int(entry.get("previous_submission_no") or 0))
    return answered


def _apply_answer(deps: Deps, claim: Claim, peer: str, answer: PeerAnswer, step: str) -> None:
    """The peer's answer to the claim's submission (`claim`: as this step read and wrote it)."""
    ledger, claim_id = deps.ledger, claim.claim_id
    if answer.raw:
        ledger.keep_document(claim_id, f"{peer} answer to {claim.idempotency_key}",
                             json.dumps(answer.raw, indent=1, default=str))
    if not answer.file_accepted:
        _reject(deps, claim, peer, answer.reasons)
        return
    submitted_at = deps.now().timestamp()
    if ledger.transition(claim_id, "submitting", "submitted", kind="submitted", peer=peer,
                         fields={"peer_reference": answer.reference, "submitted_at": submitted_at},
                         reference=answer.reference):
        claim = claim.model_copy(update={"status": "submitted", "submitted_at": submitted_at})
    if answer.outcome == "accepted":
        to = status_when_accepted(claim.frequency_code or ORIGINAL)  # a void ends `voided`
        answered_at = time.time()
        if ledger.transition(claim_id, "submitted", to, kind=to, peer=peer,
                             fields={"peer_reference": answer.reference, "last_error": None},
                             reference=answer.reference, now=answered_at):
            log.info(f"claim.{to}", peer=peer, reference=answer.reference)  # pragma: no mutate
            _observe_latency(deps, claim, peer, answered_at)
        if to == "voided" and (current := ledger.get(claim_id)) is not None and current.status == "voided":
            _release_voided_visit(deps, current)
    elif answer.outcome == "rejected":
        _reject(deps, claim, peer, answer.reasons)
    else:
        since = claim.submitted_at or deps.now().timestamp()
        waited = deps.now().timestamp() - since
        if waited > deps.ack_wait_s:
            _fail(deps, claim_id, f"{peer} took the claim but gave no final answer in {waited / 3600:.0f} h")
            return
        ledger.note(claim_id, "peer.pending", peer=peer)
        deps.send(step, claim_id, delay_ms=poll_delay_ms(waited))


def _release_voided_visit(deps: Deps, claim: Claim) -> None:
    """A void the payer took un-bills the session: its VA visit is free for another session of the referral.
    Run again (a redelivered answer), it finds the visit already given back and changes nothing."""
    referral = claim.visit_referral or deps.ledger.visit_referral(claim.claim_id)
    if referral:
        deps.ledger.release_visit(referral, claim.session_id)


def poll_delay_ms(waited_s: float) -> int:
    """When to ask again about a submission the peer took but has not decided: often at first, then less;
    a quarter of the time waited so far, at least 2 s and at most 15 minutes."""
    return int(min(max(POLL_DELAY_MS, waited_s * 1000 / 4), MAX_POLL_DELAY_MS))


def _reject(deps: Deps, claim: Claim, peer: str, reasons: list[str], status: int | None = None) -> None:
    answered_at = time.time()
    moved, alerted = _end(deps, claim.claim_id, ("submitting", "submitted"), "rejected", kind="rejected", peer=peer,
                          fields={"peer_reasons": reasons}, reasons=reasons, http_status=status, now=answered_at)
    if moved:
        _observe_latency(deps, claim, peer, answered_at)
        _finalised(deps, claim.claim_id, "rejected", claim.route, [p.code for p in claim.problems], alerted=alerted)


def _observe_latency(deps: Deps, claim: Claim, peer: str, answered_at: float) -> None:
    """The submission latency (prepared -> the peer's final answer, recorded at `answered_at`), once per
    submission number."""
    if not claim.prepared_at:
        return
    if deps.metrics is not None:
        deps.metrics.record_latency(peer, max(0.0, answered_at - claim.prepared_at),
                                    once=f"{claim.claim_id}:{claim.submission_no}")


def send_alert(deps: Deps, claim_id: str) -> None:
    """POST the claim's short notice (no patient data) to the alert URL, when one is configured."""
    claim = deps.ledger.get(claim_id)
    if claim is None or deps.alerts is None:
        return
    deps.alerts.notify(alert_notice(claim))
    deps.ledger.note(claim_id, "alert.sent", status=claim.status)


def mark_failed(deps: Deps, claim_id: str, *, error: str | None = None) -> None:
    """Retries ran out: the claim is `failed` with its last error, and reported.

    Not while another worker holds the claim's submission lease: that worker's answer settles it.
    """
    with deps.ledger.lease(f"submit:{claim_id}", deps.lease_s) as got:
        if not got:
            log.info("claim.failed_skipped", claim_id=claim_id,  # pragma: no mutate
                     reason="another worker is submitting it")  # pragma: no mutate
            return
        _fail(deps, claim_id, error)


def _fail(deps: Deps, claim_id: str, error: str | None) -> None:
    claim = deps.ledger.get(claim_id)
    if claim is None or claim.is_final:
        return
    last = error or claim.last_error or "retries exhausted"
    moved, alerted = _end(deps, claim_id, ("routed", "submitting", "submitted"), "failed", kind="claim.failed",
                          fields={"last_error": last}, error=last)
    if moved:
        log.error("claim.failed", claim_id=claim_id, route=claim.route, attempts=claim.attempts, error=error_code(last))
        _finalised(deps, claim_id, "failed", claim.route, [p.code for p in claim.problems], alerted=alerted)


def _end(deps: Deps, claim_id: str, expected: str | tuple[str, ...], to: str, *, kind: str,
         fields: dict[str, Any] | None = None, now: float | None = None, **detail: Any) -> tuple[bool, bool]:
    """Move the claim to a final status ops is told about (`failed`, `rejected`, `needs_attention`), its alert
    queued by the same write when the ledger can: (moved, alert queued)."""
    return deps.ledger.advance(claim_id, expected, to, then=ALERT, kind=kind, fields=fields, now=now, **detail)


def _finalised(deps: Deps, claim_id: str, status: str, route: str | None, problems: list[str], *,
               alerted: bool = False) -> None:
    """Log the final status and queue the alert of a claim that just reached it, unless its move queued it
    (`alerted`)."""
    log.info("claim.final", claim_id=claim_id, status=status, route=route,  # pragma: no mutate
             problems=problems or [])  # pragma: no mutate
    if status in ("failed", "rejected", "needs_attention") and not alerted:
        deps.send(ALERT, claim_id)
