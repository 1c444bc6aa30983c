"""What ops can do, shared by the CLI, the ops API and the ops page: look, find, fix, resubmit."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from config.practice import Practice
from pipeline.application import client_identity
from pipeline.application.client_identity import ClientIdentity
from pipeline.application.evaluate import evaluate
from pipeline.application.event_changes import AMENDABLE_SECTIONS, differing_paths, pending_event
from pipeline.application.ingest import MAX_BODY_BYTES, Outcome, receive
from pipeline.application.ports import ClaimLedger, EventChanged, QueueMonitor, Refused, StepSender
from pipeline.application.reason_codes import claim_reason_codes
from pipeline.application.receivables import accounts_receivable
from pipeline.application.stages import claim_index
from pipeline.application.statements import has_statement
from pipeline.application.steps import SUBMISSION_STEP, VALIDATE
from pipeline.domain.claim_frequency import REPLACEMENT, VOID, resubmission_frequency
from pipeline.domain.codes import FILTERABLE_PROBLEMS, WARNING_ORDER
from pipeline.domain.intake import InputRejected, parse_event_document
from schemas.claim import AMENDABLE_STATUSES, FINAL_STATUSES, RESUBMITTABLE_STATUSES, STATUSES, Claim
from schemas.decision import Decision
from schemas.event import SessionCompleted, unknown_fields

TIMELY_FILING_WARNING_DAYS = 30
NO_SUCH_CLAIM = "no such claim"
# timeline entry kinds, as the last 24 hours count them
LAST_24H_KINDS = {"claim.failed": "failed", "statement.ready": "statement_ready", "remittance.payment": "paid",
                  "remittance.denial": "denied", "remittance.reversal": "reversed"}


@dataclass(frozen=True)
class ClaimFilter:
    status: str | None = None
    route: str | None = None
    payer: str | None = None
    therapist: str | None = None
    since: date | None = None  # date of service on or after
    until: date | None = None  # date of service on or before
    problem: str | None = None
    text: str | None = None  # client name, member id, claim or session id, a date of service (see `search`)

    def matches(self, claim: Claim) -> bool:
        if self.status and claim.status != self.status:
            return False
        if self.route and claim.route != self.route:
            return False
        if self.payer and self.payer.casefold() not in (claim.payer or "").casefold():
            return False
        if self.therapist and claim.therapist_id != self.therapist:
            return False
        dos = date.fromisoformat(claim.date_of_service) if claim.date_of_service else None
        if self.since and (dos is None or dos < self.since):
            return False
        if self.until and (dos is None or dos > self.until):
            return False
        return not (self.problem and self.problem not in [p.code for p in claim.problems])


def problem_filter_error(code: str) -> str | None:
    """Why a problem filter can never match (a warning code, or no code at all), or None: a mistyped code
    would otherwise list no claims, as if none had the problem."""
    if code in FILTERABLE_PROBLEMS:
        return None
    if code in WARNING_ORDER:
        return (f"{code} is a warning code, not a problem: the filter takes a problem code "
                f"({', '.join(FILTERABLE_PROBLEMS)})")
    return f"unknown problem code {code!r} (known: {', '.join(FILTERABLE_PROBLEMS)})"


def list_claims(ledger: ClaimLedger, flt: ClaimFilter) -> list[Claim]:
    ids = ledger.claim_ids(status=flt.status, route=flt.route)
    found = [c for c in ledger.get_many(ids) if flt.matches(c)]
    searched = _searched(ledger, flt, found)
    return [c for c in found if c.claim_id in searched]


def _searched(ledger: ClaimLedger, flt: ClaimFilter, claims: list[Claim]) -> set[str]:
    """The ids of those claims the filter's search text finds (all of them without a search)."""
    if not (flt.text and flt.text.strip()):
        return {c.claim_id for c in claims}
    people = identities(ledger, [c.claim_id for c in claims])
    return {c.claim_id for c in claims if c.claim_id in people and client_identity.matches(
        flt.text, people[c.claim_id], claim_id=c.claim_id, session_id=c.session_id,
        date_of_service=c.date_of_service)}


def identities(ledger: ClaimLedger, claim_ids: Iterable[str]) -> dict[str, ClientIdentity]:
    """Who each claim is for (patient data: for signed-in staff's screens only)."""
    return {cid: client_identity.identity_of(doc) for cid, doc in ledger.event_documents(list(claim_ids)).items()}


# pages ------------------------------------------------------------------------------------------------
class BadCursor(ValueError):
    pass


# `<time>:<id>`, the time a finite number: never `nan` or `inf` (floats to Python, no position in a Redis range)
CURSOR_PATTERN = r"-?[0-9]{1,15}(\.[0-9]+)?(e[+-]?[0-9]{1,2})?:[^:]+"


def _cursor(position: tuple[float, str]) -> str:
    return f"{position[0]!r}:{position[1]}"


def _position(cursor: str | None) -> tuple[float, str] | None:
    """Where a cursor says a page starts: after this time and id. A well-formed cursor is a position, not a
    key: the page starts there whether or not that item is still listed (it may have left the list)."""
    if cursor is None:
        return None
    if re.fullmatch(CURSOR_PATTERN, cursor) is None:
        raise BadCursor("is not a cursor this list gave out (copy next_cursor from the previous page)")
    score, _, member = cursor.partition(":")
    return float(score), member


def check_cursor(cursor: str) -> None:
    """BadCursor unless the cursor is a position in a list, as a page's next_cursor gives it."""
    _position(cursor)


def list_claims_page(ledger: ClaimLedger, flt: ClaimFilter, *, limit: int,
                     cursor: str | None = None) -> tuple[list[Claim], str | None]:
    """Up to `limit` matching claims after `cursor`, oldest first (by creation, or with a status by the
    time they reached it), and the cursor of the next page (None once the end of the list is reached).
    Reads the index a batch at a time: a page costs what it shows, plus the claims the filter skips."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    after, found = _position(cursor), []
    batch_size = max(limit, 100)
    while True:
        batch = ledger.claim_ids_after(status=flt.status, after=after, count=batch_size)
        claims = {c.claim_id: c for c in ledger.get_many([cid for cid, _ in batch])}
        searched = _searched(ledger, flt, list(claims.values()))
        for cid, score in batch:
            after = (score, cid)
            claim = claims.get(cid)
            if claim is not None and flt.matches(claim) and cid in searched:
                found.append(claim)
                if len(found) == limit:
                    return found, _cursor(after)
        if len(batch) < batch_size:
            return found, None


def list_refused_page(ledger: ClaimLedger, *, limit: int,
                      cursor: str | None = None) -> tuple[list[Refused], str | None]:
    """Up to `limit` refused events after `cursor`, oldest first, and the next page's cursor (or None)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    batch = ledger.refused_ids_after(after=_position(cursor), count=limit)
    found = [r for r in (ledger.get_refused(rid) for rid, _ in batch) if r is not None]
    return found, (_cursor((batch[-1][1], batch[-1][0])) if len(batch) == limit else None)


def show_claim(ledger: ClaimLedger, claim_id: str) -> dict[str, Any] | None:
    claim = ledger.get(claim_id)
    if claim is None:
        return None
    timeline = ledger.timeline(claim_id)
    if any(_kept_event(e) for e in timeline):  # what each later event of the session would change
        own = ledger.event_document(claim_id)
        timeline = [{**e, "differs_in": differing_paths(own, e["event"])} if _kept_event(e) else e for e in timeline]
        waiting = pending_event(own, timeline)
    else:
        waiting = None
    return {
        **claim.model_dump(mode="json"),
        "problems": [p.model_dump() for p in claim.problems],
        "warnings": [w.model_dump() for w in claim.warnings],
        "has_statement": has_statement(ledger, claim),
        "event_version": event_version(claim.amended_at),
        "timeline": timeline,
        "pending_event": waiting.as_dict(with_values=True) if waiting else None,
    }


def _kept_event(entry: dict[str, Any]) -> bool:
    return entry.get("kind") == "event.kept_for_review" and isinstance(entry.get("event"), dict)


# at a glance ------------------------------------------------------------------------------------------
# A claim of a submission route that is not accepted can only be in one of these statuses: the claims the
# timely-filing warning looks at (the open ones, and the failed and rejected ones waiting for a person).
_NOT_ACCEPTED = ("received", "validated", "assembled", "routed", "submitting", "submitted", "failed", "rejected")


def summary(ledger: ClaimLedger, queues: QueueMonitor, *, today: date | None = None,
            now: float | None = None, timely_filing_warning_days: int = 150) -> dict[str, Any]:
    """Counts from the ledger's indexes; only the claims it lists are read (never the whole ledger): the open
    ones, and for timely filing those not paid (`timely_filing`, as `superbill ar` lists it)."""
    now = time.time() if now is None else now
    today = today or datetime.fromtimestamp(now, UTC).date()
    by_status = ledger.count_by_status()
    total = sum(by_status.values())
    by_route = {r: n for r, n in ledger.count_by_route().items() if n}
    if total - sum(by_route.values()) > 0:
        by_route["(not routed yet)"] = total - sum(by_route.values())
    # The claims with a timeline entry in the last 24 hours (a status change, and also an amendment, a
    # resubmission, a note): only those timelines are read, from the first entry of the window on.
    since = now - 86400
    active = dict.fromkeys([*ledger.claim_ids_since(since, statuses=STATUSES), *ledger.claim_ids_active_since(since)])
    history = ledger.timelines_since(list(active), since)
    kinds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for entries in history.values():
        for entry in entries:
            kind = entry.get("kind", "")
            kinds[LAST_24H_KINDS.get(kind, kind)] += 1
            if kind == "rejected":
                for reason in entry.get("reasons") or ["unknown"]:
                    reasons[f"rejected: {reason}"] += 1
            elif kind == "claim.failed":
                reasons[f"failed: {entry.get('error') or 'unknown'}"] += 1
    open_ids = [cid for s in _NOT_ACCEPTED if by_status.get(s) for cid in ledger.claim_ids(status=s)]
    late = [
        {"claim_id": c.claim_id, "status": c.status, "date_of_service": c.date_of_service,
         "age_days": (today - date.fromisoformat(c.date_of_service)).days}
        for c in ledger.get_many(open_ids)
        if c.date_of_service and c.status not in ("accepted", "paid")
        and c.route in ("direct_billing", "courtesy_submission")
        and (today - date.fromisoformat(c.date_of_service)).days > TIMELY_FILING_WARNING_DAYS
    ]
    rows = queues()
    return {
        "queues": rows,
        "claims": {"total": total, "by_status": {s: by_status.get(s, 0) for s in STATUSES},
                   "by_route": by_route},
        "last_24h": {"failed": kinds["failed"], "rejected": kinds["rejected"],
                     "by_reason": dict(reasons.most_common()),
                     "events": {k: kinds[k] for k in ("received", "accepted", "rejected", "failed",
                                                      "needs_attention", "statement_ready", "amended",
                                                      "resubmitted", "voided", "paid", "denied",
                                                      "reversed")}},
        "past_timely_filing_warning": sorted(late, key=lambda x: -x["age_days"]),
        "timely_filing": timely_filing(ledger, today=today, warning_days=timely_filing_warning_days),
        "needs_attention": by_status.get("needs_attention", 0),
        "refused_events": ledger.count_refused(),
        "waiting_without_worker": waiting_without_worker(rows),
    }


# what the A/R's timely-filing list can name: a claim not paid (a paid one is filed), nor only a statement
_MAY_BE_AT_RISK = tuple(s for s in STATUSES if s not in ("paid", "statement_ready"))


def timely_filing(ledger: ClaimLedger, *, today: date, warning_days: int) -> dict[str, Any]:
    """The A/R's timely-filing list (`superbill ar`): the direct-billing claims not paid and the VA sessions still
    needing attention, `warning_days` or more after the visit, each with its `days_left` of the payer's limit,
    oldest first. Reads the date of service of the claims in the statuses that can be on it (never the paid ones),
    and whole only those old enough to be."""
    ids = [cid for s in _MAY_BE_AT_RISK for cid in ledger.claim_ids(status=s)]
    old_enough = [cid for cid, dos in ledger.dates_of_service(ids).items()
                  if (today - date.fromisoformat(dos)).days >= warning_days]
    watched = [c for c in ledger.get_many(old_enough) if c.route in ("direct_billing", "needs_attention")]
    found: dict[str, Any] = accounts_receivable(watched, today=today, warning_days=warning_days)["timely_filing"]
    return found


def waiting_without_worker(queues: list[dict[str, Any]]) -> int:
    """The step messages queued (ready or delayed) while no worker process runs to take them: nothing moves,
    resubmitted claims included, until one starts. 0 while a worker runs (or nothing waits)."""
    if any(q.get("workers", 1) for q in queues):
        return 0
    return sum(int(q["ready"]) + int(q["delayed"]) for q in queues)


# fix --------------------------------------------------------------------------------------------------
@dataclass
class AmendResult:
    ok: bool
    claim_id: str
    changed: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    message: str = ""


NOTHING_CHANGED = "nothing changed: the claim already has these values"
CHANGED_MEANWHILE = ("not saved: this claim's data was amended after you opened it (in another tab, or by "
                     "someone else); what you typed is kept below. Reload the claim to see its data as it is now, "
                     "then make your change again")
# the same, for a corrected claim: nothing was sent either
NOT_SENT_CHANGED = CHANGED_MEANWHILE.replace("not saved", "not sent", 1)
# and for a void, which has no typed data to keep
VOID_NOT_SENT_CHANGED = ("not sent: this claim's data was amended after you opened it (in another tab, or by someone "
                         "else). Reload the claim to see its data as it is now, then void it if it should still go")
CHANGED_WHILE_SAVING = ("not saved: this claim's data was amended by someone else at the same moment, after this "
                        "change read it; nothing of this change was stored: read the claim again and make your "
                        "change again")
NOT_SENT_WHILE_SAVING = CHANGED_WHILE_SAVING.replace("not saved", "not sent", 1)
CHANGED_BEFORE_SENDING = ("not sent: your amendment is saved, but someone else amended this claim right after it, "
                          "before the corrected claim went out; read the claim again and send it once you have "
                          "checked their change")


def event_version(amended_at: float | None) -> str:
    """Which amendment of its event a claim is at (`0` before any): a form opened at one version saves only onto
    that version, so a change made meanwhile (another tab, another person) is never silently overwritten."""
    return f"{amended_at:.6f}" if amended_at else "0"


def merged_event(document: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The event with an amendment applied: prescription and referral replaced whole, the other sections
    merged one level deep, a section set to null removed."""
    merged = dict(document)
    for section, value in patch.items():
        if value is None:
            merged.pop(section, None)
        elif isinstance(value, dict) and isinstance(merged.get(section), dict) and section != "prescription" \
                and section != "va_referral":
            merged[section] = {**merged[section], **value}
        else:
            merged[section] = value
    return merged


def check_amendment(claim: Claim, document: dict[str, Any],
                    patch: dict[str, Any]) -> tuple[SessionCompleted | None, dict[str, Any], AmendResult | None]:
    """The amended event, or why the amendment cannot be taken (unknown sections, misspelled fields, an
    invalid event, another session)."""
    claim_id = claim.claim_id
    unknown = [k for k in patch if k not in AMENDABLE_SECTIONS]
    if unknown:
        return None, document, AmendResult(False, claim_id, message="the amendment names sections that cannot "
                                           "be amended", errors=[
            {"path": k, "message": f"cannot be amended (allowed: {', '.join(AMENDABLE_SECTIONS)})"}
            for k in unknown])
    misspelled = unknown_fields(patch)
    if misspelled:
        return None, document, AmendResult(
            False, claim_id, message="the amendment names fields an event does not have", errors=[
                {"path": where, "message": "is not a field of the event"
                 + (f"; did you mean {close!r}?" if close else "")} for where, close in misspelled])
    merged = merged_event(document, patch)
    size = len(json.dumps(merged, ensure_ascii=False).encode())
    if size > MAX_BODY_BYTES:  # no larger than a new event may be: amending is no way around intake's limit
        return None, merged, AmendResult(False, claim_id, message="the amended event would be too large", errors=[
            {"path": "(body)", "message": f"the amended event would be {size} bytes; an event is at most "
                                          f"{MAX_BODY_BYTES}"}])
    try:
        event = parse_event_document(merged)
    except InputRejected as exc:
        return None, merged, AmendResult(False, claim_id, errors=[e.model_dump() for e in exc.errors],
                                         message="the amended event is not valid")
    if event.session.session_id != claim.session_id:
        return None, merged, AmendResult(False, claim_id, message="the session id of a claim cannot change",
                                         errors=[{"path": "session.session_id",
                                                  "message": "cannot change the session of a claim"}])
    return event, merged, None


def amend(ledger: ClaimLedger, claim_id: str, patch: dict[str, Any], *, source: str,
          by: str | None = None, based_on: str | None = None) -> AmendResult:
    """Attach or replace sections of the claim's event (prescription, VA referral, client, coverage, ...).

    Validated like an event; recorded on the timeline; a claim on its way to or at a peer, or accepted,
    cannot be changed in place. With `based_on` (the `event_version` the change was made from), refused when
    the claim was amended since.
    """
    claim = ledger.get(claim_id)
    if claim is None:
        return AmendResult(False, claim_id, message=NO_SUCH_CLAIM)
    if based_on is not None and based_on != event_version(claim.amended_at):
        return AmendResult(False, claim_id, message=CHANGED_MEANWHILE)
    if not patch:
        return AmendResult(False, claim_id, message="nothing to amend", errors=[
            {"path": "(body)", "message": f"names no section to amend (allowed: {', '.join(AMENDABLE_SECTIONS)})"}])
    if any(k not in AMENDABLE_SECTIONS for k in patch) or unknown_fields(patch):
        return check_amendment(claim, {}, patch)[2] or AmendResult(False, claim_id)
    if claim.status not in AMENDABLE_STATUSES:
        return AmendResult(False, claim_id, message=f"a claim in status {claim.status} cannot be amended in "
                           "place; only received, needs_attention, rejected, failed and denied claims can")
    document = ledger.event_document(claim_id)
    event, merged, refused = check_amendment(claim, document, patch)
    if refused is not None or event is None:
        return refused or AmendResult(False, claim_id)
    if merged == document:  # the claim has these values already: nothing to record, nothing to resubmit for
        return AmendResult(True, claim_id, message=NOTHING_CHANGED)
    changed = sorted(patch)
    try:  # written only onto the version it was made from (read with the claim, before its event): atomically
        written = ledger.replace_event(claim_id, merged, index=claim_index(event, claim_id), changed=changed,
                                       source=source, by=by, based_on=based_on or event_version(claim.amended_at))
    except EventChanged:
        return AmendResult(False, claim_id, message=CHANGED_MEANWHILE if based_on else CHANGED_WHILE_SAVING)
    if not written:
        return AmendResult(False, claim_id, message="the claim changed status meanwhile; try again")
    return AmendResult(True, claim_id, changed=changed, message="amended; resubmit it to apply")


# corrected and void claims ------------------------------------------------------------------------------
CORRECTABLE_STATUSES = ("paid", "denied", "accepted")
FREQUENCY = {"replacement": REPLACEMENT, "void": VOID}


def correct(ledger: ClaimLedger, claim_id: str, send: StepSender, *, kind: str, practice: Practice,
            patch: dict[str, Any] | None = None, source: str, by: str | None = None,
            based_on: str | None = None) -> AmendResult:
    """Send a replacement (frequency 7, optionally with amended data) or a void (8) of a claim the payer
    adjudicated, quoting its claim number (REF*F8), through the same exactly-once submission path under the
    next submission number. Refused when the payer has given no claim number yet (then a fixed claim goes
    as a new original: `resubmit`). With `based_on` (the `event_version` the change was made from), refused
    when the claim was amended since, as `amend` is. A replacement whose data the rules would not bill
    directly (a prescription made invalid, a referral that does not cover the session) is refused before
    anything is stored or sent: the claim keeps what the payer decided."""
    claim = ledger.get(claim_id)
    if claim is None:
        return AmendResult(False, claim_id, message=NO_SUCH_CLAIM)
    if claim.route != "direct_billing":
        return AmendResult(False, claim_id, message="only claims sent to the clearinghouse can be corrected "
                           "or voided")
    if not claim.payer_claim_number:
        return AmendResult(False, claim_id, message="the payer has not given this claim a claim number yet (no "
                           "remittance): there is nothing to correct or void; a rejected or failed claim is "
                           "fixed and resubmitted as a new original")
    if claim.status == "voided" or claim.frequency_code == VOID:
        return AmendResult(False, claim_id, message="this claim was voided")
    if claim.status not in CORRECTABLE_STATUSES:
        return AmendResult(False, claim_id, message=f"a claim in status {claim.status} cannot be "
                           f"{'voided' if kind == 'void' else 'corrected'}; only {', '.join(CORRECTABLE_STATUSES)}"
                           " claims can")
    if based_on is not None and based_on != event_version(claim.amended_at):
        return AmendResult(False, claim_id, message=VOID_NOT_SENT_CHANGED if kind == "void" else NOT_SENT_CHANGED)
    event: SessionCompleted | None = None
    merged: dict[str, Any] = {}
    document: dict[str, Any] = {}
    if patch or kind == "replacement":
        document = ledger.event_document(claim_id)
        event, merged, refused = check_amendment(claim, document, patch or {})
        if refused is not None or event is None:
            return refused or AmendResult(False, claim_id)
    if kind == "replacement" and event is not None:
        blocked = _not_billable_directly(ledger, practice, event)
        if blocked is not None:
            return AmendResult(False, claim_id, errors=blocked, message=(
                "the corrected claim would need attention, not go to the payer; nothing was stored or "
                f"sent and the claim stays {claim.status}: correct what is named, then send it again"))
    changed: list[str] = []
    seen = based_on or event_version(claim.amended_at)  # the data this correction is sent with
    if event is not None and patch and merged != document:  # amended, then sent again
        changed = sorted(patch)
        try:
            written = ledger.replace_event(claim_id, merged, index=claim_index(event, claim_id), changed=changed,
                                           source=source, by=by, statuses=CORRECTABLE_STATUSES, based_on=seen)
        except EventChanged:
            return AmendResult(False, claim_id, message=NOT_SENT_CHANGED if based_on else NOT_SENT_WHILE_SAVING)
        if not written:
            return AmendResult(False, claim_id, message="the claim changed status meanwhile; try again")
        seen = written  # this request's own amendment, and nobody else's since
    try:  # sent only with the data its sender saw (or just wrote), checked in the same step as the status change
        moved = ledger.resubmit(claim_id, source=source, by=by, frequency_code=FREQUENCY[kind],
                                statuses=CORRECTABLE_STATUSES, based_on=seen)
    except EventChanged:
        if changed:  # amended by someone else between this amendment and its sending: not sent with theirs
            return AmendResult(False, claim_id, changed=changed, message=CHANGED_BEFORE_SENDING)
        changed_since = VOID_NOT_SENT_CHANGED if kind == "void" else NOT_SENT_CHANGED
        return AmendResult(False, claim_id, message=changed_since if based_on else NOT_SENT_WHILE_SAVING)
    if not moved:
        return AmendResult(False, claim_id, changed=changed, message="the claim changed status meanwhile; "
                           + ("its amendment is kept: " if changed else "") + "try again")
    send(VALIDATE, claim_id)
    what = "a void" if kind == "void" else "a corrected claim"
    return AmendResult(True, claim_id, changed=changed,
                       message=f"{what} of payer claim {claim.payer_claim_number} is on its way "
                               f"(submission #{claim.submission_no + 1})")


def _not_billable_directly(ledger: ClaimLedger, practice: Practice,
                           event: SessionCompleted) -> list[dict[str, str]] | None:
    """Why the rules would not send this event to the clearinghouse (one error per problem), or None when
    they would: counted with the VA visits the other sessions use, as the route step counts them."""
    decision = evaluate(event, practice, visits_used=_visits_used_by_others(ledger, event))
    if decision.route == "direct_billing":
        return None
    return [{"path": "(correction)", "message": f"{p.code}: {p.message}"} for p in decision.problems] or [
        {"path": "(correction)", "message": f"the rules route it {decision.route}"}]


def _visits_used_by_others(ledger: ClaimLedger, event: SessionCompleted) -> int:
    referral = (event.va_referral.referral_number.strip().upper()
                if event.coverage.kind == "va_ccn" and event.va_referral else None)
    return ledger.visits_used(referral, excluding=event.session.session_id) if referral else 0


# dry run ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preview:
    """The decision an amendment (or none) would give the claim now, without storing anything."""

    decision: Decision | None
    amend: AmendResult | None = None  # why the amendment cannot be taken, when it cannot

    def as_dict(self) -> dict[str, Any]:
        if self.decision is None:
            return {"ok": False, **({"errors": self.amend.errors, "message": self.amend.message}
                                    if self.amend else {})}
        return {"ok": True, "route": self.decision.route, "problems": [p.model_dump() for p in self.decision.problems],
                "warnings": [w.model_dump() for w in self.decision.warnings]}


def preview(ledger: ClaimLedger, practice: Practice, claim_id: str,
            patch: dict[str, Any] | None = None) -> Preview | None:
    """A dry run of the rules on the claim's event with `patch` applied, counting the VA visits other
    sessions already use (as the route step will). None when there is no such claim."""
    claim = ledger.get(claim_id)
    if claim is None:
        return None
    event, _, refused = check_amendment(claim, ledger.event_document(claim_id), patch or {})
    if event is None:
        return Preview(None, refused)
    return Preview(evaluate(event, practice, visits_used=_visits_used_by_others(ledger, event)))


def amended_since_decided(claim: Claim) -> bool:
    """A claim waiting for a person (needs attention, rejected, failed, denied) whose data was amended after it got
    there: its recorded reasons are those of the data before the amendment."""
    return (claim.status in RESUBMITTABLE_STATUSES and bool(claim.amended_at)
            and (claim.amended_at or 0) >= (claim.status_changed_at or 0))


def outlook(ahead: Preview) -> dict[str, Any]:
    """What a resubmission would make of the claim now: its route and problem codes (a stored event the rules
    can no longer read is parked again, `input_invalid`)."""
    if ahead.decision is None:
        return {"route": "needs_attention", "problems": ["input_invalid"]}
    return {"route": ahead.decision.route, "problems": [p.code for p in ahead.decision.problems]}


def unchanged_reasons(claim: Claim, ahead: Preview | None) -> list[str]:
    """A needs-attention claim whose dry run still needs attention for the same problems: resubmitting it
    would only end where it is (and alert again). Its problem codes then; else nothing. A claim parked because
    its stored event could not be read (`input_invalid`) is unchanged while it still cannot be."""
    if claim.status != "needs_attention" or ahead is None:
        return []
    was = sorted({p.code for p in claim.problems})
    if ahead.decision is None:
        return was if was == ["input_invalid"] else []
    if ahead.decision.route != "needs_attention":
        return []
    now = sorted({p.code for p in ahead.decision.problems})
    return now if now == was else []


# resubmit ---------------------------------------------------------------------------------------------
@dataclass
class ResubmitResult:
    resubmitted: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # sent again under their own, never-answered key
    skipped: list[dict[str, str]] = field(default_factory=list)
    dry_run: bool = False
    # a dry run's outlook: what the rules give each claim it would resubmit, now (the first PREVIEWS_AT_MOST)
    previews: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        answer = {"resubmitted": self.resubmitted, "resumed": self.resumed, "skipped": self.skipped,
                  "dry_run": self.dry_run, "count": len(self.resubmitted)}
        return {**answer, "previews": self.previews} if self.dry_run else answer


PREVIEWS_AT_MOST = 100  # each runs the rules (a VA claim's 837P pre-flight too): a dry run stays quick


def never_answered(claim: Claim) -> bool:
    """A failed claim whose submission the peer may have taken without its answer arriving, and whose data
    has not changed since: it must go again under its own key, never under a new one (that could bill it
    twice while the peer is still taking the first). A new submission number only after a definite no."""
    if claim.status != "failed" or not claim.idempotency_key or claim.route not in SUBMISSION_STEP:
        return False
    return not (claim.amended_at and claim.amended_at > (claim.prepared_at or 0))


def select_for_resubmit(ledger: ClaimLedger, flt: ClaimFilter) -> list[str]:
    if flt.status and flt.status not in RESUBMITTABLE_STATUSES:
        raise ValueError(f"only {', '.join(sorted(RESUBMITTABLE_STATUSES))} claims can be resubmitted")
    statuses = [flt.status] if flt.status else sorted(RESUBMITTABLE_STATUSES)
    found: list[str] = []
    for status in statuses:
        found += [c.claim_id for c in list_claims(ledger, ClaimFilter(**{**flt.__dict__, "status": status}))]
    return found


def resubmit(ledger: ClaimLedger, claim_ids: Iterable[str], send: StepSender, *, source: str,
             dry_run: bool = False, progress: Callable[[str], None] | None = None, by: str | None = None,
             practice: Practice | None = None, anyway: bool = False) -> ResubmitResult:
    """Each claim at most once per request, even if listed twice; only resubmittable claims move.

    With the practice, a needs-attention claim whose dry run still needs attention for the same problems
    is skipped with those problems, unless `anyway`."""
    result = ResubmitResult(dry_run=dry_run)
    for claim_id in dict.fromkeys(claim_ids):
        claim = ledger.get(claim_id)
        same: list[str] = []
        ahead: Preview | None = None
        if claim is not None and claim.status == "needs_attention" and practice is not None and not anyway:
            ahead = preview(ledger, practice, claim_id)
            same = unchanged_reasons(claim, ahead)
        if claim is None:
            result.skipped.append({"claim_id": claim_id, "reason": NO_SUCH_CLAIM})
        elif claim.status not in RESUBMITTABLE_STATUSES:
            result.skipped.append({"claim_id": claim_id, "reason": f"status is {claim.status}"})
        elif same:
            result.skipped.append({"claim_id": claim_id, "reason": "still needs attention for the same "
                                   f"reasons: {', '.join(same)}; fix the data first, or resubmit anyway",
                                   "unchanged": ",".join(same)})
        elif dry_run:
            result.resubmitted.append(claim_id)
            if never_answered(claim):
                result.resumed.append(claim_id)
            elif practice is not None and len(result.previews) < PREVIEWS_AT_MOST:
                ahead = ahead or preview(ledger, practice, claim_id)
                if ahead is not None:
                    result.previews[claim_id] = outlook(ahead)
        elif never_answered(claim):
            if ledger.resume_submission(claim_id, source=source, by=by):
                assert claim.route is not None
                send(SUBMISSION_STEP[claim.route], claim_id)
                result.resubmitted.append(claim_id)
                result.resumed.append(claim_id)
            else:
                result.skipped.append({"claim_id": claim_id, "reason": "changed status meanwhile"})
        elif ledger.resubmit(claim_id, source=source, by=by, anyway=anyway and claim.status == "needs_attention",
                             frequency_code=resubmission_frequency(claim.frequency_code, claim.status)):
            send(VALIDATE, claim_id)
            result.resubmitted.append(claim_id)
        else:
            result.skipped.append({"claim_id": claim_id, "reason": "changed status meanwhile"})
        if progress:
            progress(claim_id)
    return result


# refused events ----------------------------------------------------------------------------------------
ALREADY_REPLAYED = 409


def replay_refused(ledger: ClaimLedger, refused_id: str, send: StepSender,
                   body: bytes | None = None, *, again: bool = False) -> Outcome | None:
    """Send a refused event through the ingest path again (optionally with a corrected body).

    Once a replay was taken, the record keeps naming the claim it became: a later replay is refused
    (`ALREADY_REPLAYED`, naming the claim) unless `again`, and even then one refused again does not replace
    the taken outcome (it is stored as a refused event of its own, as always)."""
    refused = ledger.get_refused(refused_id)
    if refused is None:
        return None
    taken_as = refused.replayed_into()
    if taken_as is not None and not again:
        return Outcome(ALREADY_REPLAYED, {
            "status": "already_replayed", "claim_id": taken_as,
            "errors": [{"path": "(refused event)", "message": f"{refused_id} was already replayed as claim "
                        f"{taken_as}; replay it again only on purpose (`superbill refused replay --again`)"}]})
    outcome = receive(ledger, body if body is not None else refused.body, send, source=f"replay:{refused_id}")
    if outcome.accepted or taken_as is None:
        ledger.mark_replayed(refused_id, json.dumps({"http_status": outcome.http_status, **outcome.body}))
    return outcome




def daily_summary(ledger: ClaimLedger, queues: QueueMonitor, *, now: float | None = None,
                  timely_filing_warning_days: int = 150, zone: tzinfo = UTC) -> dict[str, Any]:
    """The day in numbers for the billing person (no patient data): what reached a final status in the
    last 24 hours, what still needs a person, and what is late."""
    now = time.time() if now is None else now
    full = summary(ledger, queues, now=now, today=datetime.fromtimestamp(now, zone).date(),
                   timely_filing_warning_days=timely_filing_warning_days)
    today = ledger.get_many(ledger.claim_ids_since(now - 86400, statuses=FINAL_STATUSES))
    return {
        "type": "daily_summary",
        "period_end": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        "final_last_24h": dict(Counter(c.status for c in today if c.is_final)),
        "open_needing_a_person": {s: full["claims"]["by_status"][s] for s in sorted(RESUBMITTABLE_STATUSES)},
        "failures_last_24h_by_reason": dict(Counter(
            f"{c.status}: {code}" for c in today if c.status in ("failed", "rejected")
            for code in claim_reason_codes(c) or ["unknown"])),
        "past_timely_filing_warning": [x["claim_id"] for x in full["past_timely_filing_warning"]],
        "timely_filing_risk": [x["claim_id"] for x in full["timely_filing"]["claims"]],
        "remitted_last_24h": dict(Counter(c.status for c in today if c.status in ("paid", "denied"))),
        "refused_events": full["refused_events"],
        "dead_messages": sum(q["dead"] for q in full["queues"]),
    }
