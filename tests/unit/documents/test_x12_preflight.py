"""Every accepted VA claim yields an 837P a clearinghouse takes: the pre-flight at routing, the renderer's
limits and transliteration, and the contract's edges (nulls, identifiers, empty referral numbers)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from config.practice import PracticeConfigError, load_practice
from pipeline.application.evaluate import evaluate
from pipeline.documents.x12_837p import render_837p
from pipeline.documents.x12_validation import validate_837p
from pipeline.domain import codes
from pipeline.domain.claim_ids import claim_id_for
from pipeline.domain.intake import InputRejected, parse_event
from pipeline.domain.x12_rules import CannotCarry, required_text, x12_text
from schemas.decision import Decision
from tests.examples import edited

ROOT = Path(__file__).parents[3]
PRACTICE = load_practice(None)
CREATED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def va_event(**edits: Any) -> dict[str, Any]:
    """The VA example with dotted paths replaced (`client__first_name=` for `client.first_name`)."""
    return edited("va_direct", **edits)


def decided(doc: dict[str, Any]) -> Decision:
    return evaluate(parse_event(json.dumps(doc)), PRACTICE)


def rendered(doc: dict[str, Any]) -> str:
    event = parse_event(json.dumps(doc))
    decision = evaluate(event, PRACTICE)
    assert decision.route == "direct_billing", decision.problems
    return render_837p(event, PRACTICE, decision, interchange_control_number=7, group_control_number=7,
                       created_at=CREATED)


def segment(x12: str, *prefix: str) -> list[str]:
    for seg in x12.split("~"):
        parts = seg.split("*")
        if parts[: len(prefix)] == list(prefix):
            return parts
    raise AssertionError(f"no segment {prefix}")


def data_problem(decision: Decision) -> str:
    assert decision.route == "needs_attention"
    problem = next(p for p in decision.problems if p.code == codes.CLAIM_DATA_INVALID)
    return problem.message


# --- no 837P at all, before: now needs attention, naming the field ----------------------------------------
def test_a_physician_last_name_with_no_ascii_spelling_needs_attention_naming_the_field() -> None:
    message = data_problem(decided(va_event(prescription__physician__last_name="李")))
    assert "prescription.physician.last_name" in message
    assert "李" not in message


def test_a_physician_last_name_of_only_separators_needs_attention() -> None:
    message = data_problem(decided(va_event(prescription__physician__last_name="***")))
    assert "prescription.physician.last_name" in message and "***" not in message


def test_a_place_of_service_in_non_ascii_digits_is_refused_as_input() -> None:
    with pytest.raises(InputRejected) as refused:
        parse_event(json.dumps(va_event(session__place_of_service="١١")))
    assert [e.path for e in refused.value.errors] == ["session.place_of_service"]


# --- 837Ps pyx12 rejected, before: cut to fit where X12 allows it, else needs attention ---------------------
def test_a_client_first_name_longer_than_nm104_is_cut_to_35_and_billed() -> None:
    x12 = rendered(va_event(client__first_name="A" * 36))
    assert segment(x12, "NM1", "IL")[4] == "A" * 35
    assert validate_837p(x12).ok


def test_a_physician_last_name_longer_than_nm103_is_cut_to_60_and_billed() -> None:
    x12 = rendered(va_event(prescription__physician__last_name="B" * 61))
    assert segment(x12, "NM1", "DN")[3] == "B" * 60
    assert validate_837p(x12).ok


def test_a_member_id_of_one_character_needs_attention() -> None:
    message = data_problem(decided(va_event(coverage__member_id="X")))
    assert "coverage.member_id" in message and "shorter than 2" in message


def test_a_city_longer_than_n401_needs_attention_instead_of_being_cut() -> None:
    message = data_problem(decided(va_event(client__address__city="C" * 31)))
    assert "client.address.city" in message and "C" * 31 not in message


def test_an_address_line_longer_than_n301_needs_attention_instead_of_being_cut() -> None:
    message = data_problem(decided(va_event(client__address__line1="1 " + "Long Street " * 5)))
    assert "client.address.line1" in message and "55" in message


def test_a_state_that_is_not_a_state_code_needs_attention() -> None:
    message = data_problem(decided(va_event(client__address__state="ZZ")))
    assert "client.address.state" in message and "ZZ" not in message


def test_a_place_of_service_that_is_not_a_place_of_service_code_needs_attention() -> None:
    message = data_problem(decided(va_event(session__place_of_service="00")))
    assert "session.place_of_service" in message


def test_names_are_transliterated_faithfully_and_billed() -> None:
    x12 = rendered(va_event(client__first_name="José", client__last_name="Weiß-Müller"))
    name = segment(x12, "NM1", "IL")
    assert (name[3], name[4]) == ("WEISS-MULLER", "JOSE")
    assert validate_837p(x12).ok


@pytest.mark.parametrize(("value", "expected"), [
    ("José", "JOSE"), ("Øre", "ORE"), ("O’Brien", "O'BRIEN"), ("Anne  Marie", "ANNE MARIE"), ("a*b~c", "ABC"),
    ("李", None), ("١١", None), ("Ωmega", None),
])
def test_x12_text_spells_what_it_can_faithfully_and_refuses_the_rest(value: str, expected: str | None) -> None:
    assert x12_text(value) == expected


def test_required_text_never_cuts_an_element_that_may_not_be_cut() -> None:
    from pipeline.domain.x12_rules import CITY, PERSON_LAST_NAME

    assert required_text("D" * 70, "last name", PERSON_LAST_NAME) == "D" * 60
    with pytest.raises(CannotCarry, match="longer than 30"):
        required_text("E" * 31, "city", CITY)


# --- the claim that cannot be billed uses no VA visit, and `check` tells the same truth --------------------
def test_superbill_check_tells_the_same_truth_as_the_pipeline(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(va_event(client__address__state="ZZ")))
    result = subprocess.run([sys.executable, "-m", "pipeline.entrypoints.cli", "check", str(path), "--json"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["route"] == "needs_attention"
    assert [p["code"] for p in document["problems"]] == [codes.CLAIM_DATA_INVALID]


# --- inputs: null means the default, identifiers as sent, an empty referral number is a problem -------------
@pytest.mark.parametrize(("edits", "read"), [
    ({"client__sex": None}, lambda e: e.client.sex == "U"),
    ({"session__place_of_service": None}, lambda e: e.session.place_of_service == "11"),
    ({"coverage__courtesy_submission": None}, lambda e: e.coverage.courtesy_submission is False),
    ({"session__goal": None}, lambda e: e.session.goal is None),
    ({"client__address__line2": None}, lambda e: e.client.address.line2 is None),
])
def test_null_for_an_optional_field_means_its_default(edits: dict[str, Any], read: Any) -> None:
    assert read(parse_event(json.dumps(va_event(**edits))))


def test_null_for_a_required_field_is_still_an_input_error() -> None:
    with pytest.raises(InputRejected) as refused:
        parse_event(json.dumps(va_event(client__last_name=None)))
    assert [e.path for e in refused.value.errors] == ["client.last_name"]


def test_a_session_id_with_a_trailing_space_gets_its_own_derived_claim_id() -> None:
    plain = parse_event(json.dumps(va_event(session__session_id="s1")))
    spaced = parse_event(json.dumps(va_event(session__session_id="s1 ")))
    assert spaced.session.session_id == "s1 "
    assert claim_id_for(spaced.session.session_id) != claim_id_for(plain.session.session_id) == "s1"
    assert evaluate(spaced, PRACTICE).claim_id == claim_id_for("s1 ")


def test_an_empty_referral_number_is_the_problem_va_referral_number_invalid() -> None:
    decision = decided(va_event(va_referral__referral_number=""))
    assert decision.route == "needs_attention"
    assert codes.VA_REFERRAL_NUMBER_INVALID in decision.problem_codes


def test_zero_unit_line_is_reported_even_when_no_line_is_billed() -> None:
    decision = decided(va_event(session__services=[{"cpt": "97124", "minutes": 7, "body_region": "back"}]))
    assert codes.NO_BILLABLE_TIME in decision.problem_codes
    assert codes.ZERO_UNIT_LINE in decision.warning_codes


def test_a_submitter_id_the_interchange_header_cannot_carry_stops_the_profile_load(tmp_path: Path) -> None:
    text = (ROOT / "config" / "practice.example.toml").read_text()
    profile = tmp_path / "practice.toml"
    profile.write_text(text.replace('submitter_id = "THERAPKNEADS"', 'submitter_id = "THERAPEUTICKNEADS"'))
    with pytest.raises(PracticeConfigError, match=r"clearinghouse\.submitter_id"):
        load_practice(str(profile))
    profile.write_text(text.replace('submitter_id = "THERAPKNEADS"',
                                    'submitter_id = "THERAPEUTICKNEADS"\ninterchange_sender_id = "TKNEADS"'))
    assert load_practice(str(profile)).clearinghouse.interchange_sender_id == "TKNEADS"


# --- the property: every direct_billing decision comes with an 837P pyx12 accepts -------------------------
_ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=70)
_LATINISH = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x24F), min_size=1, max_size=70)
_NAME = st.one_of(_LATINISH, _ANY_TEXT, st.sampled_from(["李", "***", "O'Neil", "José", "A" * 36, "B" * 61]))
_STATES = st.one_of(st.sampled_from(["IL", "CA", "NY", "PR", "DC", "ZZ", "XX", "il"]),
                    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2))
_MINUTES = st.integers(min_value=0, max_value=60)
_SHIFT = str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
                       "bcdefghijklmnopqrstuvwxyzaBCDEFGHIJKLMNOPQRSTUVWXYZA1234567890")  # same kinds of characters


@st.composite
def va_documents(draw: st.DrawFn) -> dict[str, Any]:
    m140, m124 = draw(_MINUTES), draw(_MINUTES)
    return va_event(
        client__first_name=draw(_NAME), client__last_name=draw(_NAME),
        client__sex=draw(st.sampled_from(["M", "F", "U", None])),
        client__address__line1=draw(_NAME), client__address__line2=draw(st.one_of(st.none(), _NAME)),
        client__address__city=draw(_NAME), client__address__state=draw(_STATES),
        client__address__postal_code=draw(st.sampled_from(["62701", "62701-1234", "627011234", "6270", "ABCDE"])),
        coverage__member_id=draw(st.one_of(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                                                   min_size=1, max_size=82), _ANY_TEXT)),
        session__place_of_service=draw(st.one_of(st.sampled_from(["11", "12", "02", "00", "99", "49"]),
                                                 st.from_regex(r"\A[0-9]{2}\Z"), st.none())),
        session__services=[{"cpt": "97140", "minutes": m140, "body_region": "lumbar"},
                           {"cpt": "97124", "minutes": m124, "body_region": draw(st.sampled_from(
                               ["lumbar", "cervical"]))}],
        prescription__physician__first_name=draw(_NAME), prescription__physician__last_name=draw(_NAME),
        va_referral__referral_number=draw(st.sampled_from(["VA0012345678", "", "VA001234567*"])),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(va_documents())
@example(va_event(coverage__member_id="client", client__address__city="C"))  # a member id among the words
def test_every_direct_billing_decision_comes_with_an_837p_pyx12_accepts(doc: dict[str, Any]) -> None:
    try:
        event = parse_event(json.dumps(doc))
    except InputRejected:
        return  # refused as input, with its errors: never routed
    decision = evaluate(event, PRACTICE)
    if decision.route != "direct_billing":
        if codes.CLAIM_DATA_INVALID in decision.problem_codes:
            message = data_problem(decision)
            # the member id never shows in it, except as the message's own words ("client" of
            # "client.address.city"), which the same claim says with a member id of other letters too
            member_id = doc["coverage"]["member_id"]
            if member_id in message:
                other = {**doc, "coverage": {**doc["coverage"], "member_id": member_id.translate(_SHIFT)}}
                assert member_id in data_problem(evaluate(parse_event(json.dumps(other)), PRACTICE))
        return
    x12 = render_837p(event, PRACTICE, decision, interchange_control_number=1, group_control_number=1,
                      created_at=CREATED)
    report = validate_837p(x12)
    assert report.ok, report.errors
    charges = [Decimal(seg.split("*")[2]) for seg in x12.split("~") if seg.startswith("SV1*")]
    assert Decimal(segment(x12, "CLM")[2]) == sum(charges)
