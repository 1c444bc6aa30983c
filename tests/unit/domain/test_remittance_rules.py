"""Posting one CLP loop to our claim: kinds, line matching, balancing, reasons in plain words."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.documents.x12_835 import parse_835
from pipeline.domain.adjustment_codes import describe_adjustment, describe_remark
from pipeline.domain.remittance import balance_problems, post_claim_payment, status_after, statuses_before
from schemas.decision import Superbill, SuperbillLine
from schemas.remittance import ClaimPayment

FIXTURES = Path(__file__).parents[2] / "fixtures" / "remittances"
SUPERBILL = Superbill(
    date_of_service=date(2026, 11, 20), place_of_service="11", diagnosis_codes=["M54.50", "M62.830"],
    lines=[
        SuperbillLine(cpt="97140", modifiers=["GP", "XS"], minutes=30, units=2, charge=Decimal("140.00"),
                      diagnosis_pointers=[1, 2]),
        SuperbillLine(cpt="97124", modifiers=["GP"], minutes=30, units=2, charge=Decimal("120.00"),
                      diagnosis_pointers=[1, 2]),
    ],
    total_charge=Decimal("260.00"), amount_paid=Decimal("0.00"), balance_due=Decimal("0.00"),
)


def claims_of(name: str) -> list[ClaimPayment]:
    return parse_835((FIXTURES / f"{name}.835").read_text())[0].claims


def post(payment: ClaimPayment, superbill: Superbill | None = SUPERBILL):  # type: ignore[no-untyped-def]
    return post_claim_payment(payment, superbill, trace_number="T1", payment_date=date(2026, 12, 5))


def test_partial_payment_is_paid_with_co45_written_off() -> None:
    posting = post(claims_of("partial_payment")[0])
    assert posting.kind == "payment" and status_after(posting.kind) == "paid"
    assert (posting.charge, posting.paid, posting.adjusted, posting.patient_responsibility) == (
        Decimal("260"), Decimal("208"), Decimal("52"), Decimal("0"))
    assert [(line.line_number, line.matched_by) for line in posting.lines] == [(1, "line_id"), (2, "line_id")]
    assert posting.problems == [] and posting.warnings == []
    assert posting.reason_codes == ["CO-45"]
    assert "fee schedule" in posting.reasons[0].text
    assert posting.payer_claim_number == "PCN0000000101"


def test_denial_names_its_reasons_in_plain_words() -> None:
    posting = post(claims_of("denial")[0])
    assert posting.kind == "denial" and status_after(posting.kind) == "denied"
    assert posting.paid == 0 and posting.adjusted == Decimal("260")
    assert posting.reason_codes == ["CO-197", "N54"]
    texts = {r.code: r.text for r in posting.reasons}
    assert "authorization" in texts["CO-197"] and "authorized services" in texts["N54"]


def test_a_dropped_modifier_falls_back_to_the_procedure_code() -> None:
    posting = post(claims_of("dropped_modifier")[0])
    # 97124 GP comes first and matches with its modifiers; 97140 came back without GP XS
    assert [(line.procedure, line.line_number, line.matched_by) for line in posting.lines] == [
        ("97124", 2, "procedure_and_modifiers"), ("97140", 1, "procedure")]
    assert posting.warnings == []


def test_claim_level_adjustment_balances_the_claim() -> None:
    payment = claims_of("claim_level_adjustment")[0]
    assert balance_problems(payment) == []
    posting = post(payment)
    assert posting.kind == "payment"
    assert posting.adjusted == Decimal("5.2")
    assert posting.reason_codes == ["CO-253", "MA01"]


def test_reversal_takes_the_payment_back() -> None:
    reversal, correction = claims_of("reversal")
    posting = post(reversal)
    assert posting.kind == "reversal" and status_after("reversal") == "accepted"
    assert posting.paid == Decimal("-260")
    assert "paid" in statuses_before("reversal") and "accepted" not in statuses_before("reversal")
    assert "voided" not in statuses_before("reversal")  # a void never remitted has nothing to take back
    assert [line.line_number for line in posting.lines] == [2, 1]
    assert post(correction).kind == "payment"


def test_a_claim_that_does_not_balance_is_not_postable() -> None:
    payment = claims_of("partial_payment")[0]
    broken = payment.model_copy(update={"paid": Decimal("210")})
    problems = balance_problems(broken)
    assert problems and "claim does not balance" in problems[0]
    line = payment.services[0].model_copy(update={"paid": Decimal("100")})
    broken_line = payment.model_copy(update={"services": [line, payment.services[1]]})
    assert any("service line 1 (97140) does not balance" in p for p in balance_problems(broken_line))
    assert post(broken_line).problems


def test_a_line_that_matches_nothing_is_a_warning() -> None:
    payment = claims_of("unmatched_claim")[0]
    posting = post(payment)  # another claim's line: different date of service
    assert posting.lines[0].line_number is None and posting.lines[0].matched_by == "none"
    assert posting.warnings == ["service line 97124 GP matches no line of the claim"]


def test_each_superbill_line_is_matched_once() -> None:
    payment = claims_of("partial_payment")[0]
    twice = payment.model_copy(update={"services": [payment.services[0], payment.services[0]],
                                       "charge": Decimal("280"), "paid": Decimal("224")})
    posting = post(twice)
    assert [line.line_number for line in posting.lines] == [1, None]


def test_patient_responsibility_is_the_pr_adjustments() -> None:
    text = (FIXTURES / "denial.835").read_text().replace("CAS*CO*197*140", "CAS*PR*96*140")
    text = text.replace("CLP*ses_va_direct*4*260*0*0*", "CLP*ses_va_direct*4*260*0*140*")
    posting = post(parse_835(text)[0].claims[0])
    assert posting.patient_responsibility == Decimal("140")
    assert posting.adjusted == Decimal("120")
    assert posting.warnings == []


@pytest.mark.parametrize("group, reason, words", [("CO", "50", "medical necessity"), ("PR", "1", "deductible"),
                                                  ("OA", "999", "adjustment reason code 999"),
                                                  # the VA's denials of a claim without its referral
                                                  ("CO", "15", "authorization (referral) number is missing"),
                                                  ("CO", "A1", "claim or service denied"),
                                                  ("CO", "185", "rendering provider is not eligible")])
def test_carc_descriptions(group: str, reason: str, words: str) -> None:
    assert words in describe_adjustment(group, reason)


def test_unknown_remark_is_named() -> None:
    assert describe_remark("N999") == "remark code N999"
    assert "Local Coverage" in describe_remark("N115")
    assert describe_remark("M62") == "missing, incomplete or invalid treatment authorization code"


def test_an_adjustment_of_an_unknown_group_is_shown_with_the_group_as_sent() -> None:
    assert describe_adjustment("ZZ", "999") == "adjustment reason code 999 (ZZ)"


@pytest.mark.parametrize(("kind", "remitted_before", "from_statuses"), [
    # CONTRACT.md 7: "the claim goes" column of the posting table
    ("payment", False, {"submitted", "accepted", "denied"}),
    ("denial", False, {"submitted", "accepted", "denied"}),
    ("reversal", False, {"paid", "denied"}),
    ("reversal", True, {"paid", "denied", "accepted", "submitted"}  # a corrected or void claim on its way
     | {"voided"}),  # 7.4: the payer's reversal keeps a voided claim voided
])
def test_each_posting_applies_only_from_the_statuses_the_contract_lists(kind: str, remitted_before: bool,
                                                                         from_statuses: set[str]) -> None:
    statuses = statuses_before(kind, remitted_before=remitted_before)  # type: ignore[arg-type]
    assert set(statuses) == from_statuses and len(statuses) == len(from_statuses)


@pytest.mark.parametrize(("status_code", "paid", "kind"), [
    ("4", "10", "denial"),  # CLP02 4 is a denial whatever it says was paid
    ("1", "0", "denial"),  # paid nothing
    ("1", "10", "payment"),
    ("22", "-10", "reversal"),
])
def test_the_kind_of_posting_follows_clp02_and_the_amount_paid(status_code: str, paid: str, kind: str) -> None:
    payment = claims_of("partial_payment")[0].model_copy(update={"status_code": status_code, "paid": Decimal(paid)})
    assert post(payment).kind == kind


def test_a_reversal_on_a_void_keeps_the_claim_voided() -> None:
    assert status_after("reversal", frequency_code="8") == "voided"
    assert status_after("reversal", frequency_code="7") == "accepted"  # the replacement is decided next
    assert status_after("payment", frequency_code="8") == "paid"
    after_void = statuses_before("reversal", remitted_before=True)
    assert "voided" in after_void and "submitted" in after_void  # the reversal may overtake the 277CA
    assert "voided" not in statuses_before("payment") and "voided" not in statuses_before("denial")
