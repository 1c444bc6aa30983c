"""A payer's remittance (X12 835) as read, and what posting it to a claim records (CONTRACT.md section 7).

Money is `Decimal` and shown as a decimal string with two places; a reversal's amounts are negative.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


def money(value: Decimal) -> str:
    return f"{value:.2f}"


Amount = Annotated[Decimal, PlainSerializer(money, return_type=str)]
"""Money: a `Decimal`, shown as a decimal string with two places."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Adjustment(_Model):
    """One CAS pair: group (CO, PR, OA, PI, CR), reason (a CARC) and amount."""

    group: str
    reason: str
    amount: Amount

    @property
    def code(self) -> str:
        return f"{self.group}-{self.reason}"


class ProviderAdjustment(Adjustment):
    """One PLB adjustment (PLB03 and PLB04): why the payer takes money off the whole payment (positive) or adds
    money to it (negative), and the reference it gives (PLB03-2): for a recovery, the claim it recovers from
    (the payer claim number, CLP07, and/or our claim id, CLP01) or the payer's financial control number."""

    group: str = "PLB"
    reference: str | None = None


class ServicePayment(_Model):
    """One SVC loop (2110): what the payer did with one service line."""

    qualifier: str = "HC"
    procedure: str
    modifiers: list[str] = Field(default_factory=list)
    charge: Amount
    paid: Amount
    units: Decimal | None = None
    original_procedure: str | None = None  # SVC06: the code as billed, when the payer paid another
    original_modifiers: list[str] = Field(default_factory=list)
    service_date: date | None = None
    line_id: str | None = None  # REF*6R: the line item control number we sent
    allowed: Amount | None = None  # AMT*B6
    adjustments: list[Adjustment] = Field(default_factory=list)
    remarks: list[str] = Field(default_factory=list)  # LQ*HE: RARCs


class ClaimPayment(_Model):
    """One CLP loop (2100): the payer's decision on one claim."""

    claim_id: str  # CLP01: our CLM01
    status_code: str  # CLP02
    charge: Amount  # CLP03
    paid: Amount  # CLP04
    patient_responsibility: Amount | None = None  # CLP05
    filing_indicator: str = ""  # CLP06
    payer_claim_number: str | None = None  # CLP07
    frequency_code: str | None = None  # CLP09
    adjustments: list[Adjustment] = Field(default_factory=list)  # claim-level CAS
    remarks: list[str] = Field(default_factory=list)  # MOA remark codes
    services: list[ServicePayment] = Field(default_factory=list)


class Remittance(_Model):
    """One 835 transaction: one payment (check or EFT) and the claims it covers."""

    interchange_control_number: str
    transaction_control_number: str
    handling_code: str  # BPR01: I remittance and payment, H notification only
    payment_amount: Amount  # BPR02
    payment_method: str  # BPR04: CHK, ACH, NON, ...
    payment_date: date | None = None  # BPR16
    trace_number: str  # TRN02: check or EFT trace number
    payer_id: str | None = None  # TRN03
    payer_name: str = ""
    payee_name: str = ""
    payee_id: str | None = None
    claims: list[ClaimPayment] = Field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = Field(default_factory=list)  # PLB: reason, reference, amount


PostingKind = Literal["payment", "denial", "reversal"]
MatchedBy = Literal["line_id", "procedure_and_modifiers", "procedure", "original_procedure", "none"]


class Reason(_Model):
    """A code and what it means, in plain words."""

    code: str  # `CO-197` (group and CARC) or a RARC such as `N54`
    text: str


class LinePosting(_Model):
    line_number: int | None  # the superbill line (1-based); None when no line matched
    matched_by: MatchedBy
    procedure: str
    modifiers: list[str] = Field(default_factory=list)
    charge: Amount
    paid: Amount
    allowed: Amount | None = None
    adjustments: list[Adjustment] = Field(default_factory=list)
    remarks: list[str] = Field(default_factory=list)


class ClaimPosting(_Model):
    """What one CLP loop means for our claim: a payment, a denial or a reversal, with its amounts."""

    kind: PostingKind
    claim_id: str
    status_code: str
    payer_claim_number: str | None
    trace_number: str
    payment_date: date | None
    charge: Amount
    paid: Amount
    adjusted: Amount  # every adjustment but patient responsibility (CO, OA, PI, CR)
    patient_responsibility: Amount
    adjustments: list[Adjustment] = Field(default_factory=list)  # claim-level
    lines: list[LinePosting] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)  # every CARC and RARC, in plain words
    problems: list[str] = Field(default_factory=list)  # why it cannot be posted (does not balance, ...)
    warnings: list[str] = Field(default_factory=list)  # posted, but look: a line that matches none of ours

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]
