"""A claim's page opens the form that fixes its problem first and marks every form that fixes one."""

from __future__ import annotations

from pipeline.entrypoints.web.ops_page.views import forms_wanted


def claim(*problems: tuple[str, str]) -> dict[str, object]:
    return {"problems": [{"code": code, "message": message} for code, message in problems]}


def test_data_an_837p_cannot_carry_wants_the_forms_of_the_fields_it_names() -> None:
    c = claim(("claim_data_invalid", "the 837P cannot carry this data as sent: coverage.member_id: member id "
                                     "contains characters an 837P cannot carry; client.address.city: city is longer "
                                     "than 30 characters (N401)"))
    assert forms_wanted(c)[:2] == ["coverage", "client"]


def test_a_problem_with_a_form_of_its_own_wants_that_form() -> None:
    assert forms_wanted(claim(("va_referral_missing", "a VA CCN client needs an approved referral"))) == [
        "va_referral"]
    assert forms_wanted(claim(("prescription_unsigned", "the prescription is not signed"),
                              ("va_referral_missing", "none on file"))) == ["prescription", "va_referral"]


def test_the_reasons_of_a_claim_being_run_again_are_said_to_be_those_of_its_last_run() -> None:
    from pipeline.entrypoints.web.ops_page.views import reasons_note

    problems = [{"code": "va_referral_missing", "message": "none on file"}]
    assert 'id="in-progress"' in reasons_note({"status": "received", "problems": problems}, None)
    assert reasons_note({"status": "needs_attention", "problems": problems}, None) == ""
    assert reasons_note({"status": "accepted", "problems": []}, None) == ""
    still = reasons_note({"status": "needs_attention", "problems": problems},
                         {"route": "needs_attention", "problems": ["va_referral_outside_window"]})
    assert "still needs attention: va_referral_outside_window" in still


def test_an_error_on_a_service_line_is_shown_under_that_line_naming_its_part() -> None:
    from pipeline.application.amend_forms import FORMS
    from pipeline.entrypoints.web.ops_page.views import _field_html

    services = next(f for f in FORMS["session"].fields if f.name == "services")
    html = _field_html(services, {"services.1.cpt": "97124", "services.1.minutes": "50"}, "session",
                       {"services.1.body_region": ["must not be empty"], "services": ["100 minutes, more than 60"]})
    line_2 = html.split("Line 2:")[1].split("Line 3:")[0]
    assert "body region: must not be empty" in line_2
    assert html.index("100 minutes, more than 60") < html.index("Line 1:")


def test_a_correction_that_was_not_sent_is_shown_again_as_typed_with_why() -> None:
    from pipeline.entrypoints.web.ops_page.money import correctable, payment_block
    from pipeline.entrypoints.web.ops_page.views import FixState

    paid = {"claim_id": "ses_1", "status": "paid", "payer_claim_number": "PCN1", "remittance_ids": ["rem_000001"],
            "paid_amount": "260.00"}
    kept = FixState(section="correct", patch_text='{"prescription": {"diagnosis_codes": ["nope"]}}',
                    errors=[{"path": "(correction)", "message": "the amended event is not valid"},
                            {"path": "prescription.diagnosis_codes[0]", "message": '"nope" is not a code'}])
    html = payment_block(paid, kept)
    assert correctable(paid) and 'id="correction-errors"' in html
    assert "<li>the amended event is not valid</li>" in html and "prescription.diagnosis_codes[0]: " in html
    assert "&quot;nope&quot;" in html.split('aria-label="correction">')[1].split("</textarea>")[0]
    assert 'id="correction-errors"' not in payment_block(paid)
    assert not correctable({**paid, "status": "needs_attention"})
