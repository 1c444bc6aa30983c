"""Monthly statements: for clients on a monthly schedule, one e-mail with the statement of the month before.

Due from the practice profile's `[statements] monthly_day` of a month on, for every client with a
`statement_ready` session in the month before whose latest session there says (or whose practice default
says) `monthly`, who has an e-mail address and has not opted out. Each (client, month) is sent once: the
run holds a lease per client and month, sends, then records it as done; a run that fails is tried again by
the next run (the reconciler runs it every hour). As with per-session statements, a process killed between
the mail server's 250 and that record sends the month again on the next run, under the same Message-ID.
Every session of the month gets `statement.monthly_sent` (or `statement.monthly_failed`, with the reason) on
its timeline.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

import structlog

from pipeline.application.errors import PeerRefused, PeerUnavailable
from pipeline.application.period_statements import NoSessions, month_of, period_statement
from pipeline.application.ports import StatementMail
from pipeline.application.stages import Deps, event_of
from pipeline.application.statement_delivery import schedule_of, usable_address, why_not_sent
from pipeline.documents.statement_email import period_statement_email

log = structlog.get_logger(__name__)


def due_period(deps: Deps, today: date) -> tuple[date, date] | None:
    """The month whose statements are due on `today`, or None before the profile's day of the month."""
    if today.day < deps.practice.statements.monthly_day:
        return None
    return month_of(today)


def monthly_clients(deps: Deps, since: date, until: date) -> list[str]:
    """Clients with a statement_ready session in the range whose latest one there asks for monthly statements."""
    latest: dict[str, tuple[str, str]] = {}
    for claim in deps.ledger.get_many(deps.ledger.claim_ids(status="statement_ready")):
        if not claim.client_id or not claim.date_of_service:
            continue
        if since <= date.fromisoformat(claim.date_of_service) <= until:
            seen = latest.get(claim.client_id)
            if seen is None or (claim.date_of_service, claim.claim_id) > seen:
                latest[claim.client_id] = (claim.date_of_service, claim.claim_id)
    out = []
    for client_id, (_, claim_id) in sorted(latest.items()):
        if schedule_of(deps, event_of(deps, claim_id)) == "monthly":
            out.append(client_id)
    return out


def send_due_monthly_statements(deps: Deps, *, today: date | None = None) -> list[dict[str, Any]]:
    today = today or deps.today()
    period = due_period(deps, today)
    if period is None:
        return []
    since, until = period
    return [send_monthly_statement(deps, client_id, since, until) for client_id in monthly_clients(deps, since, until)]


def send_monthly_statement(deps: Deps, client_id: str, since: date, until: date) -> dict[str, Any]:
    month = since.strftime("%Y-%m")
    result: dict[str, Any] = {"client_id": client_id, "since": since.isoformat(), "until": until.isoformat()}
    done_key = f"monthly:{month}:{client_id}"
    with deps.ledger.lease(f"monthly:{month}:{client_id}", 60.0) as got:
        if not got:
            return {**result, "outcome": "busy", "detail": "another process is sending it"}
        if deps.ledger.is_done(done_key):
            return {**result, "outcome": "already_sent"}
        try:
            statement = period_statement(deps, client_id, since, until)
        except NoSessions as exc:
            return {**result, "outcome": "nothing", "detail": str(exc)}
        event = event_of(deps, statement.claim_ids[-1])
        reason = why_not_sent(deps, event, resend=True)
        to = usable_address(event)
        if reason is None and to is None:
            reason = "the e-mail address on file is not a usable address"
        if reason is not None:
            _note(deps, statement.claim_ids, "statement.monthly_not_sent", reason=reason)
            deps.ledger.mark_done(done_key)
            return {**result, "outcome": "not_sent", "detail": reason}
        assert deps.mailer is not None and to is not None
        text = period_statement_email(deps.practice, document_number=statement.document_number, since=since,
                                      until=until)
        domain = deps.mailer.sender.rpartition("@")[2].strip("<> ") or "superbill.invalid"
        client_key = hashlib.sha256(client_id.encode()).hexdigest()[:16]
        mail = StatementMail(to=to, subject=text.subject, body=text.body, attachment_name=text.attachment_name,
                             message_id=f"<monthly.{client_key}.{month}.{statement.document_number}@{domain}>",
                             pdf=statement.pdf)
        try:
            deps.mailer.send(mail)
        except (PeerUnavailable, PeerRefused) as exc:
            _note(deps, statement.claim_ids, "statement.monthly_failed", reason=str(exc),
                  document_number=statement.document_number)
            log.warning("statement.monthly_failed", month=month, error=str(exc))
            return {**result, "outcome": "failed", "detail": str(exc)}
        deps.ledger.mark_done(done_key)
        _note(deps, statement.claim_ids, "statement.monthly_sent", document_number=statement.document_number,
              message_id=mail.message_id)
        return {**result, "outcome": "sent", "detail": statement.document_number}


def _note(deps: Deps, claim_ids: list[str], kind: str, **detail: Any) -> None:
    for claim_id in claim_ids:
        deps.ledger.note(claim_id, kind, **detail)


def run_if_due(deps: Deps, *, now: float) -> list[dict[str, Any]]:
    """The reconciler's hourly call: send what is due (judged on the practice's day, in its time zone: a month is
    over when it is over there), at most one run per hour across processes."""
    stamp = datetime.fromtimestamp(now, UTC)
    if not deps.ledger.mark_done(f"monthly-run:{stamp:%Y-%m-%dT%H}"):
        return []
    return send_due_monthly_statements(deps, today=deps.practice.practice.day_of(stamp))
