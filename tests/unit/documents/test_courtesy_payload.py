"""The courtesy submission's JSON body (CONTRACT.md 5.3), written out by hand from the commercial_courtesy
example and the example practice profile: `claim_id`, `document_number`, `superbill`, `provider` (the
practice and the rendering therapist), `referring_physician`, `patient`, `coverage`, `network`
(`"out_of_network"`) and `paid_by_client`; the PDF is attached by the submission step. The text goes as sent:
nothing is cut or transliterated for the billing service."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.practice import load_practice
from pipeline.documents.courtesy import courtesy_payload
from pipeline.domain.decide import decide
from pipeline.domain.intake import parse_event_document
from tests.examples import example_path

EXAMPLE = example_path("commercial_courtesy")

EXPECTED: dict[str, Any] = {
    "claim_id": "Scd2e309a95e13a3685d",  # `printf %s ses_commercial_courtesy | sha256sum`: S + 19 hex digits
    "document_number": "SB-000042",
    "superbill": {
        "date_of_service": "2026-11-20",
        "place_of_service": "11",
        "diagnosis_codes": ["M54.50", "M62.830"],
        "lines": [
            {"cpt": "97140", "modifiers": ["XS"], "minutes": 30, "units": 2, "charge": "140.00",
             "diagnosis_pointers": [1, 2], "body_regions": ["lumbar"]},
            {"cpt": "97124", "modifiers": [], "minutes": 30, "units": 2, "charge": "120.00",
             "diagnosis_pointers": [1, 2], "body_regions": ["cervical"]},
        ],
        "total_charge": "260.00",
        "amount_paid": "260.00",
        "balance_due": "0.00",
    },
    "provider": {
        "legal_name": "Therapeutic Kneads, Ltd.", "npi": "1245319599", "ein": "12-3456789",
        "taxonomy": "225700000X", "phone": "+1-217-555-0199",
        "address": {"line1": "123 Main St", "line2": None, "city": "Springfield", "state": "IL",
                    "postal_code": "627011234"},
        "rendering": {"first_name": "Mary", "last_name": "Jones", "credentials": "LMT", "npi": "1003000126",
                      "license_number": "227.012345", "license_state": "IL"},
    },
    "referring_physician": {"first_name": "Robert", "last_name": "Smith", "npi": "1679576722"},
    "patient": {"first_name": "John", "last_name": "Doe", "date_of_birth": "1970-01-01", "sex": "M",
                "address": {"line1": "456 Oak Ave", "line2": None, "city": "Springfield", "state": "IL",
                            "postal_code": "62701"}},
    "coverage": {"payer_name": "Blue Cross Blue Shield of Illinois", "payer_id": "00621",
                 "member_id": "XYZ123456789", "group_number": "G-7781"},
    "network": "out_of_network",
    "paid_by_client": "260.00",
}


def payload_of(doc: dict[str, Any], document_number: str = "SB-000042") -> dict[str, Any]:
    practice = load_practice()
    event = parse_event_document(doc)
    decision = decide(event, practice)
    assert decision.route == "courtesy_submission"
    return courtesy_payload(event, practice, decision, document_number=document_number)


def without_descriptions(payload: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(payload))
    for line in copy["superbill"]["lines"]:
        assert line.pop("description").endswith("each 15 minutes")
    return copy


def test_the_courtesy_payload_has_the_documented_fields_and_values() -> None:
    payload = payload_of(json.loads(EXAMPLE.read_text()))
    assert without_descriptions(payload) == EXPECTED
    assert json.loads(json.dumps(payload)) == payload  # plain JSON: money and dates are strings


def test_the_courtesy_payload_carries_text_as_sent() -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["client"].update(first_name="José-María", last_name="Ødegård O'Brien" + "x" * 70)
    doc["client"]["address"]["line1"] = "Straße 1 * Apt ~2"
    patient = payload_of(doc)["patient"]
    assert (patient["first_name"], patient["last_name"]) == ("José-María", "Ødegård O'Brien" + "x" * 70)
    assert patient["address"]["line1"] == "Straße 1 * Apt ~2"


def test_the_courtesy_payload_says_what_the_client_paid() -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["payment"]["amount_collected"] = "100.5"
    payload = payload_of(doc)
    assert payload["paid_by_client"] == "100.50"
    assert (payload["superbill"]["amount_paid"], payload["superbill"]["balance_due"]) == ("100.50", "159.50")


@pytest.mark.parametrize("number", ["SB-000001", "SB-123456"])
def test_the_courtesy_payload_carries_its_document_number(number: str) -> None:
    assert payload_of(json.loads(EXAMPLE.read_text()), number)["document_number"] == number


def test_the_rendering_therapist_is_the_sessions_therapist() -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["session"]["therapist_id"] = "thr_lee"
    rendering = payload_of(doc)["provider"]["rendering"]
    assert (rendering["first_name"], rendering["last_name"], rendering["npi"]) == ("Daniel", "Lee", "1234567893")
