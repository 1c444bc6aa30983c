"""Who a claim is for, for signed-in staff only: the client's name, date of birth and member id, the
referral and the prescription on file, read from the claim's event. Never logged, alerted, counted in a
metric or sent to a peer; the ops page and the CLI show it, and search by it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True)
class ClientIdentity:
    first_name: str
    last_name: str
    date_of_birth: str
    member_id: str
    client_id: str
    referral: dict[str, Any] | None
    prescription: dict[str, Any] | None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def referral_text(self) -> str:
        r = self.referral
        if not r:
            return "none"
        return (f"{r.get('referral_number') or '?'} ({r.get('administrator') or '?'}), "
                f"{r.get('valid_from') or '?'} to {r.get('valid_until') or '?'}, "
                f"{r.get('visits_authorized', '?')} visits")

    @property
    def prescription_text(self) -> str:
        p = self.prescription
        if not p:
            return "none"
        doctor = p.get("physician") or {}
        signed = "signed" if p.get("signed") else "NOT signed"
        until = f" until {p['expires_on']}" if p.get("expires_on") else ""
        return (f"Dr {doctor.get('first_name', '')} {doctor.get('last_name', '')}, issued "
                f"{p.get('issued_on') or '?'}{until}, {signed}, "
                f"diagnoses {', '.join(p.get('diagnosis_codes') or []) or 'none'}")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "first_name": self.first_name, "last_name": self.last_name,
                "date_of_birth": self.date_of_birth, "member_id": self.member_id, "client_id": self.client_id,
                "referral": self.referral, "prescription": self.prescription}


def identity_of(document: dict[str, Any]) -> ClientIdentity:
    """Read leniently: a stored event always has these, but an odd one never breaks a page."""
    client: dict[str, Any] = document["client"] if isinstance(document.get("client"), dict) else {}
    coverage: dict[str, Any] = document["coverage"] if isinstance(document.get("coverage"), dict) else {}
    referral = document.get("va_referral") if isinstance(document.get("va_referral"), dict) else None
    prescription = document.get("prescription") if isinstance(document.get("prescription"), dict) else None
    return ClientIdentity(
        first_name=str(client.get("first_name") or ""), last_name=str(client.get("last_name") or ""),
        date_of_birth=str(client.get("date_of_birth") or ""), member_id=str(coverage.get("member_id") or ""),
        client_id=str(client.get("client_id") or ""), referral=referral, prescription=prescription)


def as_date(text: str) -> date | None:
    """`2026-11-20` or `11/20/2026` (as typed at a US front desk)."""
    text = text.strip()
    try:
        if len(text) == 10 and text[4] == "-":
            return date.fromisoformat(text)
        match = _US_DATE.match(text)
        if match:
            return datetime(int(match.group(3)), int(match.group(1)), int(match.group(2))).date()
    except ValueError:
        return None
    return None


def fold(text: str) -> str:
    """Text as a search compares it: case and accents ignored (`García` and `garcia`, `Zoë` and `ZOE` are the same;
    `ß` is `ss`), as a person types a name on a keyboard without them."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def matches(query: str, identity: ClientIdentity, *, claim_id: str, session_id: str,
            date_of_service: str | None) -> bool:
    """Every word of the query is found: in the client's name, member id or client id, the claim or
    session id, or (a date) the date of service or birth. Case and accents are ignored (`fold`)."""
    words = fold(query).split()
    if not words:
        return True
    haystack = fold(" ".join((identity.first_name, identity.last_name, identity.member_id, identity.client_id,
                              claim_id, session_id)))
    for word in words:
        day = as_date(word)
        if day is not None:
            if day.isoformat() not in (date_of_service, identity.date_of_birth):
                return False
        elif word not in haystack:
            return False
    return True
