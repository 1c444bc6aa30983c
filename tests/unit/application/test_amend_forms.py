"""The fix forms: filled from the claim's event, turned into the same amendment an expert would type, and a
client found by name, member id, claim id or date."""

from __future__ import annotations

import pytest

from pipeline.application.amend_forms import FORMS, field_of, form_values, label_of, patch_from, typed_values
from pipeline.application.client_identity import as_date, identity_of, matches
from pipeline.domain.intake import InputRejected, parse_event_document
from tests.examples import example

EVENT = example("va_direct")


def test_each_form_filled_from_an_event_gives_that_event_back() -> None:
    for section in FORMS:
        values = form_values(section, EVENT)
        patch = patch_from(section, values)
        rebuilt = {**EVENT, section: {**EVENT[section], **patch[section]}}
        parsed, original = parse_event_document(rebuilt), parse_event_document(EVENT)
        assert getattr(parsed, section) == getattr(original, section), section


def test_a_referral_typed_into_the_form_becomes_a_typed_amendment() -> None:
    values = {"referral_number": " VA0012345678 ", "administrator": "optum", "approved_on": "2026-09-28",
              "valid_from": "2026-10-01", "valid_until": "2026-12-30", "visits_authorized": "12",
              "procedures": "97124, 97140", "region": "", "seoc": ""}
    assert patch_from("va_referral", values) == {"va_referral": {
        "referral_number": "VA0012345678", "administrator": "optum", "approved_on": "2026-09-28",
        "valid_from": "2026-10-01", "valid_until": "2026-12-30", "visits_authorized": 12,
        "procedures": ["97124", "97140"], "region": None, "seoc": None}}


def test_a_typing_mistake_is_left_for_validation_to_name() -> None:
    patch = patch_from("va_referral", {"visits_authorized": "twelve", "referral_number": ""})
    assert patch["va_referral"]["visits_authorized"] == "twelve"
    assert patch["va_referral"]["referral_number"] == ""
    assert patch["va_referral"]["approved_on"] == ""


def test_checkboxes_and_service_lines() -> None:
    class Form(dict[str, str]):
        def getlist(self, name: str) -> list[str]:
            return ["97140"] if name == "procedures" else []

    form = Form({"signed": "1", "services.0.cpt": "97140", "services.0.minutes": "30",
                 "services.0.body_region": "lumbar"})
    values = typed_values("prescription", form, form.getlist)
    assert values["procedures"] == "97140" and values["signed"] == "1"
    assert patch_from("prescription", values)["prescription"]["signed"] is True
    assert patch_from("prescription", {**values, "signed": ""})["prescription"]["signed"] is False
    session = patch_from("session", typed_values("session", form))["session"]
    assert session["services"] == [{"cpt": "97140", "minutes": 30, "body_region": "lumbar"}]


def test_a_client_is_found_by_name_member_id_claim_id_or_date() -> None:
    who = identity_of(EVENT)
    assert (who.name, who.date_of_birth, who.member_id) == ("John Doe", "1970-01-01", "123456789")
    def found(query: str) -> bool:
        return matches(query, who, claim_id="ses_va_direct", session_id="ses_va_direct",
                       date_of_service="2026-11-20")

    assert all(found(q) for q in ("john", "DOE", "john doe", "12345", "ses_va", "2026-11-20", "11/20/2026",
                                  "doe 1970-01-01"))
    assert not any(found(q) for q in ("jane", "doe 2026-11-21", "999"))
    assert as_date("2/30/2026") is None and as_date("2026-02-03") is not None
    assert identity_of({"client": "odd"}).name == ""


def test_a_client_is_found_by_name_typed_without_its_accents_or_with_them() -> None:
    """The front desk types `garcia` for García, `zoe nunez` for Zoë Ñúñez, `AMELIE` for Amélie: found."""
    def found(query: str, first: str, last: str) -> bool:
        doc = {**EVENT, "client": {**EVENT["client"], "first_name": first, "last_name": last}}
        return matches(query, identity_of(doc), claim_id="ses_1", session_id="ses_1", date_of_service="2026-11-20")

    assert found("garcia", "José", "García") and found("JOSE GARCÍA", "José", "García")
    assert found("zoe nunez", "Zoë", "Ñúñez-O'Brien") and found("amelie", "Amélie", "Poulain")
    assert found("strasse", "Hans", "Straße") and found("Петров", "Владимир", "Петров")
    assert not found("garcio", "José", "García")


@pytest.mark.parametrize(("section", "field", "typed", "label"), [
    ("va_referral", "visits_authorized", "-3", "Visits authorised"),
    ("va_referral", "approved_on", "soon", "Approved on"),
    ("va_referral", "administrator", "va", "Administrator"),
    ("prescription", "physician.npi", "", "Physician's NPI"),
    ("prescription", "diagnosis_codes", "M54.50, hello", "Diagnosis codes"),
    ("client", "address.postal_code", "", "ZIP code"),
    ("session", "services.1.minutes", "999", "Services, line 2, minutes"),
    ("payment", "amount_collected", "1.234", "Amount collected"),
])
def test_an_error_in_a_typed_form_is_put_beside_the_field_it_is_about(section: str, field: str, typed: str,
                                                                       label: str) -> None:
    """The event's own validation names a field by its path; the page shows it beside that field, by its label."""
    values = {**form_values(section, EVENT), field: typed}
    document = {**EVENT, section: {**EVENT[section], **patch_from(section, values)[section]}}
    with pytest.raises(InputRejected) as refused:
        parse_event_document(document)
    fields = {field_of(section, e.path) for e in refused.value.errors}
    assert field in fields, [e.path for e in refused.value.errors]
    assert label_of(section, field) == label


def test_a_path_outside_the_forms_fields_stays_above_the_form() -> None:
    assert field_of("client", "coverage.member_id") is None
    assert field_of("session", "session.session_id") is None
    assert field_of("json", "prescription.issued_on") is None
    assert field_of("va_referral", "va_referral") is None
