"""Period statements: one superbill for every session of a client in a date range, and the monthly ones.

The sessions are the client's `statement_ready` claims with a date of service in the range (courtesy
submissions keep their own per-session superbill; direct billing is owed nothing by the client). A period's
document number and issue date are kept in the ledger: the same client, range and sessions give the same
document, byte for byte; when the sessions change (a later session in the range, a new profile), the
statement gets a new number and says which one it replaces.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline.application.errors import PermanentError
from pipeline.application.stages import Deps, document_number, event_of
from pipeline.documents.period_statement_pdf import PeriodSession, render_period_statement_pdf
from schemas.decision import Superbill


class NoSessions(PermanentError):
    """The client has no statement_ready session in the range."""


@dataclass(frozen=True)
class PeriodStatement:
    client_id: str
    since: date
    until: date
    document_number: str
    issued_on: date
    replaces: str | None
    claim_ids: list[str]
    pdf: bytes


def period_sessions(deps: Deps, client_id: str, since: date, until: date) -> list[PeriodSession]:
    """The client's statement_ready sessions from `since` to `until` (inclusive), by date of service."""
    found: list[tuple[str, PeriodSession]] = []
    for claim in deps.ledger.get_many(deps.ledger.client_claims(client_id)):
        if claim.status != "statement_ready" or claim.superbill is None or not claim.date_of_service:
            continue
        if not since <= date.fromisoformat(claim.date_of_service) <= until:
            continue
        event = event_of(deps, claim.claim_id)
        if event.client.client_id != client_id:  # the client was changed by an amendment
            continue
        bill = Superbill.model_validate(claim.superbill)
        found.append((event.session.started_at.isoformat(),
                      PeriodSession(claim_id=claim.claim_id, event=event, superbill=bill)))
    found.sort(key=lambda item: (item[1].superbill.date_of_service, item[0], item[1].claim_id))
    return [s for _, s in found]


def _fingerprint(deps: Deps, sessions: list[PeriodSession]) -> str:
    content = {
        "practice": deps.practice.model_dump(mode="json"),
        "sessions": [{"claim_id": s.claim_id, "event": s.event.model_dump(mode="json"),
                      "superbill": s.superbill.model_dump(mode="json")} for s in sessions],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def period_statement(deps: Deps, client_id: str, since: date, until: date) -> PeriodStatement:
    if until < since:
        raise NoSessions("the end of the period is before its start")
    sessions = period_sessions(deps, client_id, since, until)
    if not sessions:
        raise NoSessions(f"client {client_id} has no statement_ready session from {since} to {until}")
    key = json.dumps([client_id, since.isoformat(), until.isoformat()])
    number, issued, replaced = deps.ledger.period_document(key, _fingerprint(deps, sessions),
                                                           deps.today().isoformat())
    issued_on = date.fromisoformat(issued)
    replaces = document_number(replaced) if replaced else None
    pdf = render_period_statement_pdf(deps.practice, sessions, since=since, until=until,
                                      document_number=document_number(number), issued_on=issued_on,
                                      replaces=replaces)
    return PeriodStatement(client_id=client_id, since=since, until=until, document_number=document_number(number),
                           issued_on=issued_on, replaces=replaces, claim_ids=[s.claim_id for s in sessions],
                           pdf=pdf)


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of the month before `day`'s month."""
    first_this = day.replace(day=1)
    last_before = first_this - timedelta(days=1)
    return last_before.replace(day=1), last_before
