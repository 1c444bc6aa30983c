"""The sandbox billing service: takes a courtesy superbill (JSON plus the PDF).

An invalid request is answered 422 and not taken: its idempotency key stays free. A valid
one is taken once per idempotency key and either accepted (201) or, at ``reject_rate``,
rejected at the claim level (200 with reasons).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog

from pipeline.sandbox.state import Answer, BillingRecord, JSONDict, SandboxState, first_answer_for, utc_now

log = structlog.get_logger("pipeline.sandbox.billing")

REJECT_REASONS: tuple[str, ...] = (
    "member not found at the carrier",
    "prescription not attached or not legible",
    "date of service outside the coverage period",
    "carrier requires the claim from the member directly",
)

UNKNOWN_KEY = {"error": "unknown key"}
MALFORMED = {"error": "the body must be a JSON object"}


def _decimal(value: Any) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def validate_request(request: JSONDict) -> list[str]:
    """Every reason the billing service cannot take this superbill; empty when it can."""
    reasons: list[str] = []
    claim_id = request.get("claim_id")
    if not isinstance(claim_id, str) or not claim_id.strip():
        reasons.append("claim_id missing")
    superbill = request.get("superbill")
    if not isinstance(superbill, dict):
        reasons.append("superbill missing")
        superbill = {}
    diagnoses = superbill.get("diagnosis_codes")
    if not isinstance(diagnoses, list) or not any(isinstance(c, str) and c.strip() for c in diagnoses):
        reasons.append("diagnosis missing")
    lines = superbill.get("lines")
    if not isinstance(lines, list) or not lines:
        reasons.append("no service lines")
        lines = []
    total = Decimal(0)
    charges_ok = True
    for n, line in enumerate(lines, start=1):
        charge = _decimal(line.get("charge")) if isinstance(line, dict) else None
        if charge is None:
            reasons.append(f"line {n}: charge must be a decimal string")
            charges_ok = False
        else:
            total += charge
    total_charge = _decimal(superbill.get("total_charge"))
    if total_charge is None:
        reasons.append("total_charge must be a decimal string")
    elif charges_ok and lines and total_charge != total:
        reasons.append(
            f"total_charge {superbill['total_charge']} does not equal the sum of line charges {total}"
        )
    pdf = request.get("pdf_base64")
    try:
        pdf_bytes = base64.b64decode(pdf, validate=True) if isinstance(pdf, str) else b""
    except (binascii.Error, ValueError):
        pdf_bytes = b""
    if not pdf_bytes.startswith(b"%PDF"):
        reasons.append("pdf_base64 is not a PDF document")
    return reasons


class BillingService:
    """The billing service peer's behaviour, free of HTTP."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def submit(self, idempotency_key: str, body: bytes) -> Answer:
        """Receive one superbill request under an idempotency key."""
        try:
            request = json.loads(body)
        except ValueError:
            return Answer(400, dict(MALFORMED))
        if not isinstance(request, dict):
            return Answer(400, dict(MALFORMED))
        fingerprint = hashlib.sha256(
            json.dumps(request, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()

        with self._state.lock:
            replay = first_answer_for(self._state.billing, idempotency_key, fingerprint, "billing")
            if replay is not None:
                return replay

        reasons = validate_request(request)
        claim_id = request.get("claim_id") if isinstance(request.get("claim_id"), str) else None
        if reasons:
            with self._state.lock:
                self._state.refused.append(
                    {
                        "peer": "billing_service",
                        "idempotency_key": idempotency_key,
                        "claim_id": claim_id,
                        "received_at": utc_now(),
                        "errors": list(reasons),
                    }
                )
            log.info(
                "sandbox.billing.invalid",
                claim_id=claim_id,
                idempotency_key=idempotency_key,
                reason_count=len(reasons),
            )
            return Answer(
                422,
                {
                    "status": "rejected",
                    "reasons": reasons,
                    "claim_id": claim_id,
                    "idempotency_key": idempotency_key,
                },
            )
        assert claim_id is not None

        with self._state.lock:
            replay = first_answer_for(self._state.billing, idempotency_key, fingerprint, "billing")
            if replay is not None:
                return replay
            record = self._take(idempotency_key, claim_id, fingerprint, request)
        log.info(
            "sandbox.billing.taken",
            claim_id=claim_id,
            idempotency_key=idempotency_key,
            reference=record.reference,
            status=record.first_answer.body["status"],
        )
        return record.first_answer

    def status(self, idempotency_key: str) -> Answer:
        """The first answer given for this key, with status 200; 404 when never taken."""
        with self._state.lock:
            record = self._state.billing.get(idempotency_key)
            if record is None:
                return Answer(404, dict(UNKNOWN_KEY))
            return Answer(200, dict(record.first_answer.body))

    def _take(
        self, idempotency_key: str, claim_id: str, fingerprint: str, request: JSONDict
    ) -> BillingRecord:
        """Record a taken superbill and roll its fate. Hold the state lock."""
        faults, dice = self._state.faults, self._state.dice
        reference = self._state.next_id("BS")
        common = {"reference": reference, "claim_id": claim_id, "idempotency_key": idempotency_key}
        if dice.roll(faults.reject_rate):
            answer = Answer(200, {"status": "rejected", "reasons": [dice.pick(REJECT_REASONS)], **common})
        else:
            answer = Answer(201, {"status": "accepted", "reasons": [], **common})
        stored = {k: v for k, v in request.items() if k != "pdf_base64"}
        record = BillingRecord(
            idempotency_key=idempotency_key,
            claim_id=claim_id,
            reference=reference,
            fingerprint=fingerprint,
            request=stored,
            received_at=utc_now(),
            first_answer=answer,
        )
        self._state.billing[idempotency_key] = record
        return record
