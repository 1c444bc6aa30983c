"""Reading an 835 (005010X221A1): the hand-written fixtures in the X221A1 shape, and what is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.documents.x12_835 import RemittanceFormatError, parse_835
from pipeline.documents.x12_validation import validate_835

FIXTURES = Path(__file__).parents[2] / "fixtures" / "remittances"
GOLDEN_837 = (Path(__file__).parents[2] / "fixtures" / "va_direct_golden.x12").read_text()


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.835").read_text()


@pytest.mark.parametrize("name", ["partial_payment", "denial", "dropped_modifier", "claim_level_adjustment",
                                  "reversal", "unmatched_claim"])
def test_every_fixture_is_a_valid_835(name: str) -> None:
    report = validate_835(fixture(name))
    assert report.ok, report.errors


def test_an_837_is_not_an_835() -> None:
    report = validate_835(GOLDEN_837)
    assert not report.ok
    assert "not an 835" in report.errors[0]
    with pytest.raises(RemittanceFormatError, match="HP"):
        parse_835(GOLDEN_837)


def test_partial_payment_is_read_with_every_amount_as_decimal() -> None:
    [remittance] = parse_835(fixture("partial_payment"))
    assert remittance.trace_number == "CHK000101"
    assert remittance.payment_amount == Decimal("208")
    assert remittance.payment_method == "CHK"
    assert remittance.payment_date == date(2026, 12, 5)
    assert remittance.payer_name == "VA CCN OPTUM"
    assert remittance.payee_id == "1245319599"
    [claim] = remittance.claims
    assert (claim.claim_id, claim.status_code, claim.charge, claim.paid) == (
        "ses_va_direct", "1", Decimal("260"), Decimal("208"))
    assert claim.payer_claim_number == "PCN0000000101"
    first, second = claim.services
    assert (first.procedure, first.modifiers, first.line_id) == ("97140", ["GP", "XS"], "ses_va_direct-1")
    assert (first.charge, first.paid, first.allowed, first.units) == (
        Decimal("140"), Decimal("112"), Decimal("112"), Decimal("2"))
    assert [(a.group, a.reason, a.amount) for a in first.adjustments] == [("CO", "45", Decimal("28"))]
    assert first.service_date == date(2026, 11, 20)
    assert second.procedure == "97124" and second.modifiers == ["GP"]


def test_denial_keeps_its_remark_codes() -> None:
    [claim] = parse_835(fixture("denial"))[0].claims
    assert claim.status_code == "4" and claim.paid == 0
    assert [s.remarks for s in claim.services] == [["N54"], ["N54"]]
    assert {a.code for s in claim.services for a in s.adjustments} == {"CO-197"}


def test_claim_level_adjustments_and_moa_remarks_belong_to_the_claim() -> None:
    [claim] = parse_835(fixture("claim_level_adjustment"))[0].claims
    assert [(a.code, a.amount) for a in claim.adjustments] == [("CO-253", Decimal("5.2"))]
    assert claim.remarks == ["MA01"]
    assert all(not s.adjustments for s in claim.services)


def test_reversal_and_correction_are_two_claims_with_negative_amounts_first() -> None:
    reversal, correction = parse_835(fixture("reversal"))[0].claims
    assert (reversal.status_code, reversal.charge, reversal.paid) == ("22", Decimal("-260"), Decimal("-260"))
    assert reversal.payer_claim_number == "PCN0000000103"
    assert (correction.status_code, correction.paid) == ("1", Decimal("208"))


def test_separators_come_from_the_isa_segment() -> None:
    text = fixture("partial_payment").replace("*", "|").replace(":", ">").replace("~", "\\")
    [claim] = parse_835(text)[0].claims
    assert claim.services[0].modifiers == ["GP", "XS"]


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("CLP*ses_va_direct*1*260*208", "CLP*ses_va_direct*1*2X0*208"), "CLP03"),
    (lambda t: t.replace("BPR*I*208*C*CHK************20261205", "BPR*I*208*C*CHK************20261340"), "BPR16"),
    (lambda t: "GARBAGE" + t, "ISA"),
    (lambda t: t.replace("TRN*1*CHK000101*1999999999", "TRN*1**1999999999"), "TRN02"),
])
def test_unreadable_values_are_refused_by_name(change: object, message: str) -> None:
    assert callable(change)
    with pytest.raises(RemittanceFormatError, match=message):
        parse_835(change(fixture("partial_payment")))


def test_a_plb_keeps_each_adjustments_reason_reference_and_amount() -> None:
    text = fixture("partial_payment")
    at = text.index("\nSE*") + 1
    text = text[:at] + "PLB*1245319599*20261231*WO:PCN0000000101 ses_va_direct*60*L6*-5*FB:*10~\n" + text[at:]
    [remittance] = parse_835(text)
    assert [(a.group, a.reason, a.reference, a.amount) for a in remittance.provider_adjustments] == [
        ("PLB", "WO", "PCN0000000101 ses_va_direct", Decimal("60")), ("PLB", "L6", None, Decimal("-5")),
        ("PLB", "FB", None, Decimal("10"))]
