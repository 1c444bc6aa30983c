"""A claim's superbill PDF, rendered when asked for from what the ledger keeps: never stored.

The statement of a `statement_only` claim and the superbill sent with a courtesy submission are
deterministic from the claim's event, its decision, its document number and issue date, and the practice
profile, so the same request gives the same bytes every time. Claims kept before PDFs were rendered on
demand still have their stored PDF, which is answered as it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo

from config.practice import Practice
from pipeline.application.ports import ClaimLedger
from pipeline.documents.superbill_pdf import render_superbill_pdf
from pipeline.domain.intake import parse_event_document
from schemas.claim import Claim
from schemas.decision import Decision
from schemas.event import SessionCompleted


def decision_of(claim: Claim) -> Decision:
    """The decision as the claim records it."""
    return Decision.model_validate({
        "claim_id": claim.claim_id, "session_id": claim.session_id, "route": claim.route,
        "problems": claim.problems, "warnings": claim.warnings, "superbill": claim.superbill,
    })


def issued_on(claim: Claim, zone: tzinfo = UTC) -> tuple[date, str | None] | None:
    """The PDF's issue date and the document it replaces, when the claim has a PDF; else None. A courtesy
    superbill is dated the day it was prepared, in `zone` (the practice's time zone)."""
    if not claim.document_number:
        return None
    if claim.route == "statement_only" and claim.status == "statement_ready" and claim.statement_issued_on:
        return date.fromisoformat(claim.statement_issued_on), claim.statement_replaces
    if claim.route == "courtesy_submission" and claim.prepared_at:
        return datetime.fromtimestamp(claim.prepared_at, zone).date(), None
    return None


def has_statement(ledger: ClaimLedger, claim: Claim) -> bool:
    return issued_on(claim) is not None or ledger.get_statement(claim.claim_id) is not None


def statement_pdf(ledger: ClaimLedger, practice: Practice, claim_id: str) -> bytes | None:
    """The claim's statement (or courtesy superbill) PDF, or None when it has none."""
    claim, document = ledger.get_with_event(claim_id)
    if claim is None:
        return None
    if issued_on(claim) is None:
        return ledger.get_statement(claim_id)  # kept by an earlier version, or nothing
    if document is None:
        raise KeyError(claim_id)
    return render_statement(practice, claim, parse_event_document(document))


def render_statement(practice: Practice, claim: Claim, event: SessionCompleted) -> bytes | None:
    """The PDF of a claim already read with its event: None when it has none to render (see `issued_on`)."""
    when = issued_on(claim, practice.practice.zone)
    if when is None:
        return None
    assert claim.document_number is not None
    return render_superbill_pdf(event, practice, decision_of(claim), document_number=claim.document_number,
                                issued_on=when[0], replaces=when[1])
