"""Every problem and warning message, word for word, for the decision scenarios of test_decide.py: each names
what to fix and every offending item (CONTRACT.md 2.2), never patient data; a change of wording is deliberate."""

from __future__ import annotations

import pytest

from pipeline.domain.decide import decide
from tests.unit.domain.test_decide import PRACTICE, SCENARIOS, edited

# ruff: noqa: E501
MESSAGES = {
    'va_valid': [
    ],
    'courtesy_valid': [
    ],
    'statement': [
        ('courtesy_not_requested', 'the client did not ask for a courtesy submission: the client gets the statement'),
    ],
    'self_pay': [
    ],
    'va_missing_referral': [
        ('va_referral_missing', 'a VA CCN client needs an approved referral, and none is on file'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'therapist_unknown': [
        ('therapist_unknown', 'therapist thr_nobody is not in the practice profile'),
    ],
    'therapist_npi_invalid': [
        ('therapist_npi_invalid', 'therapist thr_badnpi has the NPI 1245319590, which fails the NPI check'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'therapist_npi_invalid_self_pay': [
        ('therapist_npi_invalid', 'therapist thr_badnpi has the NPI 1245319590, which fails the NPI check'),
    ],
    'va_no_prescription': [
        ('prescription_missing', 'no prescription is on file, and a VA CCN claim needs one'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'courtesy_no_prescription': [
        ('prescription_missing', 'no prescription is on file, and a courtesy submission needs one'),
    ],
    'statement_no_prescription': [
        ('courtesy_not_requested', 'the client did not ask for a courtesy submission: the client gets the statement'),
    ],
    'va_unsigned': [
        ('prescription_unsigned', 'the prescription rx_77 is not signed by the physician'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_prescription_issued_after_service': [
        ('prescription_not_yet_valid', 'the prescription rx_77 was issued on 2026-11-21, after the date of service 2026-11-20'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_prescription_issued_on_service_day': [
    ],
    'va_prescription_expired': [
        ('prescription_expired', 'the prescription rx_77 expired on 2026-11-19, before the date of service 2026-11-20'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_physician_npi_invalid': [
        ('physician_npi_invalid', "the prescribing physician's NPI 1679576723 fails the NPI check (10 digits, check digit)"),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_no_diagnosis': [
        ('diagnosis_missing', 'the prescription rx_77 lists no diagnosis code'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_diagnosis_invalid': [
        ('diagnosis_invalid', 'not in the ICD-10-CM code set: Z99.99'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_diagnosis_not_billable': [
        ('diagnosis_not_billable', 'ICD-10-CM categories, not billable (a more specific code is needed): M54.5'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_procedure_not_prescribed': [
        ('procedure_not_prescribed', 'billed but not prescribed: 97124 (prescribed: 97140)'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_referral_number_invalid': [
        ('va_referral_number_invalid', 'the referral number is not in a VA format (NNN-NNNNNN-NN, NNN-PC-NNNNNNN or VA followed by 10 digits, with nothing else)'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_triwest': [
        ('va_out_of_network', 'the referral is administered by triwest (region 4); the practice is in network only with optum'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_referral_approved_after_service': [
        ('va_referral_not_approved_before_service', 'the referral was approved on 2026-11-21, after the date of service 2026-11-20'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_referral_approved_on_service_day': [
    ],
    'va_expired_referral': [
        ('va_referral_outside_window', 'the date of service 2026-11-20 is outside the referral window 2026-10-01 to 2026-11-19'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_last_visit': [
    ],
    'va_visits_exhausted': [
        ('va_visits_exhausted', 'this session would be visit 13 on a referral that authorises 12 (12 already billed)'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_procedure_not_authorized': [
        ('va_procedure_not_authorized', 'billed but not authorised on the referral: 97140 (authorised: 97124)'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'va_same_region': [
        ('ncci_same_region', '97140 and 97124 are both billed on the same body region (lumbar); the pair needs separately documented regions, or one code left off'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'self_pay_same_region': [
        ('ncci_same_region', '97140 and 97124 are both billed on the same body region (lumbar); the pair needs separately documented regions, or one code left off'),
    ],
    'same_region_on_unbilled_line_is_no_pair': [
        ('courtesy_not_requested', 'the client did not ask for a courtesy submission: the client gets the statement'),
        ('zero_unit_line', '0 units under the AMA rule, left off the superbill: 97124 (5 min)'),
    ],
    'va_no_billable_time': [
        ('no_billable_time', 'no line reaches 1 unit under the CMS rule: 97140 (5 min), 97124 (2 min)'),
        ('zero_unit_line', '0 units under the CMS rule, left off the superbill: 97140 (5 min), 97124 (2 min)'),
    ],
    'self_pay_no_billable_time': [
        ('no_billable_time', 'no line reaches 1 unit under the AMA rule: 97140 (7 min), 97124 (7 min)'),
        ('zero_unit_line', '0 units under the AMA rule, left off the superbill: 97140 (7 min), 97124 (7 min)'),
    ],
    'courtesy_to_excluded_carrier': [
        ('carrier_excludes_massage', "ACME health plan is on the practice's list of carriers that do not cover massage: the client gets the statement"),
    ],
    'courtesy_to_excluded_carrier_needs_no_prescription': [
        ('carrier_excludes_massage', "Acme Health Plan is on the practice's list of carriers that do not cover massage: the client gets the statement"),
    ],
    'excluded_carrier_without_courtesy': [
        ('carrier_excludes_massage', "Acme Health Plan is on the practice's list of carriers that do not cover massage: the client gets the statement"),
        ('courtesy_not_requested', 'the client did not ask for a courtesy submission: the client gets the statement'),
    ],
    'excluded_carrier_with_expired_prescription_warns': [
        ('prescription_expired', 'the prescription rx_77 expired on 2026-01-01, before the date of service 2026-11-20'),
        ('carrier_excludes_massage', "Acme Health Plan is on the practice's list of carriers that do not cover massage: the client gets the statement"),
    ],
    'commercial_zero_unit_line': [
        ('courtesy_not_requested', 'the client did not ask for a courtesy submission: the client gets the statement'),
        ('zero_unit_line', '0 units under the AMA rule, left off the superbill: 97124 (7 min)'),
    ],
    'va_zero_unit_line_under_cms': [
        ('zero_unit_line', '0 units under the CMS rule, left off the superbill: 97124 (10 min)'),
    ],
    'functional_goal_with_massage_only': [
        ('code_goal_mismatch', 'the goal is functional but only 97124 (massage) is billed; functional work is 97140'),
    ],
    'functional_goal_with_unbilled_manual_therapy': [
        ('zero_unit_line', '0 units under the AMA rule, left off the superbill: 97140 (5 min)'),
        ('code_goal_mismatch', 'the goal is functional but only 97124 (massage) is billed; functional work is 97140'),
    ],
    'telehealth_place_of_service_on_a_va_claim': [
        ('place_of_service_unusual', "place of service 02 is telehealth, which a hands-on massage cannot be: insurers deny it; the practice gives massage at 11 (the office) or 12 (the client's home)"),
    ],
    'assisted_living_place_of_service': [
        ('place_of_service_unusual', "place of service 13 is neither 11 (the office) nor 12 (the client's home), where the practice gives massage: insurers may deny it; check the session's place of service"),
    ],
    'home_place_of_service': [
    ],
    'relaxation_goal_with_manual_therapy': [
        ('code_goal_mismatch', 'the goal is relaxation but 97140 (manual therapy) is billed; relaxation is 97124'),
    ],
    'relaxation_goal_with_massage_only': [
    ],
    'no_goal': [
    ],
    'self_pay_underpaid': [
        ('balance_due', 'paid 100.00 of 260.00: 160.00 is due'),
    ],
    'self_pay_overpaid': [
    ],
    'courtesy_underpaid': [
        ('balance_due', 'paid 259.99 of 260.00: 0.01 is due'),
    ],
    'va_payment_collected': [
        ('va_payment_collected', '20.00 was collected from a VA CCN client, who is never charged: refund it'),
    ],
    'va_needs_attention_with_payment_owes_the_rest': [
        ('va_referral_missing', 'a VA CCN client needs an approved referral, and none is on file'),
        ('balance_due', 'paid 20.00 of 260.00: 240.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'statement_with_defective_prescription_warns': [
        ('prescription_unsigned', 'the prescription rx_77 is not signed by the physician'),
        ('prescription_expired', 'the prescription rx_77 expired on 2026-11-01, before the date of service 2026-11-20'),
        ('physician_npi_invalid', "the prescribing physician's NPI 1245319590 fails the NPI check (10 digits, check digit)"),
        ('diagnosis_invalid', 'not in the ICD-10-CM code set: Z99.99'),
        ('diagnosis_not_billable', 'ICD-10-CM categories, not billable (a more specific code is needed): M54.5'),
        ('procedure_not_prescribed', 'billed but not prescribed: 97140 (prescribed: 97124)'),
        ('courtesy_not_requested', 'the client did not ask for a courtesy submission: the client gets the statement'),
    ],
    'courtesy_with_defective_prescription_needs_attention': [
        ('prescription_not_yet_valid', 'the prescription rx_77 was issued on 2026-12-01, after the date of service 2026-11-20'),
        ('diagnosis_missing', 'the prescription rx_77 lists no diagnosis code'),
    ],
    'self_pay_with_empty_prescription_warns': [
        ('diagnosis_missing', 'the prescription lists no diagnosis code'),
    ],
    'self_pay_courtesy_flag_is_ignored': [
    ],
    'referral_on_commercial_event_is_ignored': [
        ('courtesy_not_requested', 'the client did not ask for a courtesy submission: the client gets the statement'),
    ],
    'va_everything_wrong': [
        ('therapist_npi_invalid', 'therapist thr_badnpi has the NPI 1245319590, which fails the NPI check'),
        ('prescription_missing', 'no prescription is on file, and a VA CCN claim needs one'),
        ('va_referral_number_invalid', 'the referral number is not in a VA format (NNN-NNNNNN-NN, NNN-PC-NNNNNNN or VA followed by 10 digits, with nothing else)'),
        ('va_out_of_network', 'the referral is administered by triwest; the practice is in network only with optum'),
        ('va_referral_not_approved_before_service', 'the referral was approved on 2026-12-01, after the date of service 2026-11-20'),
        ('va_referral_outside_window', 'the date of service 2026-11-20 is outside the referral window 2026-12-01 to 2026-12-02'),
        ('va_visits_exhausted', 'this session would be visit 4 on a referral that authorises 0 (3 already billed)'),
        ('ncci_same_region', '97140 and 97124 are both billed on the same body region (lumbar); the pair needs separately documented regions, or one code left off'),
        ('code_goal_mismatch', 'the goal is relaxation but 97140 (manual therapy) is billed; relaxation is 97124'),
        ('balance_due', 'paid 10.00 of 260.00: 250.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
    'veteran_member_id_an_837p_cannot_carry': [
        ('claim_data_invalid', 'the 837P cannot carry this data as sent: coverage.member_id: member id contains characters an 837P cannot carry'),
        ('balance_due', 'paid 0.00 of 260.00: 260.00 is due (a veteran owes it only if this VA claim is never billed: fix it and resubmit first)'),
    ],
}


@pytest.mark.parametrize(("scenario", "fixture", "edits", "visits_used"),
                         [s[:4] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_each_problem_and_warning_message_names_what_to_fix(scenario: str, fixture: str, edits: dict[str, object],
                                                            visits_used: int) -> None:
    decision = decide(edited(fixture, edits), PRACTICE, visits_used=visits_used)
    assert [(f.code, f.message) for f in [*decision.problems, *decision.warnings]] == MESSAGES[scenario]


def test_every_scenario_has_its_messages_written_out() -> None:
    assert set(MESSAGES) == {s[0] for s in SCENARIOS}


def test_no_message_carries_the_patients_data() -> None:
    text = repr(MESSAGES)
    for patient_data in ("John", "Doe", "1970-01-01", "456 Oak", "XYZ123456789", "john@example.com"):
        assert patient_data not in text
