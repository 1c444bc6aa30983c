"""The billing rules of the shared DOMAIN.md and CONTRACT.md, checked end to end: an event as the booking system
sends it (the bundled examples, edited), through intake and the decision, read the way a biller reads a claim.

Each test names the rule it checks; the expected values are the documents' own, computed by hand.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from config.practice import Practice, load_practice
from pipeline.domain.decide import decide
from pipeline.domain.intake import InputRejected, parse_event
from schemas.decision import Decision
from tests.examples import example

PRACTICE: Practice = load_practice("config/practice.example.toml")
LONG_SESSION = "2026-11-20T18:00:00-06:00"  # room for every line's minutes


def with_lines(name: str, *lines: tuple[str, int, str]) -> dict[str, Any]:
    document = example(name)
    document["session"]["ended_at"] = LONG_SESSION
    document["session"]["services"] = [{"cpt": c, "minutes": m, "body_region": r} for c, m, r in lines]
    return document


def decided(document: dict[str, Any], visits_used: int = 0) -> Decision:
    return decide(parse_event(json.dumps(document)), PRACTICE, visits_used=visits_used)


def units_of(decision: Decision) -> dict[str, int]:
    assert decision.superbill is not None
    return {line.cpt: line.units for line in decision.superbill.lines}


def modifiers_of(decision: Decision) -> dict[str, list[str]]:
    assert decision.superbill is not None
    return {line.cpt: line.modifiers for line in decision.superbill.lines}


def codes_of(findings: list[Any]) -> list[str]:
    return [f.code for f in findings]


# --- units: the CMS table at its boundaries, under both payers' rules ---------------------------------

@pytest.mark.parametrize(("minutes", "units"), [
    (8, 1), (22, 1), (23, 2), (37, 2), (38, 3), (52, 3), (53, 4), (67, 4), (68, 5),
])
@pytest.mark.parametrize("name", ["va_direct", "commercial_courtesy"])
def test_one_timed_code_follows_the_cms_table_at_every_boundary(name: str, minutes: int, units: int) -> None:
    decision = decided(with_lines(name, ("97140", minutes, "lumbar")))
    assert units_of(decision) == {"97140": units}
    assert decision.superbill is not None and decision.superbill.lines[0].charge == Decimal("70.00") * units


@pytest.mark.parametrize("name", ["va_direct", "commercial_courtesy"])
def test_seven_minutes_of_one_code_is_no_billable_time(name: str) -> None:
    decision = decided(with_lines(name, ("97140", 7, "lumbar")))
    assert decision.route == "needs_attention" and decision.superbill is None
    assert codes_of(decision.problems) == ["no_billable_time"]
    assert codes_of(decision.warnings)[:1] == ["zero_unit_line"]


# (97140 minutes, 97124 minutes) -> (CMS units, AMA units), each {97140, 97124}; 0 units: the line is left out
MIXED: list[tuple[int, int, dict[str, int], dict[str, int]]] = [
    (24, 23, {"97140": 2, "97124": 1}, {"97140": 2, "97124": 2}),  # DOMAIN's example: 47 min = 3 units, A 2, B 1
    (23, 24, {"97140": 1, "97124": 2}, {"97140": 2, "97124": 2}),  # the larger leftover wins whichever code
    (23, 23, {"97140": 2, "97124": 1}, {"97140": 2, "97124": 2}),  # a tie on leftover and minutes: 97140
    (22, 22, {"97140": 2, "97124": 1}, {"97140": 1, "97124": 1}),  # 44 min = 3 units under CMS
    (10, 10, {"97140": 1}, {"97140": 1, "97124": 1}),  # DOMAIN: 1 unit under CMS, 2 under AMA
    (7, 8, {"97124": 1}, {"97124": 1}),  # 15 min = 1 unit, to the code with 8
    (7, 7, {"97140": 1}, {}),  # 14 min: 1 unit under CMS; nothing under AMA
    (22, 8, {"97140": 1, "97124": 1}, {"97140": 1, "97124": 1}),
    (38, 15, {"97140": 3, "97124": 1}, {"97140": 3, "97124": 1}),  # 53 min = 4 units
]


@pytest.mark.parametrize(("m140", "m124", "cms", "ama"), MIXED)
def test_mixed_sessions_get_cms_units_for_the_va_and_ama_units_for_commercial(
    m140: int, m124: int, cms: dict[str, int], ama: dict[str, int]
) -> None:
    lines = (("97140", m140, "lumbar"), ("97124", m124, "cervical"))
    va = decided(with_lines("va_direct", *lines))
    assert units_of(va) == cms
    commercial = decided(with_lines("commercial_statement", *lines))
    if ama:
        assert units_of(commercial) == ama
    else:
        assert commercial.superbill is None and "no_billable_time" in codes_of(commercial.problems)
    for decision, units in ((va, cms), (commercial, ama)):
        dropped = len(units) < 2
        assert ("zero_unit_line" in codes_of(decision.warnings)) is dropped


def test_self_pay_uses_the_commercial_rule_when_the_profile_has_no_self_pay_section() -> None:
    assert PRACTICE.payers.self_pay is None
    decision = decided(with_lines("self_pay", ("97140", 10, "lumbar"), ("97124", 10, "cervical")))
    assert units_of(decision) == {"97140": 1, "97124": 1}


def test_lines_of_one_code_are_merged_before_the_units_are_read() -> None:
    # 7 + 7 minutes of 97140 are 14 minutes of one code: 1 unit even under the per-code rule
    decision = decided(with_lines("commercial_statement", ("97140", 7, "lumbar"), ("97140", 7, "cervical")))
    assert decision.superbill is not None
    (line,) = decision.superbill.lines
    assert (line.cpt, line.minutes, line.units, line.body_regions) == ("97140", 14, 1, ["lumbar", "cervical"])


# --- modifiers ----------------------------------------------------------------------------------------

def test_va_lines_carry_gp_and_97140_carries_xs_when_the_pair_is_on_different_regions() -> None:
    decision = decided(example("va_direct"))
    assert modifiers_of(decision) == {"97140": ["GP", "XS"], "97124": ["GP"]}


def test_commercial_lines_carry_no_gp_but_the_ncci_modifier_still() -> None:
    decision = decided(example("commercial_courtesy"))
    assert modifiers_of(decision) == {"97140": ["XS"], "97124": []}


def test_no_distinct_service_modifier_when_one_code_of_the_pair_has_no_units() -> None:
    decision = decided(with_lines("va_direct", ("97140", 7, "lumbar"), ("97124", 7, "cervical")))
    assert modifiers_of(decision) == {"97140": ["GP"]}
    same_region = decided(with_lines("va_direct", ("97140", 7, "lumbar"), ("97124", 7, "lumbar")))
    assert "ncci_same_region" not in codes_of(same_region.problems)  # only billed lines form the pair


def test_the_pair_on_the_same_region_is_a_problem_whatever_the_spelling() -> None:
    decision = decided(with_lines("va_direct", ("97140", 20, "Lumbar "), ("97124", 20, "lumbar")))
    assert decision.route == "needs_attention"
    assert codes_of(decision.problems) == ["ncci_same_region"]


def test_no_line_carries_modifier_51_or_more_than_four() -> None:
    for name in ("va_direct", "commercial_courtesy", "self_pay"):
        decision = decided(example(name))
        assert decision.superbill is not None
        assert all("51" not in line.modifiers and len(line.modifiers) <= 4 for line in decision.superbill.lines)


# --- diagnoses ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("codes", "problems", "written"), [
    (["M54.50"], [], ["M54.50"]),
    (["m5450"], [], ["M54.50"]),  # any case, with or without the dot; written dotted and upper case
    (["M54.5"], ["diagnosis_not_billable"], ["M54.5"]),  # a category since FY2022
    (["M545"], ["diagnosis_not_billable"], ["M54.5"]),
    (["M54"], ["diagnosis_not_billable"], ["M54"]),
    (["M62.83"], ["diagnosis_not_billable"], ["M62.83"]),
    (["M79.10"], [], ["M79.10"]),
    (["S13.4XXA"], [], ["S13.4XXA"]),  # a seventh character
    (["S13.4"], ["diagnosis_not_billable"], ["S13.4"]),
    (["Z99.99"], ["diagnosis_invalid"], ["Z99.99"]),  # well shaped, not in the code set
    (["M54.50", "Q99.99", "M54.5"], ["diagnosis_invalid", "diagnosis_not_billable"], ["M54.50", "Q99.99", "M54.5"]),
    (["M54.50", "m54.50"], [], ["M54.50"]),  # the same code twice is one diagnosis
])
def test_a_va_claim_needs_billable_icd10cm_leaves(codes: list[str], problems: list[str], written: list[str]) -> None:
    document = example("va_direct")
    document["prescription"]["diagnosis_codes"] = codes
    decision = decided(document)
    assert codes_of(decision.problems) == problems
    assert decision.route == ("needs_attention" if problems else "direct_billing")
    assert decision.superbill is not None and decision.superbill.diagnosis_codes == written


@pytest.mark.parametrize("code", ["XYZ", "M.5450", "5450", "M54.50000"])
def test_a_string_not_shaped_like_an_icd10cm_code_is_an_input_error(code: str) -> None:
    document = example("va_direct")
    document["prescription"]["diagnosis_codes"] = [code]
    with pytest.raises(InputRejected) as refused:
        parse_event(json.dumps(document))
    assert [e.path for e in refused.value.errors] == ["prescription.diagnosis_codes[0]"]


def test_a_statement_leaves_off_the_codes_that_cannot_be_billed_and_warns() -> None:
    document = example("commercial_statement")
    document["prescription"]["diagnosis_codes"] = ["M54.5", "Z99.99", "M54.50"]
    decision = decided(document)
    assert (decision.route, decision.problems) == ("statement_only", [])
    assert codes_of(decision.warnings) == ["diagnosis_invalid", "diagnosis_not_billable", "courtesy_not_requested"]
    assert decision.superbill is not None and decision.superbill.diagnosis_codes == ["M54.50"]
    assert all(line.diagnosis_pointers == [1] for line in decision.superbill.lines)


def test_each_line_points_to_the_first_four_diagnoses_in_the_physicians_order() -> None:
    document = example("va_direct")
    document["prescription"]["diagnosis_codes"] = ["M62.830", "M54.50", "M79.10", "G89.29", "M54.2", "R51.9"]
    decision = decided(document)
    assert decision.superbill is not None
    assert decision.superbill.diagnosis_codes[:2] == ["M62.830", "M54.50"]
    assert all(line.diagnosis_pointers == [1, 2, 3, 4] for line in decision.superbill.lines)


# --- NPI ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("npi", "valid"), [
    ("1245319599", True), ("1679576722", True), ("1003000126", True), ("1234567893", True),
    ("1245319590", False),  # DOMAIN's invalid example
    ("3245319599", False), ("124531959", False), ("12453195990", False), ("0000000000", False),
])
def test_the_physicians_npi_is_judged_by_its_luhn_check_digit(npi: str, valid: bool) -> None:
    document = example("va_direct")
    document["prescription"]["physician"]["npi"] = npi
    assert codes_of(decided(document).problems) == ([] if valid else ["physician_npi_invalid"])


# --- prescription and referral dates, against the date of service in the session's own offset ------

@pytest.mark.parametrize(("field", "value", "problem"), [
    ("issued_on", "2026-11-20", None),  # issued on the date of service is valid
    ("issued_on", "2026-11-21", "prescription_not_yet_valid"),
    ("expires_on", "2026-11-20", None),  # expires on the date of service: still valid that day
    ("expires_on", "2026-11-19", "prescription_expired"),
    ("signed", False, "prescription_unsigned"),
])
def test_prescription_dates_and_signature(field: str, value: Any, problem: str | None) -> None:
    document = example("va_direct")
    document["prescription"][field] = value
    assert codes_of(decided(document).problems) == ([problem] if problem else [])


@pytest.mark.parametrize(("started", "ended", "date_of_service", "problems"), [
    # late in the evening of the window's last day, Chicago time: the next day in UTC, still inside
    ("2026-12-30T23:00:00-06:00", "2026-12-31T00:00:00-06:00", "2026-12-30", []),
    # the same instant written in UTC is a session of the 31st: outside the window
    ("2026-12-31T05:00:00Z", "2026-12-31T06:00:00Z", "2026-12-31", ["va_referral_outside_window"]),
    ("2026-10-01T00:30:00+14:00", "2026-10-01T01:30:00+14:00", "2026-10-01", []),  # the window's first day
    ("2026-09-30T23:30:00-10:00", "2026-10-01T00:30:00-10:00", "2026-09-30",
     ["prescription_not_yet_valid", "va_referral_outside_window"]),
])
def test_the_date_of_service_is_the_calendar_date_of_started_at_in_its_own_offset(
    started: str, ended: str, date_of_service: str, problems: list[str]
) -> None:
    document = example("va_direct")
    document["session"]["started_at"], document["session"]["ended_at"] = started, ended
    decision = decided(document)
    assert decision.superbill is not None and decision.superbill.date_of_service.isoformat() == date_of_service
    assert codes_of(decision.problems) == problems


@pytest.mark.parametrize(("approved_on", "problem"), [
    ("2026-11-20", None), ("2026-11-21", "va_referral_not_approved_before_service"),
])
def test_the_referral_must_be_approved_no_later_than_the_day_of_the_session(approved_on: str,
                                                                           problem: str | None) -> None:
    document = example("va_direct")
    document["va_referral"]["approved_on"] = approved_on
    assert codes_of(decided(document).problems) == ([problem] if problem else [])


@pytest.mark.parametrize(("number", "valid"), [
    ("402-123456-12", True), ("402-PC-1234567", True), ("VA1234567890", True),
    ("VA123456789", False), ("VA12345678901", False), ("va1234567890", False), ("402-pc-1234567", False),
    ("Ref VA1234567890", False), ("402-12345-123", False), ("", False),
])
def test_the_referral_number_is_one_of_the_three_va_forms_exactly(number: str, valid: bool) -> None:
    document = example("va_direct")
    document["va_referral"]["referral_number"] = number
    problems = codes_of(decided(document).problems)
    assert ("va_referral_number_invalid" in problems) is not valid
    assert problems == [] if valid else problems[0] == "va_referral_number_invalid"


@pytest.mark.parametrize(("authorized", "used", "exhausted"), [(12, 11, False), (12, 12, True), (0, 0, True)])
def test_a_session_beyond_the_referrals_visits_is_not_covered(authorized: int, used: int, exhausted: bool) -> None:
    document = example("va_direct")
    document["va_referral"]["visits_authorized"] = authorized
    assert codes_of(decided(document, visits_used=used).problems) == (["va_visits_exhausted"] if exhausted else [])


def test_only_optum_is_in_network_in_any_region() -> None:
    document = example("va_direct")
    document["va_referral"].update(administrator="triwest", region=2)
    decision = decided(document)
    assert codes_of(decision.problems) == ["va_out_of_network"]
    assert decision.superbill is not None and decision.superbill.balance_due == Decimal("260.00")


def test_the_referral_authorises_the_billed_codes_only() -> None:
    document = example("va_direct")
    document["va_referral"]["procedures"] = ["97124"]
    assert codes_of(decided(document).problems) == ["va_procedure_not_authorized"]
    # 5 minutes of 97140 give it no unit under CMS: it is not billed, so nothing unauthorised is billed
    document["session"]["services"][0]["minutes"] = 5
    decision = decided(document)
    assert decision.route == "direct_billing" and units_of(decision) == {"97124": 2}


# --- money -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "paid", "balance", "warnings"), [
    ("va_direct", "0.00", "0.00", []),
    ("va_direct", "25.00", "0.00", ["va_payment_collected"]),  # a veteran is never charged: refund due
    ("commercial_courtesy", "260.00", "0.00", []),
    ("commercial_courtesy", "100.5", "159.50", ["balance_due"]),
    ("self_pay", "300.00", "0.00", []),  # never below 0
])
def test_the_balance_is_the_total_less_what_was_paid_and_nothing_for_the_va(
    name: str, paid: str, balance: str, warnings: list[str]
) -> None:
    document = example(name)
    document["payment"]["amount_collected"] = paid
    decision = decided(document)
    assert decision.superbill is not None
    assert decision.superbill.total_charge == Decimal("260.00")  # 2 x 70.00 + 2 x 60.00
    assert (decision.superbill.amount_paid, decision.superbill.balance_due) == (Decimal(paid), Decimal(balance))
    assert [w for w in codes_of(decision.warnings) if w in ("balance_due", "va_payment_collected")] == warnings
    assert all(isinstance(line.charge, Decimal) for line in decision.superbill.lines)
