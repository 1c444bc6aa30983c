"""DOMAIN.md section 5 read on the 837P of edited VA events, each validated by pyx12 against 005010X222A1 and
read for what pyx12 does not check: place of service, frequency, amounts that add up, the referral, the lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from config.practice import Practice, load_practice
from pipeline.application.evaluate import evaluate
from pipeline.documents.x12_837p import render_837p
from pipeline.documents.x12_validation import validate_837p
from pipeline.domain.intake import parse_event
from tests.examples import example

PRACTICE: Practice = load_practice("config/practice.example.toml")


def claim_of(document: dict[str, Any], **options: Any) -> list[list[str]]:
    event = parse_event(json.dumps(document))
    decision = evaluate(event, PRACTICE, visits_used=0)
    assert decision.route == "direct_billing", decision.problems
    text = render_837p(event, PRACTICE, decision, interchange_control_number=7, group_control_number=7,
                       created_at=datetime(2026, 11, 21, 3, 0, tzinfo=UTC), **options)
    report = validate_837p(text)
    assert report.ok, report
    return [segment.split("*") for segment in text.split("~") if segment]


def find(segments: list[list[str]], seg_id: str) -> list[list[str]]:
    return [s for s in segments if s[0] == seg_id]


def test_clm02_is_the_sum_of_the_line_charges_and_the_lines_carry_units_modifiers_pointers_and_dates() -> None:
    document = example("va_direct")
    document["session"]["ended_at"] = "2026-11-20T18:00:00-06:00"
    document["session"]["services"] = [
        {"cpt": "97140", "minutes": 20, "body_region": "lumbar"},
        {"cpt": "97140", "minutes": 18, "body_region": "thoracic"},
        {"cpt": "97124", "minutes": 15, "body_region": "cervical"},
    ]
    segments = claim_of(document)
    (clm,) = find(segments, "CLM")
    lines = find(segments, "SV1")
    assert [s[1] for s in lines] == ["HC:97140:GP:XS", "HC:97124:GP"]
    assert [(s[3], s[4]) for s in lines] == [("UN", "3"), ("UN", "1")]  # 53 min = 4 units: 38 -> 3, 15 -> 1
    assert Decimal(clm[2]) == sum(Decimal(s[2]) for s in lines) == Decimal("270")
    assert [s[7] for s in lines] == ["1:2", "1:2"]
    assert [s[1:] for s in find(segments, "DTP")] == [["472", "D8", "20261120"]] * 2
    assert [s[2] for s in find(segments, "REF") if s[1] == "6R"] == ["ses_va_direct-1", "ses_va_direct-2"]


@pytest.mark.parametrize("place", ["11", "12"])
def test_the_place_of_service_and_an_original_claims_frequency_are_in_clm05(place: str) -> None:
    document = example("va_direct")
    document["session"]["place_of_service"] = place
    (clm,) = find(claim_of(document), "CLM")
    assert clm[5] == f"{place}:B:1" and clm[6:10] == ["Y", "A", "Y", "Y"]


@pytest.mark.parametrize("frequency", ["7", "8"])
def test_a_replacement_or_void_keeps_the_claim_id_and_quotes_the_payers_claim_number(frequency: str) -> None:
    segments = claim_of(example("va_direct"), frequency_code=frequency, payer_claim_number="PCN0000000101")
    (clm,) = find(segments, "CLM")
    assert (clm[1], clm[5]) == ("ses_va_direct", f"11:B:{frequency}")
    assert ["REF", "F8", "PCN0000000101"] in segments


def test_the_referral_diagnoses_providers_and_subscriber_are_where_the_payer_reads_them() -> None:
    document = example("va_direct")
    document["va_referral"]["referral_number"] = "402-PC-1234567"
    document["client"]["sex"] = "U"
    document["client"]["address"]["postal_code"] = "62701-1234"
    segments = claim_of(document)
    assert ["REF", "9F", "402-PC-1234567"] in segments
    assert find(segments, "HI") == [["HI", "ABK:M5450", "ABF:M62830"]]  # no dots in X12
    assert ["SBR", "P", "18", "", "", "", "", "", "", "VA"] in segments
    assert ["NM1", "PR", "2", "VA CCN OPTUM", "", "", "", "", "PI", "VACCN"] in segments
    assert find(segments, "DMG") == [["DMG", "D8", "19700101", "U"]]
    assert find(segments, "N4")[-1] == ["N4", "SPRINGFIELD", "IL", "627011234"]
    npis = {s[1]: s[-1] for s in find(segments, "NM1") if s[1] in ("85", "DN", "82")}
    assert npis == {"85": "1245319599", "DN": "1679576722", "82": "1003000126"}
    assert ["PRV", "PE", "PXC", "225700000X"] in segments and ["PRV", "BI", "PXC", "225700000X"] in segments


def test_a_long_session_id_gets_a_stable_twenty_character_clm01() -> None:
    document = example("va_direct")
    document["session"]["session_id"] = "booking-session-00000012345-very-long"
    first, second = claim_of(document), claim_of(document)
    (clm,) = find(first, "CLM")
    assert len(clm[1]) == 20 and clm[1] != "booking-session-0000" and find(second, "CLM")[0][1] == clm[1]
