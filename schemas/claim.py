"""A claim as the ledger keeps it: status, route, problems, attempts and the rest (CONTRACT.md section 6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.decision import Finding

Status = Literal[
    "received", "validated", "assembled", "routed", "submitting", "submitted",
    "accepted", "rejected", "failed", "statement_ready", "needs_attention", "paid", "denied", "voided",
]
STATUSES: tuple[str, ...] = (
    "received", "validated", "assembled", "routed", "submitting", "submitted",
    "accepted", "rejected", "failed", "statement_ready", "needs_attention", "paid", "denied", "voided",
)
# `paid` and `denied` come after `accepted`, from the payer's remittance (835); a reversal takes a claim back
# to `accepted`. `voided` ends a claim whose void (frequency 8) the clearinghouse and payer accepted.
FINAL_STATUSES = frozenset({"accepted", "rejected", "failed", "statement_ready", "needs_attention", "paid",
                            "denied", "voided"})
RESUBMITTABLE_STATUSES = frozenset({"rejected", "failed", "needs_attention", "denied"})
AMENDABLE_STATUSES = frozenset({*RESUBMITTABLE_STATUSES, "received"})  # not on its way to, or at, a peer
REMITTED_STATUSES = frozenset({"paid", "denied"})


class Claim(BaseModel):
    model_config = ConfigDict(frozen=True)

    claim_id: str
    session_id: str
    event_id: str
    status: Status
    route: str | None = None
    problems: list[Finding] = Field(default_factory=list)
    warnings: list[Finding] = Field(default_factory=list)
    superbill: dict[str, Any] | None = None
    attempts: int = 0
    last_error: str | None = None
    submission_no: int = 1
    idempotency_key: str | None = None
    peer_reference: str | None = None
    peer_reasons: list[str] = Field(default_factory=list)
    control_number: int | None = None
    document_number: str | None = None
    statement_issued_on: str | None = None  # ISO date printed on a statement_only claim's PDF
    statement_replaces: str | None = None  # the document number that statement replaces, if any
    payer: str | None = None
    coverage_kind: str | None = None
    therapist_id: str | None = None
    date_of_service: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    status_changed_at: float = 0.0
    submitted_at: float | None = None
    prepared_at: float | None = None
    amended_at: float | None = None
    client_id: str | None = None
    statement_delivery: str | None = None  # queued | sending | committing | retrying | sent | failed | skipped
    statement_message_id: str | None = None
    statement_error: str | None = None
    statement_sends: int = 0  # how many deliveries were asked for (the first, then each resend)
    statement_sent_at: float | None = None
    visit_referral: str | None = Field(default=None, exclude=True)  # the VA referral whose visit it uses
    # from the payer's remittances (835): the current adjudication
    paid_amount: Decimal | None = None
    adjusted_amount: Decimal | None = None  # contractual and other adjustments (not the patient's share)
    patient_responsibility: Decimal | None = None
    payer_claim_number: str | None = None  # CLP07: what a corrected or void claim quotes in REF*F8
    payment_trace: str | None = None  # TRN02: the check or EFT number
    paid_on: str | None = None  # BPR16, YYYY-MM-DD
    denial_reasons: list[dict[str, str]] = Field(default_factory=list)  # [{"code": "CO-197", "text": ...}]
    # Extension: what provider-level recoveries (PLB WO, FB, J1 naming the claim) took back of what the payer
    # paid (negative: added back); the practice has `paid_amount - recovered_amount` from the payer
    recovered_amount: Decimal | None = None
    # Extension: the parts of a split claim the payer denied while it paid the rest: charge, lines, amounts
    # written off (`adjusted`) and left to the patient, reasons in plain words, the remittance and claim number
    denied_parts: list[dict[str, Any]] = Field(default_factory=list)
    remittance_ids: list[str] = Field(default_factory=list)
    remitted_submission_no: int | None = None  # the submission the payer's last decision was about
    frequency_code: str = "1"  # of the current submission: 1 original, 7 replacement, 8 void
    timely_filing_alerted_at: float | None = None  # when ops was told it nears the timely-filing limit

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def summary(self) -> dict[str, Any]:
        """The `claims list --json` row (CONTRACT.md section 3)."""
        return {
            "claim_id": self.claim_id,
            "session_id": self.session_id,
            "route": self.route,
            "status": self.status,
            "problems": [p.code for p in self.problems],
            "warnings": [w.code for w in self.warnings],
            "payer": self.payer,
            "therapist_id": self.therapist_id,
            "date_of_service": self.date_of_service,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "peer_reasons": self.peer_reasons,
            "peer_reference": self.peer_reference,
            "submission_no": self.submission_no,
            "updated_at": self.updated_at,
            "paid_amount": None if self.paid_amount is None else f"{self.paid_amount:.2f}",
            "denial_codes": [r["code"] for r in self.denial_reasons],
            "recovered_amount": None if self.recovered_amount is None else f"{self.recovered_amount:.2f}",
            "denied_part_codes": list(dict.fromkeys(r["code"] for part in self.denied_parts
                                                    for r in part.get("reasons", []))),
            "payer_claim_number": self.payer_claim_number,
        }
