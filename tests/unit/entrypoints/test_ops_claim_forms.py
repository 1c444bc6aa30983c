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


PAID = {"claim_id": "ses_1", "status": "paid", "payer_claim_number": "PCN1", "remittance_ids": ["rem_000001"],
        "paid_amount": "260.00", "problems": [], "amended_at": None}
DOCUMENT = {"coverage": {"kind": "va_ccn", "member_id": "123456789"}, "client": {"first_name": "John"}}
OK_PREVIEW = {"ok": True, "route": "direct_billing", "problems": [], "warnings": []}


def forms_of(html: str) -> dict[str, str]:
    """Each section form's HTML, by section."""
    return {part.split('"', 1)[0]: part.split("</form>", 1)[0] for part in html.split('data-section="')[1:]}


def test_a_paid_claim_is_corrected_in_the_section_forms_once_previewed_never_amended_in_place() -> None:
    from pipeline.entrypoints.web.ops_page.money import correctable
    from pipeline.entrypoints.web.ops_page.views import FixState, fix_forms

    assert correctable(PAID) and not correctable({**PAID, "status": "needs_attention"})
    opened = fix_forms("ses_1", PAID, DOCUMENT, FixState(), amendable=False, correctable=True)
    assert 'id="fix">Send a corrected claim</h2>' in opened and "replaces payer claim PCN1" in opened
    assert "Save amendment" not in opened
    forms = forms_of(opened)
    assert set(forms) == {"va_referral", "prescription", "coverage", "client", "session", "payment"}
    assert all("Send as a corrected claim" not in f and 'name="based_on" value="0"' in f for f in forms.values())
    previewed = fix_forms("ses_1", PAID, DOCUMENT, FixState(section="coverage", values={"member_id": "987654321"},
                                                            preview=OK_PREVIEW, based_on="0"),
                          amendable=False, correctable=True)
    coverage = forms_of(previewed)["coverage"]
    assert ('<button type="submit" name="action" value="correct" formaction="/ops/claims/ses_1/correct#fix" '
            'data-confirm="Send a corrected claim that replaces payer claim PCN1?">Send as a corrected claim'
            '</button>') in coverage
    assert "Save amendment" not in previewed and 'value="987654321"' in coverage
    assert "The rules find no problem." in coverage and "until you press Send as a corrected claim." in coverage
    assert "Send as a corrected claim" not in forms_of(previewed)["client"]


def test_a_denied_claim_can_be_saved_or_sent_as_a_corrected_claim_and_a_parked_one_only_saved() -> None:
    from pipeline.entrypoints.web.ops_page.views import FixState, fix_forms

    state = FixState(section="coverage", values={"member_id": "987654321"}, preview=OK_PREVIEW, based_on="0")
    denied = forms_of(fix_forms("ses_1", {**PAID, "status": "denied"}, DOCUMENT, state, amendable=True,
                                correctable=True))["coverage"]
    assert "Save amendment" in denied and "Send as a corrected claim</button>" in denied
    parked = fix_forms("ses_1", {**PAID, "status": "needs_attention"}, DOCUMENT, state)
    assert "Save amendment" in forms_of(parked)["coverage"] and "corrected claim" not in parked


def test_a_correction_that_was_not_sent_is_shown_again_as_typed_with_why_beside_the_fields() -> None:
    from pipeline.entrypoints.web.ops_page.views import FixState, fix_forms

    kept = FixState(section="client", values={"first_name": "John", "date_of_birth": "soon"}, correcting=True,
                    based_on="0", errors=[{"path": "(correction)", "message": "the amended event is not valid"},
                                          {"path": "client.date_of_birth", "message": "is not a date"}])
    client = forms_of(fix_forms("ses_1", PAID, DOCUMENT, kept, amendable=False, correctable=True))["client"]
    assert 'id="correction-errors">Not sent:<ul><li>the amended event is not valid</li>' in client
    assert "<li>Date of birth: is not a date</li>" in client and "client.date_of_birth" not in client
    assert 'value="soon" id="client-date_of_birth" required aria-invalid="true"' in client
    saved = FixState(section="client", values={}, errors=[{"path": "(claim)", "message": "x"}])
    assert "Not saved:" in fix_forms("ses_1", {**PAID, "status": "denied"}, DOCUMENT, saved)


def test_the_payment_block_keeps_the_void_as_one_confirmed_button_and_points_at_the_forms() -> None:
    from pipeline.entrypoints.web.ops_page.money import payment_block

    html = payment_block(PAID)
    assert 'action="/ops/claims/ses_1/void" data-confirm="Void payer claim PCN1?' in html
    assert '<a href="#fix">below</a>' in html and "<textarea" not in html
    assert "Void this claim" not in payment_block({**PAID, "status": "voided"})


def test_a_posted_fix_form_becomes_the_change_it_means() -> None:
    from starlette.datastructures import FormData

    from pipeline.entrypoints.web.ops_page.views import typed_change

    state, patch = typed_change(FormData([("section", "coverage"), ("kind", "va_ccn"), ("member_id", " 987 "),
                                          ("based_on", "12.000001")]))
    assert (state.section, state.based_on, state.values["member_id"]) == ("coverage", "12.000001", " 987 ")
    assert patch is not None and patch["coverage"]["member_id"] == "987" and patch["coverage"]["kind"] == "va_ccn"
    state, patch = typed_change(FormData([("patch", "[1]")]), what="correction")
    assert patch is None and state.errors[0]["path"] == "(correction)" and "JSON object" in state.errors[0]["message"]
    assert typed_change(FormData([("section", "json"), ("patch", "  ")]))[1] == {}
    assert typed_change(FormData([("patch", '{"coverage": {"member_id": "1"}}')]))[1] == {
        "coverage": {"member_id": "1"}}


def test_a_value_the_list_does_not_offer_stays_chosen_so_saving_the_form_keeps_it() -> None:
    """A session at an assisted living facility (13): saving the session form to fix its minutes used to send
    11, the first choice the browser shows when the event's own value is not in the list."""
    from pipeline.application.amend_forms import FORMS
    from pipeline.entrypoints.web.ops_page.views import _field_html

    place = next(f for f in FORMS["session"].fields if f.name == "place_of_service")
    html = _field_html(place, {"place_of_service": "13"}, "session")
    assert '<option value="13" selected>' in html and html.count(" selected") == 1
    usual = _field_html(place, {"place_of_service": "12"}, "session")
    assert '<option value="12" selected>' in usual and 'value="13"' not in usual and usual.count("<option") == 2
