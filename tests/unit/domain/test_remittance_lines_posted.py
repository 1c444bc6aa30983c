"""What a posting keeps of the payer's decision: each line as the payer sent it, the line it pays (by our
line id, or by the code as billed when the payer paid another), the warnings ops read, word for word."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline.domain.remittance import balance_problems, match_line, post_claim_payment
from schemas.decision import Superbill, SuperbillLine
from schemas.remittance import Adjustment, ClaimPayment, ServicePayment

DOS = date(2026, 11, 20)
PAID_ON = date(2026, 12, 5)
SUPERBILL = Superbill(
    date_of_service=DOS, place_of_service="11", diagnosis_codes=["M54.50"],
    lines=[
        SuperbillLine(cpt="97140", modifiers=["GP", "XS"], minutes=30, units=2, charge=Decimal("140.00"),
                      diagnosis_pointers=[1]),
        SuperbillLine(cpt="97124", modifiers=["GP"], minutes=30, units=2, charge=Decimal("120.00"),
                      diagnosis_pointers=[1]),
    ],
    total_charge=Decimal("260.00"), amount_paid=Decimal("0.00"), balance_due=Decimal("0.00"),
)


def co(amount: str, reason: str = "45") -> Adjustment:
    return Adjustment(group="CO", reason=reason, amount=Decimal(amount))


def pr(amount: str, reason: str = "1") -> Adjustment:
    return Adjustment(group="PR", reason=reason, amount=Decimal(amount))


def service(procedure: str, charge: str, paid: str, *adjustments: Adjustment, **fields: object) -> ServicePayment:
    return ServicePayment(procedure=procedure, charge=Decimal(charge), paid=Decimal(paid),
                          adjustments=list(adjustments), **fields)  # type: ignore[arg-type]


def claim(*services: ServicePayment, status_code: str = "1", **fields: object) -> ClaimPayment:
    charge = sum((s.charge for s in services), Decimal(0))
    paid = sum((s.paid for s in services), Decimal(0))
    values: dict[str, object] = {"claim_id": "ses_1", "status_code": status_code, "charge": charge, "paid": paid,
                                 "services": list(services), **fields}
    return ClaimPayment.model_validate(values)


def post(payment: ClaimPayment, superbill: Superbill | None = SUPERBILL):  # type: ignore[no-untyped-def]
    return post_claim_payment(payment, superbill, trace_number="T1", payment_date=PAID_ON)


def test_each_line_keeps_what_the_payer_sent_for_it() -> None:
    sent = service("97140", "140", "100", co("40"), modifiers=["GP", "XS"], allowed=Decimal("100"),
                   remarks=["N130"], line_id="ses_1-1")
    posting = post(claim(sent))
    [line] = posting.lines
    assert (line.line_number, line.matched_by, line.procedure, line.modifiers) == (1, "line_id", "97140",
                                                                                   ["GP", "XS"])
    assert (line.charge, line.paid, line.allowed) == (Decimal("140"), Decimal("100"), Decimal("100"))
    assert line.adjustments == [co("40")]
    assert line.remarks == ["N130"]


def test_the_posting_keeps_the_payment_date_and_the_claim_level_adjustments() -> None:
    payment = claim(service("97140", "140", "140", modifiers=["GP", "XS"]),
                    service("97124", "120", "120", modifiers=["GP"]))
    payment = payment.model_copy(update={"adjustments": [co("5", "253")], "charge": Decimal("260"),
                                         "paid": Decimal("255")})
    assert balance_problems(payment) == []
    posting = post(payment)
    assert posting.payment_date == PAID_ON
    assert posting.adjustments == [co("5", "253")]


def test_a_reason_names_its_adjustment_group_in_words() -> None:
    posting = post(claim(service("97140", "140", "100", co("40"), modifiers=["GP", "XS"])))
    [reason] = posting.reasons
    assert reason.code == "CO-45"
    assert reason.text.endswith("(contractual obligation: written off, the patient is not billed)")


def test_lines_whose_charges_are_not_the_claim_charge_are_named_with_both_amounts() -> None:
    payment = claim(service("97140", "140.00", "140.00"), service("97124", "100.00", "100.00"))
    payment = payment.model_copy(update={"charge": Decimal("260.00"), "paid": Decimal("240.00"),
                                         "adjustments": [co("20.00")]})
    assert balance_problems(payment) == ["the lines' charges 240.00 are not the claim charge 260.00"]


def test_a_line_id_past_the_claims_lines_is_not_a_line_of_the_claim() -> None:
    past_the_end = service("97124", "120", "120", modifiers=["GP"], line_id="ses_1-3")
    posting = post(claim(past_the_end))
    assert [(line.line_number, line.matched_by) for line in posting.lines] == [(2, "procedure_and_modifiers")]
    not_a_number = service("97124", "120", "120", modifiers=["GP"], line_id="ses_1-2a")
    assert [(line.line_number, line.matched_by) for line in post(claim(not_a_number)).lines] == [
        (2, "procedure_and_modifiers")]


def test_a_line_the_payer_paid_under_another_code_matches_the_code_as_billed() -> None:
    recoded = service("97530", "140", "100", co("40"), original_procedure="97140")
    assert match_line(recoded, "ses_1", SUPERBILL.lines, DOS, set()) == (1, "original_procedure")
    posting = post(claim(recoded))
    assert [(line.line_number, line.matched_by) for line in posting.lines] == [(1, "original_procedure")]
    assert posting.warnings == []


def test_without_our_superbill_every_line_is_posted_unmatched_with_a_warning() -> None:
    posting = post(claim(service("97140", "140", "140", modifiers=["GP", "XS"]),
                         service("97124", "120", "120")), superbill=None)
    assert [(line.line_number, line.matched_by) for line in posting.lines] == [(None, "none"), (None, "none")]
    assert posting.warnings == [
        "service line 97140 GP XS matches no line of the claim",
        "service line 97124 matches no line of the claim",
    ]


def test_clp05_that_is_not_the_pr_adjustments_is_a_warning_with_both_amounts() -> None:
    payment = claim(service("97140", "140", "100", pr("40"), modifiers=["GP", "XS"]),
                    patient_responsibility=Decimal("30"))
    posting = post(payment)
    assert posting.patient_responsibility == Decimal("40")
    assert posting.warnings == ["CLP05 patient responsibility 30 is not the PR adjustments 40"]


def test_a_payment_with_clp05_zero_but_pr_adjustments_is_a_warning() -> None:
    payment = claim(service("97140", "140", "100", pr("40"), modifiers=["GP", "XS"]),
                    patient_responsibility=Decimal("0"))
    assert post(payment).warnings == ["CLP05 patient responsibility 0 is not the PR adjustments 40"]


def test_clp05_that_agrees_with_the_pr_adjustments_or_is_absent_is_no_warning() -> None:
    line = service("97140", "140", "100", pr("40"), modifiers=["GP", "XS"])
    assert post(claim(line, patient_responsibility=Decimal("40"))).warnings == []
    assert post(claim(line)).warnings == []


def test_a_reversal_with_clp05_zero_is_no_warning_but_a_wrong_nonzero_one_is() -> None:
    taken_back = service("97140", "-140", "-100", pr("-40"), modifiers=["GP", "XS"])
    assert post(claim(taken_back, status_code="22", patient_responsibility=Decimal("0"))).warnings == []
    assert post(claim(taken_back, status_code="22", patient_responsibility=Decimal("-30"))).warnings == [
        "CLP05 patient responsibility -30 is not the PR adjustments -40"]
