"""Input errors of CONTRACT.md section 1: every offending field named by its path, all at once."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pipeline.domain.intake import InputRejected, MalformedJson, field_path, parse_event
from tests.examples import example

FIXTURE = example("va_direct")


def errors_of(mutate: Any) -> dict[str, str]:
    doc = copy.deepcopy(FIXTURE)
    mutate(doc)
    with pytest.raises(InputRejected) as caught:
        parse_event(json.dumps(doc))
    return {e.path: e.message for e in caught.value.errors}


def _set(path: str, value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        if value is KeyError:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return mutate


@pytest.mark.parametrize(("path", "value", "expected_path", "words"), [
    ("event_id", KeyError, "event_id", "required"),
    ("event_type", "session.cancelled", "event_type", "session.completed"),
    ("session.therapist_id", KeyError, "session.therapist_id", "required"),
    ("session.services.0.cpt", "97110", "session.services[0].cpt", "97110"),
    ("session.services.0.minutes", -1, "session.services[0].minutes", "at least 0"),
    ("session.services.0.minutes", 241, "session.services[0].minutes", "at most 240"),
    ("session.services.0.minutes", "thirty", "session.services[0].minutes", "whole number"),
    ("session.services", [], "session.services", "must not be empty"),
    ("session.services", [{"cpt": "97124", "minutes": 5, "body_region": "neck"}] * 5, "session.services",
     "at most 4"),
    ("session.ended_at", "2026-11-20T13:00:00-06:00", "session.ended_at", "before started_at"),
    ("session.started_at", "2026-11-20T14:00:00", "session.started_at", "offset"),
    ("session.goal", "sleepy", "session.goal", "functional"),
    ("client.sex", "X", "client.sex", "M"),
    # every text has a bound: a 100,000-character name would cost each of the claim's PDFs seconds of CPU
    ("client.last_name", "X" * 201, "client.last_name", "at most 200 characters"),
    ("client.address.line2", "X" * 201, "client.address.line2", "at most 200 characters"),
    ("client.email", "a" * 250 + "@b.co", "client.email", "at most 254 characters"),
    ("session.session_id", "s" * 101, "session.session_id", "at most 100 characters"),
    ("coverage.member_id", "9" * 201, "coverage.member_id", "at most 200 characters"),
    ("va_referral.procedures", ["97124"] * 21, "va_referral.procedures", "at most 20"),
    ("client.date_of_birth", "01/01/1970", "client.date_of_birth", "date"),
    ("client.address.postal_code", KeyError, "client.address.postal_code", "required"),
    ("coverage.kind", "medicare", "coverage.kind", "va_ccn"),
    ("coverage.member_id", None, "coverage.member_id", "required when kind is va_ccn"),
    ("payment.method", "bitcoin", "payment.method", "card"),
    ("payment.amount_collected", "-5.00", "payment.amount_collected", "negative"),
    ("payment.amount_collected", "5.005", "payment.amount_collected", "two decimals"),
    ("payment.amount_collected", 5.5, "payment.amount_collected", "decimal string"),
    ("prescription.physician", KeyError, "prescription.physician", "required"),
    ("prescription.signed", KeyError, "prescription.signed", "required"),
    ("prescription.diagnosis_codes", ["M54.50"] * 13, "prescription.diagnosis_codes", "at most 12"),
    ("prescription.diagnosis_codes", ["M54.50", "back pain"], "prescription.diagnosis_codes[1]", "ICD-10-CM"),
    ("va_referral.administrator", "tricare", "va_referral.administrator", "optum"),
    ("va_referral.valid_until", KeyError, "va_referral.valid_until", "required"),
])
def test_each_input_error_names_the_field(path: str, value: Any, expected_path: str, words: str) -> None:
    errors = errors_of(_set(path, value))
    assert expected_path in errors, errors
    assert words in errors[expected_path]


def test_lines_adding_up_to_more_than_the_session_are_refused() -> None:
    errors = errors_of(_set("session.services.0.minutes", 45))
    assert "session.services" in errors
    assert "75 minutes" in errors["session.services"] and "60" in errors["session.services"]


def test_commercial_coverage_needs_a_payer_name() -> None:
    def mutate(doc: dict[str, Any]) -> None:
        doc["coverage"].update(kind="commercial", payer_name=None)
    assert "coverage.payer_name" in errors_of(mutate)


def test_every_error_is_reported_at_once() -> None:
    def mutate(doc: dict[str, Any]) -> None:
        doc["session"]["services"][1]["cpt"] = "97530"
        doc["client"].pop("last_name")
        doc["payment"]["method"] = "iou"
        doc["va_referral"]["administrator"] = "humana"
    errors = errors_of(mutate)
    assert {"session.services[1].cpt", "client.last_name", "payment.method",
            "va_referral.administrator"} <= set(errors)


def test_diagnosis_codes_are_accepted_in_any_case_and_written_dotted() -> None:
    doc = copy.deepcopy(FIXTURE)
    doc["prescription"]["diagnosis_codes"] = ["m5450", "M62.830", " g44.209 "]
    event = parse_event(json.dumps(doc))
    assert event.prescription is not None
    assert event.prescription.diagnosis_codes == ["M54.50", "M62.830", "G44.209"]


def test_unknown_fields_are_ignored_and_defaults_applied() -> None:
    doc = copy.deepcopy(FIXTURE)
    doc["something_new"] = {"x": 1}
    doc["client"].pop("sex")
    doc["session"].pop("place_of_service")
    event = parse_event(json.dumps(doc))
    assert event.client.sex == "U"
    assert event.session.place_of_service == "11"


def test_date_of_service_is_the_local_date_of_started_at() -> None:
    doc = copy.deepcopy(FIXTURE)
    doc["session"]["started_at"] = "2026-11-20T23:30:00-06:00"   # already the 21st in UTC
    doc["session"]["ended_at"] = "2026-11-21T00:30:00-06:00"
    assert parse_event(json.dumps(doc)).date_of_service.isoformat() == "2026-11-20"


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b"[1, 2"])
def test_malformed_json_is_its_own_error(raw: bytes) -> None:
    with pytest.raises(MalformedJson) as caught:
        parse_event(raw)
    assert caught.value.errors[0].path == "(body)"
    assert "malformed JSON" in caught.value.errors[0].message


def test_a_json_value_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InputRejected) as caught:
        parse_event(b"[]")
    assert caught.value.errors[0].message == "must be a JSON object"


def test_error_messages_do_not_echo_patient_data() -> None:
    def mutate(doc: dict[str, Any]) -> None:
        doc["client"]["date_of_birth"] = "not a date for John Doe"
        doc["client"]["sex"] = "John"
    errors = errors_of(mutate)
    assert not any("John" in m or "Doe" in m for m in errors.values())


def test_field_path_formats_indexes_in_brackets() -> None:
    assert field_path(("session", "services", 0, "cpt")) == "session.services[0].cpt"
    assert field_path(()) == "(body)"


@pytest.mark.parametrize(("path", "value", "expected_path"), [
    ("session.services.0.minutes", "30", "session.services[0].minutes"),
    ("session.services.0.minutes", True, "session.services[0].minutes"),
    ("prescription.signed", "yes", "prescription.signed"),
    ("prescription.signed", 1, "prescription.signed"),
    ("va_referral.visits_authorized", "12", "va_referral.visits_authorized"),
    ("coverage.courtesy_submission", "true", "coverage.courtesy_submission"),
    ("va_referral.region", "2", "va_referral.region"),
    ("payment.amount_collected", 260, "payment.amount_collected"),
    ("session.started_at", 1795204800, "session.started_at"),
    ("client.date_of_birth", "1970-01-01T00:00:00", "client.date_of_birth"),
    ("coverage.member_id", 123456789, "coverage.member_id"),
    ("payment.amount_collected", "-0.00", "payment.amount_collected"),
])
def test_a_wrong_json_type_is_refused_not_coerced(path: str, value: Any, expected_path: str) -> None:
    assert expected_path in errors_of(_set(path, value))


@pytest.mark.parametrize(("changes", "expected"), [
    ({"coverage.kind": "commercial", "coverage.member_id": None, "coverage.payer_name": None},
     {"coverage.member_id", "coverage.payer_name"}),
    ({"session.services.0.cpt": "97110", "session.ended_at": "2026-11-20T13:00:00-06:00"},
     {"session.services[0].cpt", "session.ended_at"}),
    ({"session.services.0.minutes": 300, "session.ended_at": "2026-11-20T13:00:00-06:00"},
     {"session.services[0].minutes", "session.ended_at"}),
    ({"coverage.group_number": 5, "coverage.member_id": None}, {"coverage.group_number", "coverage.member_id"}),
    ({"session.services.1.cpt": "97530", "session.services.0.minutes": 45},
     {"session.services[1].cpt", "session.services"}),
])
def test_cross_field_rules_are_reported_with_the_field_errors(changes: dict[str, Any], expected: set[str]) -> None:
    def mutate(doc: dict[str, Any]) -> None:
        for path, value in changes.items():
            _set(path, value)(doc)
    assert expected <= set(errors_of(mutate))


def test_too_many_lines_are_reported_with_their_own_errors() -> None:
    def mutate(doc: dict[str, Any]) -> None:
        doc["session"]["services"] = [{"cpt": "97110", "minutes": 5, "body_region": "neck"}] + [
            {"cpt": "97124", "minutes": 5, "body_region": "neck"}] * 4
        doc["prescription"]["diagnosis_codes"] = ["M54.50"] * 12 + ["hello"]
    errors = errors_of(mutate)
    assert errors["session.services"] == "must have at most 4 service lines"
    assert "session.services[0].cpt" in errors
    assert errors["prescription.diagnosis_codes"] == "must have at most 12 diagnosis codes"
    assert "prescription.diagnosis_codes[12]" in errors


def test_a_rule_broken_once_is_reported_once() -> None:
    errors = errors_of(_set("session.ended_at", "2026-11-20T13:00:00-06:00"))
    assert errors == {"session.ended_at": "must not be before started_at"}


def error_list(mutate: Any) -> list[tuple[str, str]]:
    doc = copy.deepcopy(FIXTURE)
    mutate(doc)
    with pytest.raises(InputRejected) as caught:
        parse_event(json.dumps(doc))
    return [(e.path, e.message) for e in caught.value.errors]


@pytest.mark.parametrize(("path", "value", "expected"), [
    # CONTRACT.md 1.4: each refused field is named once, with a plain sentence of what it must be
    ("event_type", "session.cancelled", ("event_type", "must be one of session.completed")),
    ("client.sex", "X", ("client.sex", "must be one of M, F or U")),
    ("coverage.kind", "medicare", ("coverage.kind", "must be one of va_ccn, commercial or self_pay")),
    ("session.services.0.minutes", -1, ("session.services[0].minutes", "must be at least 0")),
    ("session.services.0.minutes", 241, ("session.services[0].minutes", "must be at most 240")),
    ("session.place_of_service", "١١", ("session.place_of_service", "is not in the expected format")),
    ("session.services", [], ("session.services", "must not be empty")),
    ("client.first_name", "  ", ("client.first_name", "must not be empty")),
    ("client.first_name", KeyError, ("client.first_name", "is required")),
    ("session.services.0.minutes", "30", ("session.services[0].minutes", "must be a whole number")),
    ("prescription.signed", 1, ("prescription.signed", "must be true or false")),
    ("coverage.member_id", None, ("coverage.member_id", "is required when kind is va_ccn")),
    ("session.services", [{"cpt": "97124", "minutes": 5, "body_region": "neck"}] * 5,
     ("session.services", "must have at most 4 service lines")),
    ("session.ended_at", "2026-11-20T13:00:00-06:00", ("session.ended_at", "must not be before started_at")),
])
def test_each_refused_field_is_named_once_with_what_it_must_be(path: str, value: Any,
                                                               expected: tuple[str, str]) -> None:
    assert error_list(_set(path, value)) == [expected]

