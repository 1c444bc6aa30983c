"""Applying the booking system's update: a later `session.completed` for a session that already has a claim is
kept on the claim's timeline and never changes it by itself; a person applies it, as an amendment of the sections
it changes attributed to them, through the same atomic versioned amendment path as every other amendment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog

from config.practice import Practice
from pipeline.application import ops
from pipeline.application.event_changes import PendingEvent, pending_event
from pipeline.application.ports import ClaimLedger, EventChanged, StepSender
from pipeline.application.stages import claim_index
from schemas.claim import AMENDABLE_STATUSES

log = structlog.get_logger(__name__)

NOTHING_WAITING = ("no update from the booking system is waiting for this claim: it was applied already, or the "
                   "claim already has its data")
ON_ITS_WAY = ("the claim is {status}: on its way to, or at, a peer, it cannot be amended now; apply the update once "
              "it is back (rejected, failed, needs attention or denied)")
CORRECTION_INSTEAD = ("the payer has this claim already ({status}): the booking system's update would be a corrected "
                      "claim, not an amendment; send a corrected claim with these sections instead (ops page: "
                      "Send a corrected claim; `superbill claims correct {claim_id} --file AMENDMENT.json`; "
                      "`POST /v1/ops/claims/{claim_id}/correct`)")
NO_CLAIM_NUMBER_YET = (" (the payer has not given it a claim number yet: a corrected claim can go once its remittance "
                       "is in)")
NONE_APPLICABLE = "the update changes only what an amendment cannot change ({sections}): nothing to apply"


@dataclass
class UpdateResult:
    ok: bool
    claim_id: str
    event_id: str | None = None
    applied: list[str] = field(default_factory=list)  # the sections amended (or, in a dry run, that would be)
    not_applicable: list[str] = field(default_factory=list)  # changed sections an amendment cannot change
    errors: list[dict[str, str]] = field(default_factory=list)
    message: str = ""
    dry_run: bool = False
    preview: dict[str, Any] | None = None  # the decision the claim would get with the update (a dry run)
    resubmitted: bool = False
    correction: dict[str, Any] | None = None  # for a claim the payer has: the amendment a correction would send
    conflict: bool = False  # refused because of the claim's state (409), not because of the data (422)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "conflict"}


def waiting_update(ledger: ClaimLedger, claim_id: str) -> PendingEvent | None:
    """The booking system's update waiting on this claim, or None."""
    timeline = ledger.timeline(claim_id)
    if not any(e.get("kind") == "event.kept_for_review" for e in timeline):
        return None
    return pending_event(ledger.event_document(claim_id), timeline)


def claim_ids_with_update(ledger: ClaimLedger, claim_ids: list[str]) -> set[str]:
    """Which of these claims have an update from the booking system waiting (the overview's badge): their
    timelines read at once, and the events of only those with a later event kept."""
    timelines = ledger.timelines_since(list(dict.fromkeys(claim_ids)), 0.0)
    kept = [cid for cid, entries in timelines.items() if any(e.get("kind") == "event.kept_for_review"
                                                             for e in entries)]
    events = ledger.event_documents(kept) if kept else {}
    return {cid for cid in kept if cid in events and pending_event(events[cid], timelines[cid]) is not None}


def apply_update(ledger: ClaimLedger, practice: Practice, claim_id: str, *, by: str, source: str,
                 based_on: str | None = None, dry_run: bool = False, send: StepSender | None = None,
                 resubmit: bool = False) -> UpdateResult:
    """Amend the claim with the sections the booking system's waiting update changes, attributed to `by`, only
    onto the event version `based_on` (when given) and only once: the amendment names the event it applies, so
    it is no longer waiting. A dry run stores nothing and gives the decision the claim would get. With `resubmit`
    (and `send`), the claim is resubmitted right after, unless the rules still find the same problems."""
    claim = ledger.get(claim_id)
    if claim is None:
        return UpdateResult(False, claim_id, message=ops.NO_SUCH_CLAIM)
    waiting = waiting_update(ledger, claim_id)
    if waiting is None:
        return UpdateResult(False, claim_id, message=NOTHING_WAITING, conflict=True)
    result = UpdateResult(False, claim_id, event_id=waiting.event_id, dry_run=dry_run,
                          not_applicable=[s for s in waiting.sections if s not in waiting.applicable])
    patch = waiting.patch()
    if not patch:
        result.message = NONE_APPLICABLE.format(sections=", ".join(waiting.sections))
        result.conflict = True
        return result
    if claim.status in ops.CORRECTABLE_STATUSES and claim.status not in AMENDABLE_STATUSES:
        result.message = CORRECTION_INSTEAD.format(status=claim.status, claim_id=claim_id) + (
            "" if claim.payer_claim_number else NO_CLAIM_NUMBER_YET)
        result.correction, result.conflict = patch, True
        return result
    if claim.status not in AMENDABLE_STATUSES:
        result.message, result.conflict = ON_ITS_WAY.format(status=claim.status), True
        return result
    if based_on is not None and based_on != ops.event_version(claim.amended_at):
        result.message, result.conflict = ops.CHANGED_MEANWHILE, True
        return result
    document = ledger.event_document(claim_id)
    event, merged, refused = ops.check_amendment(claim, document, patch)
    if refused is not None or event is None:
        result.errors = (refused.errors if refused else []) or [{"path": "(update)", "message": "not valid"}]
        result.message = refused.message if refused else "the update is not valid"
        return result
    if dry_run:
        ahead = ops.preview(ledger, practice, claim_id, patch)
        result.ok, result.applied = True, sorted(patch)
        result.preview = ahead.as_dict() if ahead else None
        result.message = "nothing stored: this is what applying the update would give"
        return result
    try:
        written = ledger.replace_event(claim_id, merged, index=claim_index(event, claim_id), changed=sorted(patch),
                                       source=source, by=by, applied_event=waiting.event_id,
                                       based_on=based_on or ops.event_version(claim.amended_at))
    except EventChanged:
        result.message, result.conflict = (ops.CHANGED_MEANWHILE if based_on else ops.CHANGED_WHILE_SAVING), True
        return result
    if not written:
        result.message, result.conflict = "the claim changed status meanwhile; try again", True
        return result
    result.ok, result.applied = True, sorted(patch)
    log.info("claim.update_applied", claim_id=claim_id, event_id=waiting.event_id, sections=result.applied,
             paths=[p for c in waiting.changes if c.amendable for p in c.paths], source=source)
    result.message = "the booking system's update is applied; resubmit the claim to send it"
    if resubmit and send is not None:
        moved = ops.resubmit(ledger, [claim_id], send, source=source, by=by, practice=practice)
        result.resubmitted = bool(moved.resubmitted)
        result.message = ("the booking system's update is applied and the claim resubmitted" if moved.resubmitted
                          else "the booking system's update is applied; not resubmitted: "
                          + (moved.skipped[0]["reason"] if moved.skipped else "unknown"))
    return result
