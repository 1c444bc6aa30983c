import copy
import json
import tomllib
from decimal import Decimal
from typing import Any

import pytest

from config.practice import Practice, parse_practice
from pipeline.domain import codes
from pipeline.domain.decide import (
    assemble,
    decide,
    ordered,
    prescription_needed,
)
from pipeline.domain.intake import parse_event
from schemas.decision import Decision, Finding
from schemas.event import SessionCompleted
from tests.examples import EXAMPLES

FIXTURES = EXAMPLES

PRACTICE_TOML = """
[practice]
legal_name = "Therapeutic Kneads, Ltd."
npi = "1245319599"
ein = "12-3456789"
taxonomy = "225700000X"
phone = "+1-217-555-0199"
address = { line1 = "123 Main St", city = "Springfield", state = "IL", postal_code = "627011234" }

[[therapists]]
id = "thr_jones"
first_name = "Mary"
last_name = "Jones"
credentials = "LMT"
npi = "1003000126"
license_number = "227.012345"
license_state = "IL"

[[therapists]]
id = "thr_badnpi"
first_name = "Pat"
last_name = "Typo"
credentials = "LMT"
npi = "1245319590"
license_number = "227.099999"
license_state = "IL"

[fees]
"97124" = "60.00"
"97140" = "70.00"

[payers.va_ccn]
unit_rule = "cms"
gp_modifier = true
payer_id = "VACCN"
payer_name = "VA CCN OPTUM"

[payers.commercial]
unit_rule = "ama"
gp_modifier = false

[carriers]
not_covering = ["Acme Health Plan"]
"""


def practice_from(toml_text: str = PRACTICE_TOML) -> Practice:
    return parse_practice(tomllib.loads(toml_text), "test practice")


PRACTICE = practice_from()

DELETE = object()


def event_dict(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def edited(name: str, edits: dict[str, Any] | None = None) -> SessionCompleted:
    """The fixture `name` with dotted paths replaced (or removed with DELETE), parsed as input."""
    data = event_dict(name)
    for path, value in (edits or {}).items():
        *parents, leaf = path.split(".")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(value)
    return parse_event(json.dumps(data))


def two_lines(m140: int, r140: str, m124: int, r124: str) -> list[dict[str, Any]]:
    return [
        {"cpt": "97140", "minutes": m140, "body_region": r140},
        {"cpt": "97124", "minutes": m124, "body_region": r124},
    ]


BAD_REFERRAL = {
    "referral_number": "not a number",
    "administrator": "triwest",
    "approved_on": "2026-12-01",
    "valid_from": "2026-12-01",
    "valid_until": "2026-12-02",
    "visits_authorized": 0,
}

# id, fixture, edits, visits_used, route, problems, warnings
SCENARIOS: list[tuple[str, str, dict[str, Any], int, str, list[str], list[str]]] = [
    ("va_valid", "va_direct", {}, 0, "direct_billing", [], []),
    ("courtesy_valid", "commercial_courtesy", {}, 0, "courtesy_submission", [], []),
    ("statement", "commercial_statement", {}, 0, "statement_only", [], [codes.COURTESY_NOT_REQUESTED]),
    ("self_pay", "self_pay", {}, 0, "statement_only", [], []),
    (
        "va_missing_referral",
        "va_missing_referral",
        {},
        0,
        "needs_attention",
        [codes.VA_REFERRAL_MISSING],
        [codes.BALANCE_DUE],
    ),
    (
        "therapist_unknown",
        "va_direct",
        {"session.therapist_id": "thr_nobody"},
        0,
        "needs_attention",
        [codes.THERAPIST_UNKNOWN],
        [],
    ),
    (
        "therapist_npi_invalid",
        "va_direct",
        {"session.therapist_id": "thr_badnpi"},
        0,
        "needs_attention",
        [codes.THERAPIST_NPI_INVALID],
        [codes.BALANCE_DUE],
    ),
    (
        "therapist_npi_invalid_self_pay",
        "self_pay",
        {"session.therapist_id": "thr_badnpi"},
        0,
        "needs_attention",
        [codes.THERAPIST_NPI_INVALID],
        [],
    ),
    (
        "va_no_prescription",
        "va_direct",
        {"prescription": DELETE},
        0,
        "needs_attention",
        [codes.PRESCRIPTION_MISSING],
        [codes.BALANCE_DUE],
    ),
    (
        "courtesy_no_prescription",
        "commercial_courtesy",
        {"prescription": DELETE},
        0,
        "needs_attention",
        [codes.PRESCRIPTION_MISSING],
        [],
    ),
    (
        "statement_no_prescription",
        "commercial_statement",
        {"prescription": DELETE},
        0,
        "statement_only",
        [],
        [codes.COURTESY_NOT_REQUESTED],
    ),
    (
        "va_unsigned",
        "va_direct",
        {"prescription.signed": False},
        0,
        "needs_attention",
        [codes.PRESCRIPTION_UNSIGNED],
        [codes.BALANCE_DUE],
    ),
    (
        "va_prescription_issued_after_service",
        "va_direct",
        {"prescription.issued_on": "2026-11-21"},
        0,
        "needs_attention",
        [codes.PRESCRIPTION_NOT_YET_VALID],
        [codes.BALANCE_DUE],
    ),
    (
        "va_prescription_issued_on_service_day",
        "va_direct",
        {"prescription.issued_on": "2026-11-20"},
        0,
        "direct_billing",
        [],
        [],
    ),
    (
        "va_prescription_expired",
        "va_direct",
        {"prescription.expires_on": "2026-11-19"},
        0,
        "needs_attention",
        [codes.PRESCRIPTION_EXPIRED],
        [codes.BALANCE_DUE],
    ),
    (
        "va_physician_npi_invalid",
        "va_direct",
        {"prescription.physician.npi": "1679576723"},
        0,
        "needs_attention",
        [codes.PHYSICIAN_NPI_INVALID],
        [codes.BALANCE_DUE],
    ),
    (
        "va_no_diagnosis",
        "va_direct",
        {"prescription.diagnosis_codes": []},
        0,
        "needs_attention",
        [codes.DIAGNOSIS_MISSING],
        [codes.BALANCE_DUE],
    ),
    (
        "va_diagnosis_invalid",
        "va_direct",
        {"prescription.diagnosis_codes": ["M54.50", "Z99.99"]},
        0,
        "needs_attention",
        [codes.DIAGNOSIS_INVALID],
        [codes.BALANCE_DUE],
    ),
    (
        "va_diagnosis_not_billable",
        "va_direct",
        {"prescription.diagnosis_codes": ["M54.5"]},
        0,
        "needs_attention",
        [codes.DIAGNOSIS_NOT_BILLABLE],
        [codes.BALANCE_DUE],
    ),
    (
        "va_procedure_not_prescribed",
        "va_direct",
        {"prescription.procedures": ["97140"]},
        0,
        "needs_attention",
        [codes.PROCEDURE_NOT_PRESCRIBED],
        [codes.BALANCE_DUE],
    ),
    (
        "va_referral_number_invalid",
        "va_direct",
        {"va_referral.referral_number": "Ref VA0012345678"},
        0,
        "needs_attention",
        [codes.VA_REFERRAL_NUMBER_INVALID],
        [codes.BALANCE_DUE],
    ),
    (
        "va_triwest",
        "va_direct",
        {"va_referral.administrator": "triwest", "va_referral.region": 4},
        0,
        "needs_attention",
        [codes.VA_OUT_OF_NETWORK],
        [codes.BALANCE_DUE],
    ),
    (
        "va_referral_approved_after_service",
        "va_direct",
        {"va_referral.approved_on": "2026-11-21"},
        0,
        "needs_attention",
        [codes.VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE],
        [codes.BALANCE_DUE],
    ),
    (
        "va_referral_approved_on_service_day",
        "va_direct",
        {"va_referral.approved_on": "2026-11-20"},
        0,
        "direct_billing",
        [],
        [],
    ),
    (
        "va_expired_referral",
        "va_direct",
        {"va_referral.valid_until": "2026-11-19"},
        0,
        "needs_attention",
        [codes.VA_REFERRAL_OUTSIDE_WINDOW],
        [codes.BALANCE_DUE],
    ),
    ("va_last_visit", "va_direct", {}, 11, "direct_billing", [], []),
    (
        "va_visits_exhausted",
        "va_direct",
        {},
        12,
        "needs_attention",
        [codes.VA_VISITS_EXHAUSTED],
        [codes.BALANCE_DUE],
    ),
    (
        "va_procedure_not_authorized",
        "va_direct",
        {"va_referral.procedures": ["97124"]},
        0,
        "needs_attention",
        [codes.VA_PROCEDURE_NOT_AUTHORIZED],
        [codes.BALANCE_DUE],
    ),
    (
        "va_same_region",
        "va_direct",
        {"session.services": two_lines(30, "lumbar", 30, " Lumbar")},
        0,
        "needs_attention",
        [codes.NCCI_SAME_REGION],
        [codes.BALANCE_DUE],
    ),
    (
        "self_pay_same_region",
        "self_pay",
        {"session.services": two_lines(30, "lumbar", 30, "lumbar")},
        0,
        "needs_attention",
        [codes.NCCI_SAME_REGION],
        [],
    ),
    (
        "same_region_on_unbilled_line_is_no_pair",
        "commercial_statement",
        {"session.services": two_lines(30, "lumbar", 5, "lumbar")},
        0,
        "statement_only",
        [],
        [codes.COURTESY_NOT_REQUESTED, codes.ZERO_UNIT_LINE],
    ),
    (
        "va_no_billable_time",
        "va_direct",
        {"session.services": two_lines(5, "lumbar", 2, "cervical")},
        0,
        "needs_attention",
        [codes.NO_BILLABLE_TIME],
        [codes.ZERO_UNIT_LINE],  # every line is left out, and named
    ),
    (
        "self_pay_no_billable_time",
        "self_pay",
        {"session.services": two_lines(7, "lumbar", 7, "cervical")},
        0,
        "needs_attention",
        [codes.NO_BILLABLE_TIME],
        [codes.ZERO_UNIT_LINE],  # every line is left out, and named
    ),
    (
        "courtesy_to_excluded_carrier",
        "commercial_courtesy",
        {"coverage.payer_name": "  ACME health plan "},
        0,
        "statement_only",
        [],
        [codes.CARRIER_EXCLUDES_MASSAGE],
    ),
    (
        "courtesy_to_excluded_carrier_needs_no_prescription",
        "commercial_courtesy",
        {"coverage.payer_name": "Acme Health Plan", "prescription": DELETE},
        0,
        "statement_only",
        [],
        [codes.CARRIER_EXCLUDES_MASSAGE],
    ),
    (
        "excluded_carrier_without_courtesy",
        "commercial_statement",
        {"coverage.payer_name": "Acme Health Plan"},
        0,
        "statement_only",
        [],
        [codes.CARRIER_EXCLUDES_MASSAGE, codes.COURTESY_NOT_REQUESTED],
    ),
    (
        "excluded_carrier_with_expired_prescription_warns",
        "commercial_courtesy",
        {"coverage.payer_name": "Acme Health Plan", "prescription.expires_on": "2026-01-01"},
        0,
        "statement_only",
        [],
        [codes.PRESCRIPTION_EXPIRED, codes.CARRIER_EXCLUDES_MASSAGE],
    ),
    (
        "commercial_zero_unit_line",
        "commercial_statement",
        {"session.services": two_lines(30, "lumbar", 7, "cervical")},
        0,
        "statement_only",
        [],
        [codes.COURTESY_NOT_REQUESTED, codes.ZERO_UNIT_LINE],
    ),
    (
        "va_zero_unit_line_under_cms",
        "va_direct",
        {"session.services": two_lines(10, "lumbar", 10, "cervical")},
        0,
        "direct_billing",
        [],
        [codes.ZERO_UNIT_LINE],
    ),
    (
        "functional_goal_with_massage_only",
        "self_pay",
        {"session.services": [{"cpt": "97124", "minutes": 30, "body_region": "back"}]},
        0,
        "statement_only",
        [],
        [codes.CODE_GOAL_MISMATCH],
    ),
    (
        "functional_goal_with_unbilled_manual_therapy",
        "self_pay",
        {"session.services": two_lines(5, "lumbar", 30, "cervical")},
        0,
        "statement_only",
        [],
        [codes.ZERO_UNIT_LINE, codes.CODE_GOAL_MISMATCH],
    ),
    ("telehealth_place_of_service_on_a_va_claim", "va_direct", {"session.place_of_service": "02"}, 0,
     "direct_billing", [], [codes.PLACE_OF_SERVICE_UNUSUAL]),
    ("assisted_living_place_of_service", "commercial_courtesy", {"session.place_of_service": "13"}, 0,
     "courtesy_submission", [], [codes.PLACE_OF_SERVICE_UNUSUAL]),
    ("home_place_of_service", "va_direct", {"session.place_of_service": "12"}, 0, "direct_billing", [], []),
    (
        "relaxation_goal_with_manual_therapy",
        "self_pay",
        {"session.goal": "relaxation"},
        0,
        "statement_only",
        [],
        [codes.CODE_GOAL_MISMATCH],
    ),
    (
        "relaxation_goal_with_massage_only",
        "self_pay",
        {
            "session.goal": "relaxation",
            "session.services": [{"cpt": "97124", "minutes": 30, "body_region": "back"}],
        },
        0,
        "statement_only",
        [],
        [],
    ),
    (
        "no_goal",
        "self_pay",
        {"session.goal": DELETE, "session.services": [{"cpt": "97124", "minutes": 30, "body_region": "b"}]},
        0,
        "statement_only",
        [],
        [],
    ),
    (
        "self_pay_underpaid",
        "self_pay",
        {"payment.amount_collected": "100.00"},
        0,
        "statement_only",
        [],
        [codes.BALANCE_DUE],
    ),
    (
        "self_pay_overpaid",
        "self_pay",
        {"payment.amount_collected": "300.00"},
        0,
        "statement_only",
        [],
        [],
    ),
    (
        "courtesy_underpaid",
        "commercial_courtesy",
        {"payment.amount_collected": "259.99"},
        0,
        "courtesy_submission",
        [],
        [codes.BALANCE_DUE],
    ),
    (
        "va_payment_collected",
        "va_direct",
        {"payment.amount_collected": "20.00", "payment.method": "card"},
        0,
        "direct_billing",
        [],
        [codes.VA_PAYMENT_COLLECTED],
    ),
    (
        "va_needs_attention_with_payment_owes_the_rest",
        "va_direct",
        {"payment.amount_collected": "20.00", "va_referral": DELETE},
        0,
        "needs_attention",
        [codes.VA_REFERRAL_MISSING],
        [codes.BALANCE_DUE],
    ),
    (
        "statement_with_defective_prescription_warns",
        "commercial_statement",
        {
            "prescription.expires_on": "2026-11-01",
            "prescription.signed": False,
            "prescription.diagnosis_codes": ["Z99.99", "M54.5", "M54.50"],
            "prescription.procedures": ["97124"],
            "prescription.physician.npi": "1245319590",
        },
        0,
        "statement_only",
        [],
        [
            codes.PRESCRIPTION_UNSIGNED,
            codes.PRESCRIPTION_EXPIRED,
            codes.PHYSICIAN_NPI_INVALID,
            codes.DIAGNOSIS_INVALID,
            codes.DIAGNOSIS_NOT_BILLABLE,
            codes.PROCEDURE_NOT_PRESCRIBED,
            codes.COURTESY_NOT_REQUESTED,
        ],
    ),
    (
        "courtesy_with_defective_prescription_needs_attention",
        "commercial_courtesy",
        {"prescription.issued_on": "2026-12-01", "prescription.diagnosis_codes": []},
        0,
        "needs_attention",
        [codes.PRESCRIPTION_NOT_YET_VALID, codes.DIAGNOSIS_MISSING],
        [],
    ),
    (
        "self_pay_with_empty_prescription_warns",
        "self_pay",
        {"prescription": {
            "physician": {"first_name": "A", "last_name": "B", "npi": "1679576722"},
            "issued_on": "2026-10-01",
            "signed": True,
            "diagnosis_codes": [],
        }},
        0,
        "statement_only",
        [],
        [codes.DIAGNOSIS_MISSING],
    ),
    (
        "self_pay_courtesy_flag_is_ignored",
        "self_pay",
        {"coverage.courtesy_submission": True},
        0,
        "statement_only",
        [],
        [],
    ),
    (
        "referral_on_commercial_event_is_ignored",
        "commercial_statement",
        {"va_referral": BAD_REFERRAL},
        0,
        "statement_only",
        [],
        [codes.COURTESY_NOT_REQUESTED],
    ),
    (
        "va_everything_wrong",
        "va_direct",
        {
            "session.therapist_id": "thr_badnpi",
            "prescription": DELETE,
            "va_referral": BAD_REFERRAL,
            "session.services": two_lines(30, "lumbar", 30, "LUMBAR"),
            "session.goal": "relaxation",
            "payment.amount_collected": "10.00",
        },
        3,
        "needs_attention",
        [
            codes.THERAPIST_NPI_INVALID,
            codes.PRESCRIPTION_MISSING,
            codes.VA_REFERRAL_NUMBER_INVALID,
            codes.VA_OUT_OF_NETWORK,
            codes.VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE,
            codes.VA_REFERRAL_OUTSIDE_WINDOW,
            codes.VA_VISITS_EXHAUSTED,
            codes.NCCI_SAME_REGION,
        ],
        [codes.CODE_GOAL_MISMATCH, codes.BALANCE_DUE],
    ),
    (
        "veteran_member_id_an_837p_cannot_carry",
        "va_direct",
        {"coverage.member_id": "JD*19700101"},
        0,
        "needs_attention",
        [codes.CLAIM_DATA_INVALID],
        [codes.BALANCE_DUE],
    ),
]


@pytest.mark.parametrize(
    ("fixture", "edits", "visits_used", "route", "problems", "warnings"),
    [s[1:] for s in SCENARIOS],
    ids=[s[0] for s in SCENARIOS],
)
def test_session_gets_its_route_problems_and_warnings(
    fixture: str,
    edits: dict[str, Any],
    visits_used: int,
    route: str,
    problems: list[str],
    warnings: list[str],
) -> None:
    decision = decide(edited(fixture, edits), PRACTICE, visits_used=visits_used)
    assert decision.route == route
    assert decision.problem_codes == problems
    assert decision.warning_codes == warnings


def test_scenarios_cover_every_problem_and_warning_code() -> None:
    seen = {code for s in SCENARIOS for code in (*s[5], *s[6])}
    assert seen >= set(codes.CODE_ORDER)
    assert {s[4] for s in SCENARIOS} == set(codes.ROUTES)


def test_codes_are_the_contract_spellings() -> None:
    assert set(codes.CODE_ORDER) == codes.PROBLEM_CODES | codes.WARNING_CODES
    assert not codes.PROBLEM_CODES & codes.WARNING_CODES
    assert len(codes.CODE_ORDER) == 28  # the contract's 26, claim_data_invalid and place_of_service_unusual
    assert codes.VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE == "va_referral_not_approved_before_service"
    assert codes.ROUTES == ("direct_billing", "courtesy_submission", "statement_only", "needs_attention")


@pytest.mark.parametrize(
    ("fixture", "route"),
    [
        ("va_direct", "direct_billing"),
        ("commercial_courtesy", "courtesy_submission"),
        ("commercial_statement", "statement_only"),
        ("self_pay", "statement_only"),
        ("va_missing_referral", "needs_attention"),
    ],
)
def test_bundled_examples_get_their_expected_routes(fixture: str, route: str) -> None:
    assert decide(edited(fixture), PRACTICE).route == route


def test_va_direct_example_produces_the_contract_document() -> None:
    document = decide(edited("va_direct"), PRACTICE).model_dump(mode="json")
    for line in document["superbill"]["lines"]:
        line.pop("body_regions")
        line.pop("description")
    assert document == {
        "claim_id": "ses_va_direct",
        "session_id": "ses_va_direct",
        "route": "direct_billing",
        "problems": [],
        "warnings": [],
        "superbill": {
            "date_of_service": "2026-11-20",
            "place_of_service": "11",
            "diagnosis_codes": ["M54.50", "M62.830"],
            "lines": [
                {
                    "cpt": "97140",
                    "modifiers": ["GP", "XS"],
                    "minutes": 30,
                    "units": 2,
                    "charge": "140.00",
                    "diagnosis_pointers": [1, 2],
                },
                {
                    "cpt": "97124",
                    "modifiers": ["GP"],
                    "minutes": 30,
                    "units": 2,
                    "charge": "120.00",
                    "diagnosis_pointers": [1, 2],
                },
            ],
            "total_charge": "260.00",
            "amount_paid": "0.00",
            "balance_due": "0.00",
        },
    }


def _lines(decision: Decision) -> list[tuple[str, list[str], int, int, str]]:
    assert decision.superbill is not None
    return [
        (line.cpt, line.modifiers, line.minutes, line.units, f"{line.charge:.2f}")
        for line in decision.superbill.lines
    ]


def test_veteran_units_follow_the_cms_total_time_rule() -> None:
    services = two_lines(24, "lumbar", 23, "neck")
    decision = decide(edited("va_direct", {"session.services": services}), PRACTICE)
    assert _lines(decision) == [("97140", ["GP", "XS"], 24, 2, "140.00"), ("97124", ["GP"], 23, 1, "60.00")]
    assert decision.superbill is not None and decision.superbill.total_charge == Decimal("200.00")


def test_ten_and_ten_minutes_bill_one_unit_for_the_va_and_two_for_a_commercial_payer() -> None:
    services = two_lines(10, "lumbar", 10, "neck")
    va = decide(edited("va_direct", {"session.services": services}), PRACTICE)
    commercial = decide(edited("commercial_courtesy", {"session.services": services}), PRACTICE)
    assert _lines(va) == [("97140", ["GP"], 10, 1, "70.00")]
    assert _lines(commercial) == [("97140", ["XS"], 10, 1, "70.00"), ("97124", [], 10, 1, "60.00")]


def test_lines_of_one_cpt_are_merged_with_their_regions() -> None:
    services = [
        {"cpt": "97124", "minutes": 10, "body_region": "neck"},
        {"cpt": "97140", "minutes": 10, "body_region": "lumbar"},
        {"cpt": "97124", "minutes": 20, "body_region": "shoulder"},
    ]
    decision = decide(edited("va_direct", {"session.services": services}), PRACTICE)
    assert decision.route == "direct_billing"
    assert _lines(decision) == [("97124", ["GP"], 30, 2, "120.00"), ("97140", ["GP", "XS"], 10, 1, "70.00")]
    assert decision.superbill is not None
    assert decision.superbill.lines[0].body_regions == ["neck", "shoulder"]


def test_merged_lines_sharing_any_region_with_the_other_code_are_the_same_region() -> None:
    services = [
        {"cpt": "97140", "minutes": 15, "body_region": "lumbar"},
        {"cpt": "97140", "minutes": 15, "body_region": "neck"},
        {"cpt": "97124", "minutes": 30, "body_region": "Neck"},
    ]
    decision = decide(edited("va_direct", {"session.services": services}), PRACTICE)
    assert decision.problem_codes == [codes.NCCI_SAME_REGION]
    assert "neck" in decision.problems[0].message
    assert _lines(decision)[0][1] == ["GP"]


def test_statement_leaves_invalid_diagnoses_off_but_a_va_claim_keeps_them() -> None:
    diagnoses = {"prescription.diagnosis_codes": ["Z99.99", "M54.5", "M54.50", "m62830"]}
    statement = decide(edited("commercial_statement", diagnoses), PRACTICE)
    assert statement.superbill is not None
    assert statement.superbill.diagnosis_codes == ["M54.50", "M62.830"]
    assert all(ln.diagnosis_pointers == [1, 2] for ln in statement.superbill.lines)
    va = decide(edited("va_direct", diagnoses), PRACTICE)
    assert va.superbill is not None
    assert va.superbill.diagnosis_codes == ["Z99.99", "M54.5", "M54.50", "M62.830"]


def test_lines_point_to_the_first_four_diagnoses_in_the_physicians_order() -> None:
    diagnoses = ["M62.830", "M54.50", "M54.2", "M25.511", "M79.18"]
    decision = decide(edited("va_direct", {"prescription.diagnosis_codes": diagnoses}), PRACTICE)
    assert decision.route == "direct_billing"
    assert decision.superbill is not None
    assert decision.superbill.diagnosis_codes == diagnoses
    assert all(ln.diagnosis_pointers == [1, 2, 3, 4] for ln in decision.superbill.lines)


def test_statement_without_prescription_has_no_diagnoses() -> None:
    decision = decide(edited("self_pay"), PRACTICE)
    assert decision.superbill is not None
    assert decision.superbill.diagnosis_codes == []
    assert all(ln.diagnosis_pointers == [] for ln in decision.superbill.lines)


@pytest.mark.parametrize(
    ("edits", "superbill"),
    [
        ({"session.therapist_id": "thr_nobody"}, False),
        ({"session.services": two_lines(3, "a", 3, "b")}, False),
        ({"session.therapist_id": "thr_badnpi"}, True),
        ({"va_referral": DELETE}, True),
    ],
)
def test_superbill_exists_when_the_therapist_is_known_and_a_line_has_units(
    edits: dict[str, Any], superbill: bool
) -> None:
    decision = decide(edited("va_direct", edits), PRACTICE)
    assert (decision.superbill is not None) is superbill


def test_veteran_whose_claim_needs_attention_owes_the_total() -> None:
    decision = decide(edited("va_direct", {"va_referral.valid_until": "2026-11-01"}), PRACTICE)
    assert decision.route == "needs_attention"
    assert decision.superbill is not None
    assert decision.superbill.balance_due == Decimal("260.00")
    assert "260.00" in decision.warnings[0].message


def test_veteran_billed_directly_owes_nothing_even_after_paying() -> None:
    decision = decide(edited("va_direct", {"payment.amount_collected": "50.00"}), PRACTICE)
    assert decision.superbill is not None
    assert decision.superbill.amount_paid == Decimal("50.00")
    assert decision.superbill.balance_due == Decimal("0.00")
    assert "50.00" in decision.warnings[0].message


def test_self_pay_uses_its_own_payer_rules_when_present() -> None:
    services = {"session.services": two_lines(10, "lumbar", 10, "neck")}
    self_pay_rules = '\n[payers.self_pay]\nunit_rule = "cms"\ngp_modifier = true\n'
    with_self_pay = practice_from(PRACTICE_TOML + self_pay_rules)
    assert _lines(decide(edited("self_pay", services), with_self_pay)) == [("97140", ["GP"], 10, 1, "70.00")]
    assert _lines(decide(edited("self_pay", services), PRACTICE)) == [
        ("97140", ["XS"], 10, 1, "70.00"),
        ("97124", [], 10, 1, "60.00"),
    ]


def test_ncci_modifier_setting_of_the_practice_is_used() -> None:
    practice = practice_from(PRACTICE_TOML + '\n[coding]\nncci_modifier = "59"\nncci_modifier_on = "97124"\n')
    assert _lines(decide(edited("va_direct"), practice)) == [
        ("97140", ["GP"], 30, 2, "140.00"),
        ("97124", ["GP", "59"], 30, 2, "120.00"),
    ]


def test_long_session_id_gets_a_stable_short_claim_id() -> None:
    session_id = "booking-system/session/0000000000001001"
    first = decide(edited("va_direct", {"session.session_id": session_id}), PRACTICE)
    again = decide(edited("va_direct", {"session.session_id": session_id}), PRACTICE)
    assert first.session_id == session_id
    assert len(first.claim_id) == 20
    assert first.claim_id == again.claim_id


def test_date_of_service_is_the_local_date_of_the_start() -> None:
    # 23:30 at -06:00 is already the next day in UTC; the referral ends on the local day.
    edits = {
        "session.started_at": "2026-12-30T23:00:00-06:00",
        "session.ended_at": "2026-12-31T00:30:00-06:00",
    }
    decision = decide(edited("va_direct", edits), PRACTICE)
    assert decision.route == "direct_billing"
    assert decision.superbill is not None
    assert str(decision.superbill.date_of_service) == "2026-12-30"


@pytest.mark.parametrize(
    ("fixture", "edits", "needed"),
    [
        ("va_direct", {}, True),
        ("commercial_courtesy", {}, True),
        ("commercial_courtesy", {"coverage.payer_name": "Acme Health Plan"}, False),
        ("commercial_statement", {}, False),
        ("self_pay", {"coverage.courtesy_submission": True}, False),
    ],
)
def test_prescription_is_needed_only_for_va_and_courtesy_to_a_covering_carrier(
    fixture: str, edits: dict[str, Any], needed: bool
) -> None:
    assert prescription_needed(edited(fixture, edits), PRACTICE) is needed


def test_a_va_claim_the_client_paid_5_for_with_a_relaxation_goal_is_billed_directly_with_two_warnings() -> None:
    event = edited("va_direct", {"payment.amount_collected": "5.00", "session.goal": "relaxation"})
    decision = decide(event, PRACTICE)
    assert decision.route == "direct_billing"
    assert decision.problems == []
    # relaxation with 97140 billed; a VA-billed client paid something: refund due (CONTRACT.md 2.2)
    assert [w.code for w in decision.warnings] == ["code_goal_mismatch", "va_payment_collected"]
    assert decision.superbill is not None
    assert (decision.superbill.total_charge, decision.superbill.amount_paid, decision.superbill.balance_due) == (
        Decimal("260.00"), Decimal("5.00"), Decimal("0.00"))  # direct billing: the veteran owes nothing
    draft = assemble(event, PRACTICE).superbill
    assert draft is not None and draft.balance_due == Decimal("255.00")  # the draft, before the route


def test_ordered_keeps_each_code_once_in_table_order() -> None:
    items = [
        Finding(code=codes.BALANCE_DUE, message="b"),
        Finding(code=codes.THERAPIST_UNKNOWN, message="first"),
        Finding(code=codes.THERAPIST_UNKNOWN, message="second"),
        Finding(code=codes.CARRIER_EXCLUDES_MASSAGE, message="c"),
    ]
    assert [(f.code, f.message) for f in ordered(items)] == [
        (codes.THERAPIST_UNKNOWN, "first"),
        (codes.CARRIER_EXCLUDES_MASSAGE, "c"),
        (codes.BALANCE_DUE, "b"),
    ]


PRIVATE = {
    "client.first_name": "Zebediah",
    "client.last_name": "Quillfeather",
    "client.date_of_birth": "1961-07-04",
    "client.address": {"line1": "77 Privet Lane", "city": "Gotham", "state": "NJ", "postal_code": "07001"},
    "client.email": "zq@example.org",
    "client.phone": "+1-973-555-0142",
    "coverage.member_id": "MBR998877",
}
PRIVATE_VALUES = [
    "Zebediah",
    "Quillfeather",
    "1961-07-04",
    "Privet",
    "Gotham",
    "07001",
    "zq@",
    "555-0142",
    "MBR998877",
]


@pytest.mark.parametrize(
    ("fixture", "edits", "visits_used"),
    [s[1:4] for s in SCENARIOS],
    ids=[s[0] for s in SCENARIOS],
)
def test_messages_never_carry_patient_data(fixture: str, edits: dict[str, Any], visits_used: int) -> None:
    decision = decide(edited(fixture, {**edits, **PRIVATE}), PRACTICE, visits_used=visits_used)
    messages = [f.message for f in (*decision.problems, *decision.warnings)]
    for message in messages:
        assert message.strip()
        for value in PRIVATE_VALUES:
            assert value not in message


def test_messages_name_the_offending_items() -> None:
    decision = decide(
        edited(
            "va_direct",
            {
                "session.therapist_id": "thr_badnpi",
                "prescription.diagnosis_codes": ["Z99.99", "A99.99"],
                "va_referral.procedures": [],
                "session.services": two_lines(30, "lumbar", 5, "neck"),
                "payment.amount_collected": "0.00",
            },
        ),
        PRACTICE,
    )
    by_code = {f.code: f.message for f in (*decision.problems, *decision.warnings)}
    assert "1245319590" in by_code[codes.THERAPIST_NPI_INVALID]
    assert "Z99.99" in by_code[codes.DIAGNOSIS_INVALID] and "A99.99" in by_code[codes.DIAGNOSIS_INVALID]
    assert "97140" in by_code[codes.VA_PROCEDURE_NOT_AUTHORIZED]
    assert "97124 (5 min)" in by_code[codes.ZERO_UNIT_LINE]
    assert "140.00" in by_code[codes.BALANCE_DUE]


def test_unknown_therapist_message_names_the_therapist_id() -> None:
    decision = decide(edited("self_pay", {"session.therapist_id": "thr_ghost"}), PRACTICE)
    assert decision.problem_codes == [codes.THERAPIST_UNKNOWN]
    assert "thr_ghost" in decision.problems[0].message


def test_no_billable_time_names_each_line() -> None:
    decision = decide(edited("va_direct", {"session.services": two_lines(4, "a", 3, "b")}), PRACTICE)
    message = decision.problems[0].message
    assert "97140 (4 min)" in message and "97124 (3 min)" in message and "CMS" in message


@pytest.mark.parametrize(("edits", "field"), [
    ({"coverage.member_id": "JD*19700101"}, "coverage.member_id"),
    ({"coverage.member_id": "JD~1970"}, "coverage.member_id"),
    ({"client.address.state": "Illinois"}, "client.address.state"),
    ({"client.address.postal_code": "6270"}, "client.address.postal_code"),
])
def test_veteran_whose_data_an_837p_cannot_carry_needs_attention(edits: dict[str, Any], field: str) -> None:
    decision = decide(edited("va_direct", edits), PRACTICE)
    assert decision.route == "needs_attention"
    problem = next(p for p in decision.problems if p.code == "claim_data_invalid")
    assert field in problem.message
    value = next(iter(edits.values()))
    assert value not in problem.message  # fields are named, patient data is not


def test_commercial_client_data_is_not_held_to_x12_rules() -> None:
    decision = decide(edited("commercial_courtesy", {"client.address.state": "Illinois"}), PRACTICE)
    assert decision.route == "courtesy_submission"
