"""Posting a payer's decision (one CLP loop of an 835) to our claim: pure rules.

- The kind: CLP02 `22` is a reversal of an earlier payment; CLP02 `4` or nothing paid is a denial; the
  rest is a payment.
- Lines are matched to the superbill's lines by the REF*6R line id we sent (`<claim id>-<line number>`),
  else by procedure code with the same modifiers, else by the procedure code alone (payers drop
  modifiers), else by the code as billed (SVC06) when the payer paid another; the service date must be
  the claim's date of service. Each superbill line is matched at most once.
- The 835's own balancing rule is checked: for every line, charge = paid + its adjustments; for the
  claim, charge - paid = the claim's and its lines' adjustments. A claim that does not balance is not
  posted: it is kept for ops with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from pipeline.domain.adjustment_codes import describe_adjustment, describe_remark
from pipeline.domain.claim_frequency import ORIGINAL, status_when_accepted
from schemas.decision import Superbill, SuperbillLine
from schemas.remittance import (
    Adjustment,
    ClaimPayment,
    ClaimPosting,
    LinePosting,
    MatchedBy,
    PostingKind,
    Reason,
    ServicePayment,
)

ZERO = Decimal(0)
PAYMENT_STATUS_CODES = ("1", "2", "3", "19", "20", "21")


def posting_kind(payment: ClaimPayment) -> PostingKind:
    if payment.status_code == "22":
        return "reversal"
    if payment.status_code == "4" or payment.paid == ZERO:
        return "denial"
    return "payment"


def _total(adjustments: Iterable[Adjustment]) -> Decimal:
    return sum((a.amount for a in adjustments), ZERO)


def balance_problems(payment: ClaimPayment) -> list[str]:
    """Where the claim breaks the 835's balancing rule (empty when it balances)."""
    problems = []
    for n, service in enumerate(payment.services, start=1):
        adjusted = _total(service.adjustments)
        if service.charge != service.paid + adjusted:
            problems.append(f"service line {n} ({service.procedure}) does not balance: charge {service.charge} "
                            f"is not paid {service.paid} + adjustments {adjusted}")
    adjusted = _total(payment.adjustments) + sum((_total(s.adjustments) for s in payment.services), ZERO)
    if payment.charge - payment.paid != adjusted:
        problems.append(f"claim does not balance: charge {payment.charge} - paid {payment.paid} is not the "
                        f"adjustments {adjusted}")
    if payment.services:
        line_charges = sum((s.charge for s in payment.services), ZERO)
        if line_charges != payment.charge:
            problems.append(f"the lines' charges {line_charges} are not the claim charge {payment.charge}")
    return problems


def _line_number_of(line_id: str | None, claim_id: str, count: int) -> int | None:
    if not line_id or not line_id.startswith(f"{claim_id}-"):
        return None
    tail = line_id[len(claim_id) + 1:]
    return int(tail) if tail.isdigit() and 1 <= int(tail) <= count else None


def match_line(service: ServicePayment, claim_id: str, lines: list[SuperbillLine], date_of_service: date,
               taken: set[int]) -> tuple[int | None, MatchedBy]:
    """The superbill line (1-based) this service line pays, and how it was found."""
    by_id = _line_number_of(service.line_id, claim_id, len(lines))
    if by_id is not None and by_id not in taken:
        return by_id, "line_id"
    if service.service_date is not None and service.service_date != date_of_service:
        return None, "none"
    free = [(n, line) for n, line in enumerate(lines, start=1) if n not in taken]
    for n, line in free:
        if line.cpt == service.procedure and sorted(line.modifiers) == sorted(service.modifiers):
            return n, "procedure_and_modifiers"
    for n, line in free:
        if line.cpt == service.procedure:
            return n, "procedure"
    if service.original_procedure:
        for n, line in free:
            if line.cpt == service.original_procedure:
                return n, "original_procedure"
    return None, "none"


def _reasons(payment: ClaimPayment) -> list[Reason]:
    seen: dict[str, str] = {}
    adjustments = [*payment.adjustments, *(a for s in payment.services for a in s.adjustments)]
    for a in adjustments:
        seen.setdefault(a.code, describe_adjustment(a.group, a.reason))
    for remark in [*payment.remarks, *(r for s in payment.services for r in s.remarks)]:
        seen.setdefault(remark, describe_remark(remark))
    return [Reason(code=code, text=text) for code, text in seen.items()]


def post_claim_payment(payment: ClaimPayment, superbill: Superbill | None, *, trace_number: str,
                       payment_date: date | None) -> ClaimPosting:
    """What this CLP loop means for the claim it names: the kind, the amounts, each line matched.

    `problems` (the claim does not balance) mean it must not be posted; `warnings` (a line that matches
    none of ours) are kept with the posting."""
    problems = balance_problems(payment)
    lines: list[LinePosting] = []
    warnings: list[str] = []
    taken: set[int] = set()
    for service in payment.services:
        number: int | None
        matched: MatchedBy
        if superbill is None:
            number, matched = None, "none"
        else:
            number, matched = match_line(service, payment.claim_id, superbill.lines, superbill.date_of_service, taken)
        if number is not None:
            taken.add(number)
        else:
            warnings.append(f"service line {service.procedure} {' '.join(service.modifiers)}".rstrip()
                            + " matches no line of the claim")
        lines.append(LinePosting(line_number=number, matched_by=matched, procedure=service.procedure,
                                 modifiers=service.modifiers, charge=service.charge, paid=service.paid,
                                 allowed=service.allowed, adjustments=service.adjustments, remarks=service.remarks))
    everything = [*payment.adjustments, *(a for s in payment.services for a in s.adjustments)]
    patient = _total(a for a in everything if a.group == "PR")
    declared = payment.patient_responsibility
    if declared is not None and declared != patient and (payment.status_code != "22" or declared != ZERO):
        warnings.append(f"CLP05 patient responsibility {payment.patient_responsibility} is not the PR "
                            f"adjustments {patient}")
    return ClaimPosting(
        kind=posting_kind(payment), claim_id=payment.claim_id, status_code=payment.status_code,
        payer_claim_number=payment.payer_claim_number, trace_number=trace_number, payment_date=payment_date,
        charge=payment.charge, paid=payment.paid, adjusted=_total(a for a in everything if a.group != "PR"),
        patient_responsibility=patient, adjustments=payment.adjustments, lines=lines,
        reasons=_reasons(payment), problems=problems, warnings=warnings,
    )


def status_after(kind: PostingKind, *, frequency_code: str = ORIGINAL) -> str:
    """The claim's status once a posting of this kind is applied. A reversal takes the payer's decision back
    (`accepted`: the payer decides again), except on a void: the reversal is what the void asked for."""
    if kind == "reversal":
        return status_when_accepted(frequency_code)
    return {"payment": "paid", "denial": "denied"}[kind]


def statuses_before(kind: PostingKind, *, remitted_before: bool = False) -> tuple[str, ...]:
    """The statuses a claim may be in for a posting of this kind to apply.

    A payment or a denial settles a claim the payer took (a remittance can overtake the 277CA: `submitted`),
    or one denied earlier (paid on appeal). A claim already paid takes no second payment unless the first is
    reversed: one that arrives anyway is kept for ops, never added. A reversal takes back a payment or a
    denial; also once a replacement or a void of the claim is on its way (the claim is `submitted` or
    `accepted` again, or `voided`: the payer's reversal usually follows its acceptance of the void), if an
    earlier remittance was posted to it (`remitted_before`)."""
    if kind == "reversal":
        return ("paid", "denied", "submitted", "accepted", "voided") if remitted_before else ("paid", "denied")
    return ("submitted", "accepted", "denied")
