"""The one path every inbound event takes (webhook, `superbill ingest`, refused-event replay)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog

from pipeline.application.event_changes import changed_sections
from pipeline.application.ports import ClaimLedger, StepSender
from pipeline.application.stages import claim_index
from pipeline.application.steps import VALIDATE
from pipeline.domain.claim_ids import claim_id_for
from pipeline.domain.intake import InputRejected, MalformedJson, load_json, parse_event_document

log = structlog.get_logger(__name__)
MAX_BODY_BYTES = 256 * 1024
KEEP_AT_MOST_BYTES = 4 * 1024 * 1024
READ_AT_MOST_BYTES = 64 * 1024 * 1024  # beyond this a body is not even read to its end


@dataclass(frozen=True)
class Outcome:
    http_status: int
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.http_status in (200, 202)


def receive(ledger: ClaimLedger, body: bytes, send: StepSender, *, source: str,
            size: int | None = None) -> Outcome:
    """Validate, record and enqueue one event; refused events are kept verbatim with their errors (a body
    over the limit: its first KEEP_AT_MOST_BYTES, with its real `size`)."""
    size = len(body) if size is None else size
    if size > MAX_BODY_BYTES:
        kept = "" if size <= KEEP_AT_MOST_BYTES else f"; its first {KEEP_AT_MOST_BYTES} bytes are kept"
        errors = [{"path": "(body)", "message": f"body is {size} bytes; the limit is {MAX_BODY_BYTES}{kept}"}]
        return _refuse(ledger, body[:KEEP_AT_MOST_BYTES], 413, errors, source)
    try:
        document = load_json(body)
        event = parse_event_document(document)
    except MalformedJson as exc:
        return _refuse(ledger, body, 400, [e.model_dump() for e in exc.errors], source)
    except InputRejected as exc:
        return _refuse(ledger, body, 422, [e.model_dump() for e in exc.errors], source)
    claim_id = claim_id_for(event.session.session_id)
    result = ledger.ingest(claim_id=claim_id, event_id=event.event_id, session_id=event.session.session_id,
                           event_doc=document, index=claim_index(event, claim_id), first_step=VALIDATE)
    log.info("event.received", event_id=event.event_id, claim_id=claim_id, outcome=result.outcome,
             source=source)
    if result.outcome == "created":
        if not result.queued:
            send(VALIDATE, claim_id)
        return Outcome(202, {"status": "accepted", "claim_id": claim_id, "event_id": event.event_id})
    if result.outcome == "duplicate":
        return Outcome(200, {"status": "duplicate", "claim_id": result.claim_id, "event_id": event.event_id})
    changes = changed_sections(ledger.event_document(result.claim_id or claim_id), document)
    log.info("event.kept_changes", event_id=event.event_id, claim_id=claim_id, sections=sorted(changes),
             paths=[p for paths in changes.values() for p in paths])  # field paths only, never their values
    return Outcome(202, {
        "status": "kept_for_review", "claim_id": claim_id, "event_id": event.event_id,
        "message": "this session already has a claim; the event is recorded on its timeline for ops",
    })


def _refuse(ledger: ClaimLedger, body: bytes, status: int, errors: list[dict[str, str]], source: str) -> Outcome:
    refused_id = ledger.keep_refused(body=body, http_status=status, errors=errors, source=source)
    log.info("event.refused", refused_id=refused_id, http_status=status, fields=[e["path"] for e in errors],
             source=source)
    return Outcome(status, {"status": "refused", "refused_id": refused_id, "errors": errors})
