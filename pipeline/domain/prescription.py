"""Checks of the physician's prescription, judged against the date of service.

The findings carry the codes of CONTRACT.md section 2; whether they are problems or warnings is
decided by the caller (a prescription is needed only for some routes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from pipeline.domain import codes
from pipeline.domain.diagnoses import DiagnosisStatus, codes_with_status
from pipeline.domain.identifiers import npi_is_valid
from pipeline.domain.superbill import unlisted_procedures
from schemas.decision import Finding
from schemas.event import Prescription


@dataclass(frozen=True)
class PrescriptionContext:
    prescription: Prescription
    date_of_service: date
    billed_cpts: tuple[str, ...]

    @property
    def label(self) -> str:
        rx_id = (self.prescription.prescription_id or "").strip()
        return f"the prescription {rx_id}" if rx_id else "the prescription"


Check = Callable[[PrescriptionContext], Finding | None]


def missing_prescription(reason: str) -> Finding:
    """`prescription_missing`; `reason` says why one is needed (e.g. "a VA CCN claim")."""
    return Finding(
        code=codes.PRESCRIPTION_MISSING,
        message=f"no prescription is on file, and {reason} needs one",
    )


def _unsigned(ctx: PrescriptionContext) -> Finding | None:
    if ctx.prescription.signed:
        return None
    return Finding(code=codes.PRESCRIPTION_UNSIGNED, message=f"{ctx.label} is not signed by the physician")


def _not_yet_valid(ctx: PrescriptionContext) -> Finding | None:
    issued = ctx.prescription.issued_on
    if issued <= ctx.date_of_service:
        return None
    return Finding(
        code=codes.PRESCRIPTION_NOT_YET_VALID,
        message=f"{ctx.label} was issued on {issued}, after the date of service {ctx.date_of_service}",
    )


def _expired(ctx: PrescriptionContext) -> Finding | None:
    expires = ctx.prescription.expires_on
    if expires is None or expires >= ctx.date_of_service:
        return None
    return Finding(
        code=codes.PRESCRIPTION_EXPIRED,
        message=f"{ctx.label} expired on {expires}, before the date of service {ctx.date_of_service}",
    )


def _physician_npi(ctx: PrescriptionContext) -> Finding | None:
    npi = ctx.prescription.physician.npi
    if npi_is_valid(npi):
        return None
    return Finding(
        code=codes.PHYSICIAN_NPI_INVALID,
        message=f"the prescribing physician's NPI {npi} fails the NPI check (10 digits, check digit)",
    )


def _diagnosis_missing(ctx: PrescriptionContext) -> Finding | None:
    if ctx.prescription.diagnosis_codes:
        return None
    return Finding(code=codes.DIAGNOSIS_MISSING, message=f"{ctx.label} lists no diagnosis code")


def _diagnosis_invalid(ctx: PrescriptionContext) -> Finding | None:
    bad = codes_with_status(ctx.prescription.diagnosis_codes, DiagnosisStatus.INVALID)
    if not bad:
        return None
    return Finding(
        code=codes.DIAGNOSIS_INVALID,
        message=f"not in the ICD-10-CM code set: {', '.join(bad)}",
    )


def _diagnosis_not_billable(ctx: PrescriptionContext) -> Finding | None:
    bad = codes_with_status(ctx.prescription.diagnosis_codes, DiagnosisStatus.NOT_BILLABLE)
    if not bad:
        return None
    return Finding(
        code=codes.DIAGNOSIS_NOT_BILLABLE,
        message=f"ICD-10-CM categories, not billable (a more specific code is needed): {', '.join(bad)}",
    )


def _procedure_not_prescribed(ctx: PrescriptionContext) -> Finding | None:
    unlisted = unlisted_procedures(ctx.prescription.procedures, ctx.billed_cpts)
    if unlisted is None:
        return None
    missing, listed = unlisted
    return Finding(
        code=codes.PROCEDURE_NOT_PRESCRIBED,
        message=f"billed but not prescribed: {', '.join(missing)} (prescribed: {listed})",
    )


CHECKS: tuple[Check, ...] = (
    _unsigned,
    _not_yet_valid,
    _expired,
    _physician_npi,
    _diagnosis_missing,
    _diagnosis_invalid,
    _diagnosis_not_billable,
    _procedure_not_prescribed,
)


def prescription_findings(
    prescription: Prescription, date_of_service: date, billed_cpts: Sequence[str]
) -> list[Finding]:
    """Every finding about a prescription that is present, in the order of the contract's table."""
    ctx = PrescriptionContext(prescription, date_of_service, tuple(dict.fromkeys(billed_cpts)))
    return [finding for check in CHECKS if (finding := check(ctx)) is not None]
