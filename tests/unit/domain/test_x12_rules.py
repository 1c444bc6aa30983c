"""What an X12 element can carry: the exact reasons ops read for a VA claim's data an 837P cannot carry
(`claim_data_invalid`: the field and why, never its value), the element limits at their boundaries, and the
spelling of free text in the X12 character set."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.domain.intake import parse_event
from pipeline.domain.x12_rules import (
    ADDRESS_LINE,
    CITY,
    PERSON_LAST_NAME,
    CannotCarry,
    identifier,
    phone,
    required_text,
    state_code,
    x12_field_problems,
    x12_text,
    zip_code,
)
from schemas.event import SessionCompleted
from tests.examples import edited

NO_ASCII = "李"


def va_event(**edits: Any) -> SessionCompleted:
    """The VA example with dotted paths replaced (`client__first_name=` for `client.first_name`)."""
    return parse_event(json.dumps(edited("va_direct", **edits)))


def with_place_of_service(event: SessionCompleted, value: str) -> SessionCompleted:
    """An event whose place of service was set in code, past the input schema."""
    return event.model_copy(update={"session": event.session.model_copy(update={"place_of_service": value})})


def refusal(check: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(CannotCarry) as caught:
        check(*args, **kwargs)
    return str(caught.value)


# --- the reasons ops read, field by field -----------------------------------------------------------------
def test_the_example_va_claim_has_nothing_an_837p_cannot_carry() -> None:
    assert x12_field_problems(va_event()) == []


def test_every_field_an_837p_cannot_carry_is_named_with_its_reason_in_order() -> None:
    event = va_event(
        coverage__member_id="A",
        client__last_name=NO_ASCII,
        client__first_name=NO_ASCII,
        client__address__line1="L" * 56,
        client__address__city="C",
        client__address__state="XYZ",
        client__address__postal_code="1234",
        client__address__line2="M" * 56,
        prescription__physician__last_name=NO_ASCII,
        prescription__physician__first_name=NO_ASCII,
        va_referral__referral_number="R" * 51,
    )
    assert event.prescription is not None and event.va_referral is not None
    assert x12_field_problems(with_place_of_service(event, "1")) == [
        "coverage.member_id: member id is shorter than 2 characters",
        "client.last_name: client last name has letters or digits with no X12 (ASCII) spelling",
        "client.first_name: client first name has letters or digits with no X12 (ASCII) spelling",
        "client.address.line1: address line 1 is longer than 55 characters (N301)",
        "client.address.city: city is shorter than 2 characters (N401)",
        "client.address.state: client state is not a two-letter code",
        "client.address.postal_code: client ZIP code must have 5 or 9 digits",
        "session.place_of_service: place of service is shorter than 2 characters",
        "client.address.line2: address line 2 is longer than 55 characters (N301)",
        "prescription.physician.last_name: physician last name has letters or digits with no X12 (ASCII) spelling",
        "prescription.physician.first_name: physician first name has letters or digits with no X12 (ASCII) "
        "spelling",
        "va_referral.referral_number: referral number is longer than 50 characters",
    ]


def test_the_reasons_never_hold_the_values_they_refuse() -> None:
    event = va_event(client__address__line1="Z" * 56, client__address__state="QQQ",
                     client__address__postal_code="98765-43", va_referral__referral_number="VA" * 26)
    problems = " ".join(x12_field_problems(event))
    assert problems
    for value in ("ZZZZ", "QQQ", "98765", "VAVA"):
        assert value not in problems


def test_a_place_of_service_longer_than_two_characters_is_named() -> None:
    assert x12_field_problems(with_place_of_service(va_event(), "123")) == [
        "session.place_of_service: place of service is longer than 2 characters",
    ]


def test_city_and_address_line_1_are_held_to_their_elements_at_the_upper_bound() -> None:
    assert x12_field_problems(va_event(client__address__city="C" * 31)) == [
        "client.address.city: city is longer than 30 characters (N401)",
    ]
    assert x12_field_problems(va_event(client__address__city="C" * 30, client__address__line1="L" * 55)) == []


def test_a_referral_number_and_member_id_within_their_elements_are_carried() -> None:
    assert x12_field_problems(va_event(va_referral__referral_number="R" * 50, coverage__member_id="AB")) == []


def test_a_blank_second_address_line_is_no_problem() -> None:
    assert x12_field_problems(va_event(client__address__line2="   ")) == []


# --- free text: spelled in the X12 character set ----------------------------------------------------------
def test_a_missing_text_is_empty_not_a_placeholder() -> None:
    assert x12_text(None) == ""


@pytest.mark.parametrize(("value", "expected"), [
    ("O’Brien", "O'BRIEN"),              # typographic apostrophe: its plain form
    ("Renée Müller", "RENEE MULLER"),    # every accent dropped, the letters after it kept
    ("Øster", "OSTER"),                  # a letter Unicode does not decompose: its customary spelling
    ("Smith*Jones~^:", "SMITHJONES"),    # separators are never written into free text
    ("Anna\tMaria", "ANNA MARIA"),       # any whitespace is one space
    ("Café ©", "CAFE"),                  # a symbol with no X12 form is dropped, not a refusal
    (NO_ASCII, None),                    # a letter with no faithful ASCII form
    ("٣", None),                         # a digit with no faithful ASCII form
])
def test_free_text_is_spelled_faithfully_or_not_at_all(value: str, expected: str | None) -> None:
    assert x12_text(value) == expected


def test_required_text_refusals_say_why() -> None:
    assert refusal(required_text, NO_ASCII, "city") == "city has letters or digits with no X12 (ASCII) spelling"
    assert refusal(required_text, "-- ", "city") == \
        "city is empty once the characters X12 cannot carry are left out"
    assert refusal(required_text, "C", "city", CITY) == "city is shorter than 2 characters (N401)"
    assert refusal(required_text, "L" * 56, "address line 1", ADDRESS_LINE) == \
        "address line 1 is longer than 55 characters (N301)"


def test_required_text_takes_values_at_both_bounds_of_an_element() -> None:
    assert required_text("CC", "city", CITY) == "CC"
    assert required_text("L" * 55, "address line 1", ADDRESS_LINE) == "L" * 55


def test_a_name_longer_than_its_element_is_cut_without_a_trailing_space() -> None:
    assert required_text("A" * 61, "last name", PERSON_LAST_NAME) == "A" * 60
    cut_at_a_space = "B" * 59 + " " + "C" * 10
    assert required_text(cut_at_a_space, "last name", PERSON_LAST_NAME) == "B" * 59


# --- identifiers: sent exactly, or not at all ---------------------------------------------------------------
def test_identifier_refusals_say_why() -> None:
    assert refusal(identifier, None, "payer id") == "payer id is missing"
    assert refusal(identifier, "", "payer id") == "payer id is missing"
    assert refusal(identifier, " P1", "payer id") == "payer id starts or ends with a space"
    assert refusal(identifier, "P*1", "payer id") == "payer id contains characters an 837P cannot carry"
    assert refusal(identifier, "P" * 81, "payer id") == "payer id is longer than 80 characters"
    assert refusal(identifier, "P", "payer id", 2, min_length=2) == "payer id is shorter than 2 characters"


def test_an_identifier_within_the_default_bounds_is_sent_as_given() -> None:
    assert identifier("P", "payer id") == "P"
    assert identifier("P" * 80, "payer id") == "P" * 80
    assert identifier("a-1}", "payer id") == "a-1}"


# --- phone, ZIP code, state -------------------------------------------------------------------------------
def test_a_phone_is_ten_digits_after_an_optional_country_code_1() -> None:
    assert phone("+1 (503) 555-0100") == "5035550100"
    assert phone("503.555.0100") == "5035550100"
    message = "phone is not a 10-digit North American number"
    assert refusal(phone, "2 503 555 0100") == message  # 11 digits without the country code
    assert refusal(phone, "555-0100") == message


def test_a_zip_code_has_five_or_nine_ascii_digits() -> None:
    assert zip_code("97201", "client") == "97201"
    assert zip_code("97201-1234", "client") == "972011234"
    assert refusal(zip_code, "９７２０１", "client") == "client ZIP code has characters other than ASCII digits"
    assert refusal(zip_code, "9720112345", "client") == "client ZIP code must have 5 or 9 digits"
    assert refusal(zip_code, "9720", "client") == "client ZIP code must have 5 or 9 digits"


def test_a_zip_code_that_must_have_nine_digits_refuses_five() -> None:
    assert zip_code("97201-1234", "billing provider", nine_digits=True) == "972011234"
    assert refusal(zip_code, "97201", "billing provider", nine_digits=True) == \
        "billing provider ZIP code must have 9 digits"


def test_a_state_is_a_two_letter_code() -> None:
    assert state_code(" or ", "client") == "OR"
    assert refusal(state_code, "O1", "client") == "client state is not a two-letter code"


@pytest.mark.parametrize(("born", "refused"), [
    ("1970-01-01", False),
    ("2026-11-20", False),  # born on the date of service: a newborn's claim is valid
    ("2026-11-21", True),  # the payer's front-end edit: birth date after the date of service
    ("2027-01-01", True),
])
def test_a_birth_date_after_the_date_of_service_is_data_the_payer_rejects(born: str, refused: bool) -> None:
    problems = x12_field_problems(va_event(client__date_of_birth=born))
    assert problems == (["client.date_of_birth: after the date of service (DMG02)"] if refused else [])
    assert all(born not in p for p in problems)  # the reason never holds the value (a date of birth)
