"""The courtesy submission's JSON body for the billing service (the PDF is attached by the caller)."""

from __future__ import annotations

from typing import Any

from config.practice import Practice
from schemas.decision import Decision
from schemas.event import SessionCompleted


def courtesy_payload(event: SessionCompleted, practice: Practice, decision: Decision, *,
                     document_number: str) -> dict[str, Any]:
    if decision.superbill is None:
        raise ValueError("a courtesy submission needs a superbill")
    therapist = practice.therapist(event.session.therapist_id)
    if therapist is None:
        raise ValueError("a courtesy submission needs a known therapist")
    info = practice.practice
    client, coverage, rx = event.client, event.coverage, event.prescription
    return {
        "claim_id": decision.claim_id,
        "document_number": document_number,
        "superbill": decision.superbill.model_dump(mode="json"),
        "provider": {
            "legal_name": info.legal_name, "npi": info.npi, "ein": info.ein, "taxonomy": info.taxonomy,
            "phone": info.phone, "address": info.address.model_dump(),
            "rendering": {"first_name": therapist.first_name, "last_name": therapist.last_name,
                          "credentials": therapist.credentials, "npi": therapist.npi,
                          "license_number": therapist.license_number,
                          "license_state": therapist.license_state},
        },
        "referring_physician": rx.physician.model_dump() if rx else None,
        "patient": {"first_name": client.first_name, "last_name": client.last_name,
                    "date_of_birth": client.date_of_birth.isoformat(), "sex": client.sex,
                    "address": client.address.model_dump()},
        "coverage": {"payer_name": coverage.payer_name, "payer_id": coverage.payer_id,
                     "member_id": coverage.member_id, "group_number": coverage.group_number},
        "network": "out_of_network",
        "paid_by_client": str(decision.superbill.amount_paid),
    }
