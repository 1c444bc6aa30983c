"""The claims record for the accountant or the billing service: one row per claim whose date of service is
in a range, as CSV or JSON lines.

Rows carry no patient identity unless asked for (`with_client`): ids, dates, payer, route, status, lines
and units, money, and the last reasons as codes. Nothing a spreadsheet would mangle: dates are ISO
(`2026-11-20`), money a plain decimal (`260.00`), codes joined with `|`, times in UTC ISO 8601.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pipeline.application.ports import ClaimLedger
from pipeline.application.reason_codes import claim_reason_codes
from schemas.claim import Claim

COLUMNS = (
    "claim_id", "session_id", "event_id", "date_of_service", "payer", "coverage_kind", "therapist_id", "route",
    "status", "submission_no", "lines", "units", "total_charge", "amount_paid", "balance_due", "diagnosis_codes",
    "reason_codes", "peer_reference", "created_at", "status_changed_at",
    # from the payer's remittances (835)
    "payer_paid", "payer_adjusted", "patient_responsibility", "payer_claim_number", "paid_on", "denial_codes",
    # what the payer's provider-level recoveries took back of `payer_paid`; the parts of a split claim denied
    "payer_recovered", "denied_part_codes",
)
CLIENT_COLUMNS = ("client_id", "client_last_name", "client_first_name", "client_date_of_birth", "member_id")
FORMATS = ("csv", "jsonl")
COUNT_COLUMNS = ("submission_no", "units")  # numbers in JSON lines; money stays exact decimal text


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):.2f}" if value not in (None, "") else ""


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else ""


def claim_row(claim: Claim, event: dict[str, Any] | None = None) -> dict[str, str]:
    """One claim as export columns (all text); with the event document, the client's identity too."""
    bill = claim.superbill or {}
    lines = bill.get("lines") or []
    row = {
        "claim_id": claim.claim_id, "session_id": claim.session_id, "event_id": claim.event_id,
        "date_of_service": claim.date_of_service or "", "payer": claim.payer or "",
        "coverage_kind": claim.coverage_kind or "", "therapist_id": claim.therapist_id or "",
        "route": claim.route or "", "status": claim.status, "submission_no": str(claim.submission_no),
        "lines": "|".join(f"{ln['cpt']}{''.join('-' + m for m in ln.get('modifiers') or [])}x{ln['units']}"
                          for ln in lines),
        "units": str(sum(int(ln.get("units") or 0) for ln in lines)),
        "total_charge": _money(bill.get("total_charge")), "amount_paid": _money(bill.get("amount_paid")),
        "balance_due": _money(bill.get("balance_due")),
        "diagnosis_codes": "|".join(bill.get("diagnosis_codes") or []),
        "reason_codes": "|".join(claim_reason_codes(claim)), "peer_reference": claim.peer_reference or "",
        "created_at": _when(claim.created_at), "status_changed_at": _when(claim.status_changed_at),
        "payer_paid": _money(claim.paid_amount), "payer_adjusted": _money(claim.adjusted_amount),
        "patient_responsibility": _money(claim.patient_responsibility),
        "payer_claim_number": claim.payer_claim_number or "", "paid_on": claim.paid_on or "",
        "denial_codes": "|".join(r.get("code", "") for r in claim.denial_reasons),
        "payer_recovered": _money(claim.recovered_amount),
        "denied_part_codes": "|".join(dict.fromkeys(r.get("code", "") for part in claim.denied_parts
                                                    for r in part.get("reasons") or [])),
    }
    if event is not None:
        client: dict[str, Any] = event["client"] if isinstance(event.get("client"), dict) else {}
        coverage: dict[str, Any] = event["coverage"] if isinstance(event.get("coverage"), dict) else {}
        row |= {"client_id": str(client.get("client_id") or ""), "client_last_name": str(client.get("last_name") or ""),
                "client_first_name": str(client.get("first_name") or ""),
                "client_date_of_birth": str(client.get("date_of_birth") or ""),
                "member_id": str(coverage.get("member_id") or "")}
    return row


def claims_between(ledger: ClaimLedger, since: date, until: date) -> list[Claim]:
    """Claims whose date of service is in [since, until], by date of service then claim id."""
    found = [c for c in ledger.get_many(ledger.claim_ids())
             if c.date_of_service and since <= date.fromisoformat(c.date_of_service) <= until]
    return sorted(found, key=lambda c: (c.date_of_service or "", c.claim_id))


def export_rows(ledger: ClaimLedger, since: date, until: date, *,
                with_client: bool = False) -> Iterator[dict[str, str]]:
    for claim in claims_between(ledger, since, until):
        yield claim_row(claim, ledger.event_document(claim.claim_id) if with_client else None)


def render(rows: Iterable[dict[str, str]], fmt: str, *, with_client: bool = False) -> str:
    """The rows as CSV (a header, then one line per claim) or as JSON lines."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    columns = COLUMNS + (CLIENT_COLUMNS if with_client else ())
    if fmt == "jsonl":
        return "".join(json.dumps({c: _json_value(c, row.get(c, "")) for c in columns}) + "\n" for row in rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _spreadsheet_safe(row.get(c, "")) for c in columns})
    return out.getvalue()


def _json_value(column: str, value: str) -> str | int:
    return int(value) if column in COUNT_COLUMNS and value.isdigit() else value


def _spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@` first) is quoted with a `'`."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
